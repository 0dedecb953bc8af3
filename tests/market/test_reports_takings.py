"""Takings (doanh thu): today / this week / this month net of refunds, cash vs cashless, the
30-day series, best sellers; page and API, owner-only."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from market.figures import takings_figures
from market.sales import orders
from market.sales.orders import LineInput
from tests.factories import (
    ProductFactory,
    api_key_for,
    banknotify_deliver,
    banknotify_payload,
    member_of,
    merchant_with_account,
)

pytestmark = pytest.mark.django_db(transaction=True)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
TODAY = date(2026, 3, 18)  # a Wednesday: the week began on Monday 16/03


def at(day: date, hour: int = 9, minute: int = 0):
    return time_machine.travel(
        datetime(day.year, day.month, day.day, hour, minute, tzinfo=VN), tick=False
    )


@pytest.fixture
def merchant():
    return merchant_with_account(display_name="Rau sạch Cô Ba")


@pytest.fixture
def owner(merchant):
    return member_of(merchant)


@pytest.fixture
def greens(merchant):
    return ProductFactory(
        merchant=merchant, name="Rau muống", unit="bó", price=10_000, sold_by_weight=False
    )


@pytest.fixture
def pork(merchant):
    return ProductFactory(merchant=merchant, name="Thịt ba chỉ", unit="kg", price=150_000)


def sell(merchant, lines, method="cash", client=None):
    order = orders.order_create(merchant=merchant, lines=lines, payment_method=method, actor=None)
    if method == "bank_qr":
        intent = order.intent
        payload = banknotify_payload(
            account=intent.bank_account, amount=intent.amount, description=intent.reference_code
        )
        assert banknotify_deliver(client, payload).status_code == 200
        order.refresh_from_db()
    return order


@pytest.fixture
def month(client, merchant, owner, greens, pork):
    """March 2026 up to Wednesday 18th:
    02/03 cash 100.000 (10 bunches)            — this month, not this week
    16/03 QR 150.000 (1 kg pork)               — this week
    17/03 cash 75.000 (0,5 kg pork)            — this week
    18/03 QR 30.000 (3 bunches), cash 20.000 (2 bunches) — today
    18/03 refund 50.000 of the 16/03 QR sale   — counts today (when it was given back)
    28/02 cash 40.000                          — last month, inside the 30 days
    """
    with at(date(2026, 2, 28)):
        sell(merchant, [LineInput(product_id=greens.pk, quantity=Decimal(4))])
    with at(date(2026, 3, 2)):
        sell(merchant, [LineInput(product_id=greens.pk, quantity=Decimal(10))])
    with at(date(2026, 3, 16)):
        qr = sell(merchant, [LineInput(product_id=pork.pk)], "bank_qr", client)
    with at(date(2026, 3, 17)):
        sell(merchant, [LineInput(product_id=pork.pk, quantity=Decimal("0.5"))])
    with at(TODAY, 8):
        sell(merchant, [LineInput(product_id=greens.pk, quantity=Decimal(3))], "bank_qr", client)
        sell(merchant, [LineInput(product_id=greens.pk, quantity=Decimal(2))])
    with at(TODAY, 10):
        orders.order_refund(order_id=qr.pk, amount=50_000, reason="Thịt thiếu cân", actor=owner)


def test_it_sums_today_the_week_and_the_month_net_of_refunds(merchant, month):
    with at(TODAY, 18):
        data = takings_figures.takings(merchant=merchant)
    today, week, this_month = data.periods

    # Today: 30.000 QR + 20.000 cash − 50.000 refund of a QR sale = 0.
    assert (today.sales_count, today.gross, today.refunds, today.net) == (2, 50_000, 50_000, 0)
    assert (today.cash_net, today.cashless_net) == (20_000, 30_000 - 50_000)
    assert today.cashless_share is None  # nothing to divide by
    # Week (16–18/03): 150.000 + 75.000 + 30.000 + 20.000 − 50.000 = 225.000.
    assert (week.first, week.last) == (date(2026, 3, 16), TODAY)
    assert (week.sales_count, week.gross, week.net) == (4, 275_000, 225_000)
    assert (week.cash_net, week.cashless_net) == (95_000, 130_000)
    # 130.000 / 225.000 = 57,777… % → 57,8 %.
    assert week.cashless_share == Decimal("57.8")
    # Month: the week + 100.000 on 02/03.
    assert (this_month.sales_count, this_month.net) == (5, 325_000)
    assert (this_month.cash_net, this_month.cashless_net) == (195_000, 130_000)
    assert this_month.cashless_share == Decimal("40.0")


def test_it_gives_a_30_day_series_ending_today(merchant, month):
    with at(TODAY, 18):
        days = takings_figures.takings(merchant=merchant).days

    assert len(days) == 30
    assert (days[0].day, days[-1].day) == (date(2026, 2, 17), TODAY)
    by_day = {d.day: d for d in days}
    assert by_day[date(2026, 2, 28)].net == 40_000
    assert by_day[date(2026, 3, 2)].net == 100_000
    assert (by_day[date(2026, 3, 16)].net, by_day[date(2026, 3, 16)].cashless_net) == (
        150_000,
        150_000,
    )
    assert by_day[date(2026, 3, 17)].net == 75_000
    assert (by_day[TODAY].gross, by_day[TODAY].refunds, by_day[TODAY].net) == (50_000, 50_000, 0)
    assert sum(d.net for d in days) == 40_000 + 325_000
    assert [d.day.day for d in days if d.net] == [28, 2, 16, 17]


def test_it_puts_a_late_evening_sale_on_its_local_day(merchant):
    # 23:30 in Đà Nẵng is 16:30 UTC the same day; 00:30 is the previous day in UTC.
    with at(date(2026, 3, 17), 23, 30):
        sell(merchant, [LineInput(unit_price=11_000)])
    with at(TODAY, 0, 30):
        sell(merchant, [LineInput(unit_price=22_000)])
    with at(TODAY, 18):
        data = takings_figures.takings(merchant=merchant)
    by_day = {d.day: d.net for d in data.days}
    assert (by_day[date(2026, 3, 17)], by_day[TODAY]) == (11_000, 22_000)
    assert data.periods[0].net == 22_000


def test_it_ranks_best_sellers_by_revenue_and_by_quantity_from_the_lines_sold(
    merchant, greens, pork, month
):
    with at(TODAY, 18):
        data = takings_figures.takings(merchant=merchant)
    # Greens: 4 + 10 + 3 + 2 = 19 bunches, 190.000; pork 1,5 kg, 225.000 − 50.000 (order-level
    # refund is not on a line, so the line keeps its amount) = 225.000.
    assert [(p.name, p.revenue, p.quantity) for p in data.top_by_revenue] == [
        ("Thịt ba chỉ", 225_000, Decimal("1.500")),
        ("Rau muống", 190_000, Decimal("19.000")),
    ]
    assert [p.name for p in data.top_by_quantity] == ["Rau muống", "Thịt ba chỉ"]
    # A later price or name change does not touch past sales (snapshots).
    greens.name = "Rau muống (sạch)"
    greens.save()
    with at(TODAY, 18):
        assert takings_figures.takings(merchant=merchant).top_by_quantity[0].name == "Rau muống"


def test_a_line_refund_comes_off_that_product(client, merchant, owner, greens, pork):
    with at(TODAY, 8):
        order = sell(
            merchant,
            [
                LineInput(product_id=greens.pk, quantity=Decimal(2)),
                LineInput(product_id=pork.pk),
            ],
        )
        line = order.lines.get(name="Rau muống")
        orders.order_refund(
            order_id=order.pk, amount=None, line_id=line.pk, reason="x", actor=owner
        )
        by_revenue = takings_figures.takings(merchant=merchant).top_by_revenue
    assert [(p.name, p.revenue) for p in by_revenue] == [("Thịt ba chỉ", 150_000), ("Rau muống", 0)]


def test_the_page_shows_the_figures_and_an_accessible_chart(client, merchant, owner, month):
    client.force_login(owner)
    with at(TODAY, 18):
        response = client.get(f"/cua-hang/{merchant.pk}/doanh-thu/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "225.000 đ" in html
    assert "57,8%" in html
    assert '<svg viewBox="0 0 320 150" role="img"' in html
    assert '<title id="takings-chart-t">Doanh thu 30 ngày gần nhất</title>' in html
    assert html.count("<rect ") == 30
    assert "16/03: 150.000 đ" in html
    assert "Thịt ba chỉ" in html


def test_the_api_gives_the_same_figures(client, merchant, month):
    auth = {"Authorization": f"Bearer {api_key_for(merchant)}"}
    with at(TODAY, 18):
        data = client.get(f"/api/v1/reports/merchants/{merchant.pk}/takings", headers=auth).json()
    week = data["periods"][1]
    assert (week["key"], week["net"], week["cashless_net"]) == ("week", 225_000, 130_000)
    assert week["cashless_share"] == "57.8"
    assert len(data["days"]) == 30
    assert data["top_by_revenue"][0]["name"] == "Thịt ba chỉ"


def test_takings_are_for_the_owner_only(client, merchant):
    page = f"/cua-hang/{merchant.pk}/doanh-thu/"
    api = f"/api/v1/reports/merchants/{merchant.pk}/takings"
    client.force_login(member_of(merchant, role="cashier"))
    assert client.get(page).status_code == 403
    assert client.get(api).status_code == 403
    client.force_login(member_of(merchant_with_account()))
    assert client.get(page).status_code == 404
    assert client.get(api).status_code == 404
    client.logout()
    assert client.get(page).status_code == 302
    assert client.get(api).status_code == 401
