"""Daily close (chốt sổ): figures of a realistic stall day, one close a day, immutability, cash
difference, CSV, pages and API, owner-only."""

from __future__ import annotations

import csv
import io
import threading
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from market.figures import closing, day_close
from market.models import DailyClose, Order
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


def at(hour: int, minute: int = 0, day: int = 10, month: int = 3):
    """A moment on 10 March 2026 (or the day and month given), Đà Nẵng time."""
    return time_machine.travel(datetime(2026, month, day, hour, minute, tzinfo=VN), tick=False)


@pytest.fixture
def merchant():
    return merchant_with_account(display_name="Cá tươi Bà Lan")


@pytest.fixture
def owner(merchant):
    return member_of(merchant, full_name="Trần Thị Lan")


@pytest.fixture
def cashier(merchant):
    return member_of(merchant, role="cashier")


@pytest.fixture
def fish(merchant):
    return ProductFactory(merchant=merchant, name="Cá thu", unit="kg", price=180_000)


@pytest.fixture
def greens(merchant):
    return ProductFactory(
        merchant=merchant, name="Rau muống", unit="bó", price=10_000, sold_by_weight=False
    )


def transfer(client, merchant, amount: int, description: str, **kwargs) -> None:
    account = merchant.bank_accounts.get(is_default=True)
    payload = banknotify_payload(account=account, amount=amount, description=description, **kwargs)
    assert banknotify_deliver(client, payload).status_code == 200


def qr_sale(client, merchant, cashier, lines, paid: int | None = None) -> Order:
    order = orders.order_create(
        merchant=merchant, lines=lines, payment_method="bank_qr", actor=cashier
    )
    intent = order.intent
    transfer(client, merchant, paid if paid is not None else intent.amount, intent.reference_code)
    order.refresh_from_db()
    return order


def cash_sale(merchant, amount: int) -> Order:
    return orders.order_create(
        merchant=merchant, lines=[LineInput(unit_price=amount)], payment_method="cash", actor=None
    )


@pytest.fixture
def stall_day(client, merchant, owner, cashier, fish, greens):
    """10/03/2026 at the stall:
    08:00 QR sale 0,35 kg fish + 2 bunches = 63.000 + 20.000 = 83.000, paid by transfer
    09:00 cash sale 5 bunches = 50.000
    10:00 the greens of the QR sale refunded: −20.000 (bank QR)
    10:30 one bunch of the cash sale refunded: −10.000 (cash)
    11:00 a stranger transfers 50.000 with no code (walk-in)
    12:00 QR sale 30.000, the shopper sends only 25.000 (underpaid, matches nothing)
    13:00 QR sale 10.000, the shopper sends 12.000 (overpaid by 2.000)
    """
    with at(8):
        qr = qr_sale(
            client,
            merchant,
            cashier,
            [
                LineInput(product_id=fish.pk, quantity=Decimal("0.35")),
                LineInput(product_id=greens.pk, quantity=Decimal(2)),
            ],
        )
        assert (qr.status, qr.total) == (Order.Status.PAID, 83_000)
    with at(9):
        cash = orders.order_create(
            merchant=merchant,
            lines=[LineInput(product_id=greens.pk, quantity=Decimal(5))],
            payment_method="cash",
            actor=cashier,
        )
    with at(10):
        line = qr.lines.get(name="Rau muống")
        orders.order_refund(
            order_id=qr.pk, amount=None, line_id=line.pk, reason="Rau héo", actor=owner
        )
    with at(10, 30):
        orders.order_refund(order_id=cash.pk, amount=10_000, reason="Trả 1 bó", actor=owner)
    with at(11):
        transfer(
            client,
            merchant,
            50_000,
            "chuyen tien rau",
            counter_name="LÊ VĂN KHÁCH",
            reference="FT26069000001",
        )
    with at(12):
        three = [LineInput(product_id=greens.pk, quantity=Decimal(3))]
        short = qr_sale(client, merchant, cashier, three, 25_000)
        assert short.status == Order.Status.AWAITING_PAYMENT
    with at(13):
        over = qr_sale(client, merchant, cashier, [LineInput(product_id=greens.pk)], 12_000)
        assert (over.status, over.total) == (Order.Status.PAID, 10_000)
    return {"qr": qr, "cash": cash, "short": short, "over": over}


