"""Daily close (chốt sổ): figures of a realistic stall day, one close a day, immutability, cash
difference, CSV, pages and API, owner-only."""

from __future__ import annotations

import csv
import io
import threading
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection

from market import closing, orders, reports
from market.models import DailyClose, Order
from market.orders import LineInput
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


def at(hour: int, minute: int = 0, day: int = 10):
    """A moment on 10 March 2026, Đà Nẵng time."""
    return time_machine.travel(datetime(2026, 3, day, hour, minute, tzinfo=VN), tick=False)


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
    # From the first activity (the 08:00 sale) to the moment of closing.
    assert close.period_start == datetime(2026, 3, 10, 8, tzinfo=VN)
    assert close.period_end == datetime(2026, 3, 10, 17, tzinfo=VN)


def test_it_previews_the_same_figures_it_stores(merchant, owner, stall_day):
    with at(17):
        preview = reports.close_preview(merchant=merchant)
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
    assert close.period_start == close.period_end


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