def test_it_counts_a_realistic_stall_day_exactly(merchant, owner, stall_day):
    with at(17):
        close = closing.daily_close_create(merchant=merchant, cash_counted=38_000, actor=owner)
    f = close.figures

    assert f["sales_by_method"] == {
        "bank_qr": {"count": 2, "total": 83_000 + 10_000},
        "ewallet": {"count": 0, "total": 0},
        "cash": {"count": 1, "total": 50_000},
    }
    assert (f["sales_count"], f["sales_total"]) == (3, 143_000)
    assert f["refunds_by_method"]["bank_qr"] == {"count": 1, "total": 20_000}
    assert f["refunds_by_method"]["cash"] == {"count": 1, "total": 10_000}
    assert (f["refunds_count"], f["refunds_total"]) == (2, 30_000)
    assert f["net_total"] == 143_000 - 30_000
    assert (f["walk_in_count"], f["walk_in_total"]) == (1, 50_000)
    assert (f["underpaid_count"], f["underpaid_total"]) == (1, 25_000)
    assert (f["overpaid_count"], f["overpaid_extra"]) == (1, 2_000)
    credits = f["unmatched_credits"]
    assert [(c["amount"], c["kind"], c["flag"]) for c in credits] == [
        (50_000, "walk_in", ""),
        (25_000, "unmatched", "underpaid"),
    ]
    assert credits[0]["counter_name"] == "LÊ VĂN KHÁCH"
    assert credits[0]["bank_reference"] == "FT26069000001"
    assert credits[0]["description"] == "chuyen tien rau"
    assert credits[0]["time"].startswith("2026-03-10T11:00:00+07:00")
    assert f["unmatched_total"] == 75_000
    # Cash expected = cash sales − cash refunds = 50.000 − 10.000.
    assert (f["cash_sales"], f["cash_refunds"], f["cash_expected"]) == (50_000, 10_000, 40_000)
    assert (close.sales_total, close.cash_expected, close.cash_counted) == (143_000, 40_000, 38_000)
    assert close.cash_difference == -2_000
    assert close.business_date.isoformat() == "2026-03-10"
    # The business day: from local midnight (there is no earlier close) to the moment of closing.
    assert close.period_start == datetime(2026, 3, 10, tzinfo=VN)
    assert close.period_end == datetime(2026, 3, 10, 17, tzinfo=VN)


def test_it_previews_the_same_figures_it_stores(merchant, owner, stall_day):
    with at(17):
        preview = day_close.close_preview(merchant=merchant)
        close = closing.daily_close_create(merchant=merchant, cash_counted=40_000, actor=owner)
    assert preview.as_json() == close.figures
    assert close.cash_difference == 0


def test_it_refuses_a_second_close_the_same_day(merchant, owner, stall_day):
    with at(17):
        closing.daily_close_create(merchant=merchant, cash_counted=40_000, actor=owner)
    with at(22), pytest.raises(closing.AlreadyClosed) as exc:
        closing.daily_close_create(merchant=merchant, cash_counted=0, actor=owner)
    assert exc.value.status == 409
    assert str(exc.value.message) == "Hôm nay đã chốt sổ."
    assert DailyClose.objects.count() == 1


def test_it_starts_the_next_close_where_the_last_one_ended(client, merchant, owner, cashier):
    with at(9):
        cash_sale(merchant, 30_000)
    with at(17):
        first = closing.daily_close_create(merchant=merchant, cash_counted=30_000, actor=owner)
    with at(18):  # sold after closing: tomorrow's close
        cash_sale(merchant, 7_000)
    with at(8, day=11):
        cash_sale(merchant, 5_000)
    with at(17, day=11):
        second = closing.daily_close_create(merchant=merchant, cash_counted=12_000, actor=owner)
    assert first.sales_total == 30_000
    assert second.period_start == first.period_end
    assert second.sales_total == 12_000
    assert second.figures["sales_count"] == 2
    assert str(second.business_date) == "2026-03-11"


def test_it_closes_a_day_with_nothing_sold(merchant, owner):
    with at(17):
        close = closing.daily_close_create(merchant=merchant, cash_counted=0, actor=owner)
    assert (close.sales_total, close.cash_expected, close.figures["sales_count"]) == (0, 0, 0)
    assert (close.period_start, close.period_end) == (
        datetime(2026, 3, 10, tzinfo=VN),
        datetime(2026, 3, 10, 17, tzinfo=VN),
    )
    assert DailyClose.objects.count() == 1


def test_a_close_never_changes_nor_goes_away(merchant, owner, stall_day):
    with at(17):
        close = closing.daily_close_create(merchant=merchant, cash_counted=40_000, actor=owner)
    close.cash_counted = 999
    with pytest.raises(ValueError, match="never changes"):
        close.save()
    with pytest.raises(ValueError, match="never deleted"):
        close.delete()
    close.refresh_from_db()
    assert close.cash_counted == 40_000


@pytest.mark.parametrize("bad", [-1, "40000", 1.5, True, None, 10_000_000_001])
def test_it_refuses_a_counted_cash_that_is_not_whole_dong(merchant, owner, bad):
    with pytest.raises(closing.ValidationFailed) as exc:
        closing.daily_close_create(merchant=merchant, cash_counted=bad, actor=owner)
    assert "cash_counted" in exc.value.fields
    assert not DailyClose.objects.exists()


def test_it_writes_an_audit_row(merchant, owner):
    from core.models import AuditLog

    with at(17):
        close = closing.daily_close_create(
            merchant=merchant, cash_counted=0, note="Hết hàng sớm", actor=owner
        )
    log = AuditLog.objects.get(action="daily_close.create")
    assert (log.target_id, log.reason, log.actor) == (str(close.pk), "Hết hàng sớm", owner)


# --- earlier days closed on their own (issue 12, case 8) ---------------------------------------


@pytest.fixture
def weeks_of_sales(client, merchant, owner, cashier):
    """A stall that sold for weeks before its first close (10/03/2026, 17:00):
    06/02 cash 100.000 + QR 50.000
    15/02 a QR sale the shopper never paid (nothing to count: no close for that day)
    20/02 cash 70.000
    21/02 cash 30.000, and 20.000 of the 20/02 sale given back in cash
    03/03 only a stranger's transfer of 40.000 (walk-in)
    09/03 23:30 cash 15.000 (16:30 UTC: still 9 March here)
    10/03 00:30 cash 25.000 (17:30 UTC on the 9th: 10 March here), 09:00 QR 60.000
    """
    with at(9, day=6, month=2):
        cash_sale(merchant, 100_000)
        qr_sale(client, merchant, cashier, [LineInput(unit_price=50_000)])
    with at(9, day=15, month=2):
        unpaid = orders.order_create(
            merchant=merchant,
            lines=[LineInput(unit_price=45_000)],
            payment_method="bank_qr",
            actor=cashier,
        )
        assert unpaid.status == Order.Status.AWAITING_PAYMENT
    with at(8, day=20, month=2):
        refunded = cash_sale(merchant, 70_000)
    with at(9, day=21, month=2):
        cash_sale(merchant, 30_000)
        orders.order_refund(order_id=refunded.pk, amount=20_000, reason="Cá ươn", actor=owner)
    with at(11, day=3):
        transfer(client, merchant, 40_000, "chuyen tien ca", counter_name="NGUYỄN VĂN KHÁCH")
    with at(23, 30, day=9):
        cash_sale(merchant, 15_000)
    with at(0, 30, day=10):
        cash_sale(merchant, 25_000)
    with at(9, day=10):
        qr_sale(client, merchant, cashier, [LineInput(unit_price=60_000)])


EARLIER_DAYS = ["2026-02-06", "2026-02-20", "2026-02-21", "2026-03-03", "2026-03-09"]


def test_the_first_close_after_weeks_closes_each_active_day_on_its_own(
    merchant, owner, weeks_of_sales
):
    from core.models import AuditLog

    with at(17):
        today = closing.daily_close_create(merchant=merchant, cash_counted=25_000, actor=owner)

    closes = list(DailyClose.objects.filter(merchant=merchant).order_by("business_date"))
    assert [c.business_date.isoformat() for c in closes] == [*EARLIER_DAYS, "2026-03-10"]
    assert closes[-1] == today
    by_day = {c.business_date.isoformat(): c for c in closes}
    # Each day its own sales (15/02 sold nothing that was paid: no close).
    assert {day: c.sales_total for day, c in by_day.items()} == {
        "2026-02-06": 150_000,
        "2026-02-20": 70_000,
        "2026-02-21": 30_000,
        "2026-03-03": 0,
        "2026-03-09": 15_000,
        "2026-03-10": 85_000,
    }
    assert by_day["2026-02-21"].figures["refunds_total"] == 20_000
    assert by_day["2026-02-21"].cash_expected == 30_000 - 20_000
    assert by_day["2026-03-03"].figures["walk_in_total"] == 40_000
    for day in EARLIER_DAYS:
        auto = by_day[day]
        midnight = datetime.fromisoformat(day).replace(tzinfo=VN)
        assert (auto.period_start, auto.period_end) == (midnight, midnight + timedelta(days=1))
        assert auto.figures["business_date"] == day
        assert auto.figures["auto"] is True
        # Nobody counted that day's cash: no invented difference.
        assert auto.cash_counted == auto.cash_expected
        assert auto.cash_difference == 0
        assert auto.note == "Tự động chốt: ngày chưa chốt sổ, tiền mặt chưa đếm"
        assert auto.closed_by is None
    # Today's close: today only, with the cash the trader counted.
    assert (today.period_start, today.period_end) == (
        datetime(2026, 3, 10, tzinfo=VN),
        datetime(2026, 3, 10, 17, tzinfo=VN),
    )
    assert "auto" not in today.figures
    assert today.figures["sales_count"] == 2
    assert (today.cash_expected, today.cash_counted, today.cash_difference) == (25_000, 25_000, 0)
    assert today.closed_by == owner
    # Every paid sale counted once, in the close of its own day.
    paid = Order.objects.filter(merchant=merchant, paid_at__isnull=False)
    assert sum(c.sales_total for c in closes) == sum(o.total for o in paid) == 350_000
    logs = AuditLog.objects.filter(action="daily_close.create")
    assert sorted(int(log.target_id) for log in logs) == sorted(c.pk for c in closes)


def test_the_preview_shows_today_and_counts_the_earlier_days(merchant, weeks_of_sales):
    with at(17):
        plan = day_close.close_plan(merchant=merchant, now=datetime(2026, 3, 10, 17, tzinfo=VN))
        preview = day_close.close_preview(merchant=merchant)
    assert [p.business_date.isoformat() for p in plan.earlier] == EARLIER_DAYS
    assert preview.period_start == datetime(2026, 3, 10, tzinfo=VN)
    assert (preview.sales_total, preview.cash_expected) == (85_000, 25_000)
    assert not DailyClose.objects.exists()


def test_the_page_tells_how_many_earlier_days_close_on_their_own(
    client, merchant, owner, weeks_of_sales
):
    client.force_login(owner)
    url = f"/cua-hang/{merchant.pk}/chot-so/"
    with at(17):
        html = client.get(url).content.decode()
        english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
        response = client.post(url, {"cash_counted": "25.000"})
    assert "5 ngày trước chưa chốt sổ" in html
    assert "06/02/2026 – 09/03/2026" in html
    assert "85.000 đ" in html  # today's sales, not the weeks before
    assert "350.000 đ" not in html
    assert "5 earlier days are not closed yet" in english
    assert response.status_code == 302
    assert DailyClose.objects.count() == 6
    auto = DailyClose.objects.get(business_date="2026-02-06")
    detail = client.get(f"{url}{auto.pk}/").content.decode()
    assert "Tự động chốt: ngày chưa chốt sổ, tiền mặt chưa đếm" in detail
    history = client.get(f"{url}lich-su/").content.decode()
    assert history.count("Tự động chốt, tiền mặt chưa đếm") == 5
    with at(18):
        again = client.get(url).content.decode()
    assert "ngày trước chưa chốt sổ" not in again


def test_closing_again_today_is_refused_and_old_days_are_never_closed_twice(
    merchant, owner, weeks_of_sales
):
    with at(17):
        closing.daily_close_create(merchant=merchant, cash_counted=25_000, actor=owner)
    with at(21), pytest.raises(closing.AlreadyClosed):
        closing.daily_close_create(merchant=merchant, cash_counted=25_000, actor=owner)
    assert DailyClose.objects.count() == 6
    with at(9, day=11):
        cash_sale(merchant, 12_000)
    with at(17, day=11):
        tomorrow = closing.daily_close_create(merchant=merchant, cash_counted=12_000, actor=owner)
    assert DailyClose.objects.count() == 7
    assert tomorrow.sales_total == 12_000
    assert tomorrow.period_start == datetime(2026, 3, 10, 17, tzinfo=VN)


def test_a_close_after_yesterdays_close_covers_only_today(merchant, owner):
    with at(9, day=9):
        cash_sale(merchant, 40_000)
    with at(17, day=9):
        yesterday = closing.daily_close_create(merchant=merchant, cash_counted=40_000, actor=owner)
    with at(9):
        cash_sale(merchant, 22_000)
    with at(17):
        today = closing.daily_close_create(merchant=merchant, cash_counted=22_000, actor=owner)
    assert DailyClose.objects.count() == 2
    assert today.period_start == yesterday.period_end
    assert (today.sales_total, today.cash_difference) == (22_000, 0)
    assert "auto" not in today.figures


def test_a_gap_after_the_last_close_is_closed_day_by_day(merchant, owner):
    """Closed on 02/03; a sale after that close, a sale on 05/03, then nothing until today."""
    with at(9, day=2):
        cash_sale(merchant, 10_000)
    with at(17, day=2):
        closing.daily_close_create(merchant=merchant, cash_counted=10_000, actor=owner)
    with at(19, day=2):  # after closing: counted in the next day's close, never lost
        cash_sale(merchant, 3_000)
    with at(9, day=5):
        cash_sale(merchant, 20_000)
    with at(9):
        cash_sale(merchant, 8_000)
    with at(17):
        closing.daily_close_create(merchant=merchant, cash_counted=8_000, actor=owner)
    closes = list(DailyClose.objects.order_by("business_date"))
    assert [(c.business_date.day, c.period_start, c.period_end, c.sales_total) for c in closes] == [
        (2, datetime(2026, 3, 2, tzinfo=VN), datetime(2026, 3, 2, 17, tzinfo=VN), 10_000),
        # At most one day back: the evening of the 2nd goes to the 3rd, closed on its own.
        (3, datetime(2026, 3, 2, 17, tzinfo=VN), datetime(2026, 3, 4, tzinfo=VN), 3_000),
        (5, datetime(2026, 3, 5, tzinfo=VN), datetime(2026, 3, 6, tzinfo=VN), 20_000),
        (10, datetime(2026, 3, 10, tzinfo=VN), datetime(2026, 3, 10, 17, tzinfo=VN), 8_000),
    ]
    assert sum(c.sales_total for c in closes) == 41_000
    assert [c.cash_difference for c in closes] == [0, 0, 0, 0]


def test_an_earlier_day_with_only_a_cash_refund_books_no_cash(merchant, owner):
    with at(9, day=8):
        sale = cash_sale(merchant, 50_000)
    with at(9, day=9):
        orders.order_refund(order_id=sale.pk, amount=10_000, reason="Thừa cân", actor=owner)
    with at(17):
        closing.daily_close_create(merchant=merchant, cash_counted=0, actor=owner)
    refund_day = DailyClose.objects.get(business_date="2026-03-09")
    assert refund_day.figures["auto"] is True
    assert (refund_day.sales_total, refund_day.figures["refunds_total"]) == (0, 10_000)
    # −10.000 of cash went out; a drawer holds no less than 0 (cash_counted ≥ 0).
    assert (refund_day.cash_expected, refund_day.cash_counted) == (-10_000, 0)
    assert DailyClose.objects.count() == 3


def test_it_goes_back_at_most_400_days(merchant, owner):
    with at(9, day=1, month=1):
        cash_sale(merchant, 9_000)  # 2026-01-01
    with time_machine.travel(datetime(2027, 3, 10, 17, tzinfo=VN), tick=False):
        cash_sale(merchant, 1_000)
        plan = day_close.close_plan(merchant=merchant, now=datetime(2027, 3, 10, 17, tzinfo=VN))
    assert (datetime(2027, 3, 10) - datetime(2026, 1, 1)).days > day_close.MAX_CATCH_UP_DAYS
    assert plan.earlier == []
    assert plan.today.start == datetime(2027, 3, 10, tzinfo=VN)


# --- pages ---------------------------------------------------------------------------------


def test_the_page_previews_and_confirms_the_close(client, merchant, owner, stall_day):
    client.force_login(owner)
    url = f"/cua-hang/{merchant.pk}/chot-so/"
    with at(17):
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        for text in ("113.000 đ", "40.000 đ", "LÊ VĂN KHÁCH", "FT26069000001", "25.000 đ"):
            assert text in html, text
        response = client.post(url, {"cash_counted": "38.000", "note": "Thiếu 2 nghìn"})
    close = DailyClose.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/cua-hang/{merchant.pk}/chot-so/{close.pk}/"
    assert (close.cash_counted, close.note, close.closed_by) == (38_000, "Thiếu 2 nghìn", owner)
    detail = client.get(response["Location"]).content.decode()
    assert "−2.000 đ" in detail
    history = client.get(f"/cua-hang/{merchant.pk}/chot-so/lich-su/").content.decode()
    assert "10/03/2026" in history


def test_the_page_says_the_day_is_already_closed(client, merchant, owner):
    client.force_login(owner)
    url = f"/cua-hang/{merchant.pk}/chot-so/"
    with at(17):
        assert client.post(url, {"cash_counted": "0"}).status_code == 302
        again = client.post(url, {"cash_counted": "0"})
    assert again.status_code == 409
    assert "Hôm nay đã chốt sổ" in again.content.decode()
    assert DailyClose.objects.count() == 1


@pytest.mark.parametrize("typed", ["", "abc", "-5", "1,5"])
def test_the_page_asks_again_for_a_bad_cash_amount(client, merchant, owner, typed):
    client.force_login(owner)
    response = client.post(f"/cua-hang/{merchant.pk}/chot-so/", {"cash_counted": typed})
    assert response.status_code == 422
    assert "Nhập số tiền mặt đếm được" in response.content.decode()
    assert not DailyClose.objects.exists()


def test_the_csv_keeps_vietnamese_for_excel(client, merchant, owner, stall_day):
    with at(17):
        close = closing.daily_close_create(
            merchant=merchant, cash_counted=38_000, note="Thiếu 2 nghìn", actor=owner
        )
    client.force_login(owner)
    response = client.get(f"/cua-hang/{merchant.pk}/chot-so/{close.pk}/chot-so.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="chot-so-2026-03-10.csv"' in response["Content-Disposition"]
    raw = response.content
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["Chốt sổ", "Cá tươi Bà Lan", "10/03/2026"]
    assert ["Tiền mặt theo sổ (đ)", "40000"] in rows
    assert ["Chênh lệch (đ)", "-2000"] in rows
    assert ["Ghi chú", "Thiếu 2 nghìn"] in rows
    sales = [r for r in rows if r and r[0] == "Bán hàng"]
    assert len(sales) == 3
    assert sales[0][2] == stall_day["qr"].number
    assert sales[0][4] == "Cá thu × 0,35 kg; Rau muống × 2 bó"
    assert sales[0][5] == "83000"
    refunds = [r for r in rows if r and r[0] == "Hoàn tiền"]
    assert sorted(r[5] for r in refunds) == ["-10000", "-20000"]
    assert any(r[4] == "Rau héo" for r in refunds)
    credits = [r for r in rows if r and r[0].startswith("Tiền vào không khớp đơn")]
    assert [r[5] for r in credits] == ["50000", "25000"]
    assert credits[0][6] == "LÊ VĂN KHÁCH"


def test_close_pages_are_for_the_owner_only(client, merchant, cashier):
    with at(17):
        close = closing.daily_close_create(merchant=merchant, cash_counted=0, actor=None)
    urls = [
        f"/cua-hang/{merchant.pk}/chot-so/",
        f"/cua-hang/{merchant.pk}/chot-so/lich-su/",
        f"/cua-hang/{merchant.pk}/chot-so/{close.pk}/",
        f"/cua-hang/{merchant.pk}/chot-so/{close.pk}/chot-so.csv",
    ]
    client.force_login(cashier)
    for url in urls:
        assert client.get(url).status_code == 403, url
    assert client.post(urls[0], {"cash_counted": "0"}).status_code == 403
    stranger = member_of(merchant_with_account())
    client.force_login(stranger)
    for url in urls:
        assert client.get(url).status_code == 404, url
    client.logout()
    assert client.get(urls[0]).status_code == 302


# --- API -----------------------------------------------------------------------------------


def test_the_api_closes_once_and_replays_with_the_same_key(client, merchant, stall_day):
    key = api_key_for(merchant)
    auth = {"Authorization": f"Bearer {key}"}
    url = f"/api/v1/reports/merchants/{merchant.pk}/closes"
    body = {"cash_counted": 38_000, "note": "Chiều"}
    with at(17):
        first = client.post(
            url, body, content_type="application/json", headers={**auth, "Idempotency-Key": "k1"}
        )
        replay = client.post(
            url, body, content_type="application/json", headers={**auth, "Idempotency-Key": "k1"}
        )
        other = client.post(url, body, content_type="application/json", headers=auth)
    assert first.status_code == 201, first.content
    assert replay.status_code == 201
    assert replay.json() == first.json()
    data = first.json()
    assert (data["sales_total"], data["cash_expected"], data["cash_difference"]) == (
        143_000,
        40_000,
        -2_000,
    )
    assert data["figures"]["unmatched_total"] == 75_000
    assert other.status_code == 409
    assert other.json()["error"] == {
        "code": "already_closed",
        "message": "Hôm nay đã chốt sổ.",
        "fields": {},
    }
    listed = client.get(url, headers=auth).json()
    assert [c["id"] for c in listed] == [data["id"]]
    one = client.get(f"{url}/{data['id']}", headers=auth)
    assert one.json()["figures"]["sales_by_method"]["cash"] == {"count": 1, "total": 50_000}


def test_the_api_previews_without_writing(client, merchant, stall_day):
    auth = {"Authorization": f"Bearer {api_key_for(merchant)}"}
    with at(17):
        response = client.get(
            f"/api/v1/reports/merchants/{merchant.pk}/closes/preview", headers=auth
        )
    assert response.status_code == 200
    assert response.json()["net_total"] == 113_000
    assert not DailyClose.objects.exists()


def test_the_api_refuses_bad_cash_and_strangers(client, merchant, cashier):
    url = f"/api/v1/reports/merchants/{merchant.pk}/closes"
    auth = {"Authorization": f"Bearer {api_key_for(merchant)}"}
    bad = client.post(url, {"cash_counted": -1}, content_type="application/json", headers=auth)
    assert bad.status_code == 422
    client.force_login(cashier)
    assert client.post(url, {"cash_counted": 0}, content_type="application/json").status_code == 403
    assert client.get(url).status_code == 403
    other = merchant_with_account()
    other_auth = {"Authorization": f"Bearer {api_key_for(other)}"}
    assert client.get(url, headers=other_auth).status_code == 404
    assert (
        client.post(
            url, {"cash_counted": 0}, content_type="application/json", headers=other_auth
        ).status_code
        == 404
    )
    assert not DailyClose.objects.exists()


@pytest.mark.postgres
def test_two_taps_at_once_make_one_close(merchant, owner):
    """Eight concurrent closes for the same merchant and day: one is made, seven are told."""
    results: list[str] = []
    barrier = threading.Barrier(8)

    def tap() -> None:
        try:
            barrier.wait()
            closing.daily_close_create(merchant=merchant, cash_counted=0, actor=owner)
            results.append("closed")
        except closing.AlreadyClosed:
            results.append("already")
        finally:
            connection.close()

    threads = [threading.Thread(target=tap) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["already"] * 7 + ["closed"]
    assert DailyClose.objects.filter(merchant=merchant).count() == 1
