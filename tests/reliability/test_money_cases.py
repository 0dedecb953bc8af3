"""Issue 12's eight cases, each as a trader, shopper or attacker met it, each ending with the
books-agree check: the ledger, the sales, the daily close, the tax estimate and the e-invoices
must tell one story about the money."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from core.models import IdempotencyKey
from einvoice import services as einvoice
from einvoice.models import Invoice
from market.figures import books, closing, day_close, periods, takings_figures, tax_figures
from market.models import DailyClose, Order, OrderRefund
from market.sales.orders import LineInput, order_create
from payments.ewallet import ewallet_reconcile
from payments.models import LedgerEntry, PaymentIntent, Refund, WalletEvent
from tests.factories import (
    ProductFactory,
    banknotify_deliver,
    banknotify_payload,
    member_of,
    merchant_with_account,
)
from tests.payments.test_ewallet import wait_for, wallet  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
API = "/api/v1"


def assert_books_agree() -> None:
    report = books.books_check()
    assert report.clean, "\n".join(str(d) for d in report.differences)


def pay_by_bank(client, intent: PaymentIntent, amount: int | None = None, tx: str = "") -> None:
    payload = banknotify_payload(
        account=intent.bank_account or intent.merchant.bank_accounts.get(is_default=True),
        amount=amount if amount is not None else intent.amount,
        description=f"MBVCB.{intent.reference_code} chuyen tien",
        **({"provider_id": tx} if tx else {}),
    )
    assert banknotify_deliver(client, payload).status_code == 200


def fresh(order: Order) -> Order:
    return Order.objects.get(pk=order.pk)


@pytest.fixture
def merchant():
    return merchant_with_account(display_name="Cá tươi Bà Lan")


@pytest.fixture
def owner(merchant):
    return member_of(merchant)


@pytest.fixture
def cashier(merchant):
    return member_of(merchant, role="cashier")


# --- 1. a retried refund pays out once ------------------------------------------------------


def test_1_a_refund_retried_after_the_wallet_failed_pays_out_once(
    client,
    merchant,
    owner,
    wallet,  # noqa: F811
):
    order = order_create(
        merchant=merchant,
        lines=[LineInput(unit_price=50_000, name="Mực một nắng")],
        payment_method="ewallet",
        actor=owner,
    )
    payment_id = order.intent.provider_payment_id
    wallet.approve(payment_id)
    wait_for(lambda: fresh(order).status == Order.Status.PAID)
    client.force_login(owner)
    url = f"{API}/market/orders/{order.pk}/refunds"
    body = {"amount": 25_000, "reason": "Thiếu hàng"}
    wallet.set_knobs(fail_next=50, fail_next_status=503)

    first = client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="r-1")

    assert first.status_code == 503
    assert first.json()["error"]["code"] == "provider_unavailable"
    assert Refund.objects.get().status == Refund.Status.PENDING  # reserved, not yet counted
    assert fresh(order).amount_refunded == 0
    wallet.set_knobs(fail_next=0)

    again = client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="r-1")

    assert again.status_code == 201
    assert Refund.objects.count() == 1 and OrderRefund.objects.count() == 1
    assert wallet.wait_idle(timeout=10)
    wait_for(lambda: fresh(order).amount_refunded == 25_000)
    ewallet_reconcile(older_than_seconds=0)  # the sweep that used to send it a second time
    assert wallet.wait_idle(timeout=10)
    assert Refund.objects.count() == 1
    assert wallet.payment(payment_id)["amount_refunded"] == 25_000
    assert fresh(order).status == Order.Status.PARTIALLY_REFUNDED
    replay = client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="r-1")
    assert (replay.status_code, replay.json()["id"]) == (201, again.json()["id"])
    assert_books_agree()


# --- 2. a worker killed inside the request ----------------------------------------------------


class WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs, no except clause catches."""


def test_2_a_key_left_in_progress_by_a_killed_worker_is_taken_over_after_its_lease(
    client, merchant, cashier, monkeypatch
):
    from market.sales import api as api_orders

    real = api_orders.order_out
    kills = {"left": 1}

    def dies_once(order):
        if kills["left"]:
            kills["left"] -= 1
            # The sale and its QR are committed (one transaction since issue 15); the process
            # dies before it could answer or save the answer.
            raise WorkerKilled()
        return real(order)

    monkeypatch.setattr(api_orders, "order_out", dies_once)
    client.force_login(cashier)
    body = {
        "merchant_id": merchant.pk,
        "payment_method": "bank_qr",
        "lines": [{"unit_price": 120_000, "name": "Cua"}],
    }
    start = timezone.now()

    def post():
        return client.post(
            f"{API}/market/orders", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k"
        )

    with time_machine.travel(start, tick=False):
        with pytest.raises(WorkerKilled):
            post()
        assert IdempotencyKey.objects.get().state == IdempotencyKey.State.IN_PROGRESS
        busy = post()
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "idempotency_in_progress"

    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        taken_over = post()
        replayed = post()

    assert taken_over.status_code == 201
    assert replayed.json() == taken_over.json()
    order = Order.objects.get()  # the one sale the first try made, with its one QR
    assert taken_over.json()["id"] == order.pk
    assert order.intent is not None and PaymentIntent.objects.count() == 1
    pay_by_bank(client, order.intent)
    assert fresh(order).status == Order.Status.PAID
    assert_books_agree()


# --- 3. "Thu tiền" money is a sale ---------------------------------------------------------------


def test_3_quick_collect_money_reaches_takings_close_tax_and_invoice(client, merchant, cashier):
    einvoice.series_create(merchant=merchant, form="2", symbol="C26TBL", auto_issue=True)
    client.force_login(cashier)

    response = client.post(f"/cua-hang/{merchant.pk}/thu-tien/", {"amount": "150.000"})

    assert response.status_code == 302
    intent = PaymentIntent.objects.get()
    asked = Order.objects.get()  # the keyed amount is a sale from the start, like the POS's
    assert (asked.status, asked.intent_id, asked.channel) == ("awaiting_payment", intent.pk, "pos")
    pay_by_bank(client, intent)
    sale = Order.objects.get()
    assert (sale.status, sale.total, sale.amount_paid, sale.intent_id) == (
        Order.Status.PAID,
        150_000,
        150_000,
        intent.pk,
    )
    assert [(line.name, line.amount) for line in sale.lines.all()] == [("Tiền hàng", 150_000)]
    today = takings_figures.takings(merchant=merchant).periods[0]
    assert (today.gross, today.cashless_net) == (150_000, 150_000)
    assert day_close.close_preview(merchant=merchant).sales_total == 150_000
    month = timezone.localdate().month
    assert tax_figures.tax_estimate(merchant=merchant).revenue_by_month[month - 1] == 150_000
    assert Invoice.objects.get(source_ref=sale.number).total_payable == 150_000
    assert_books_agree()


def test_3_money_asked_through_the_payments_api_becomes_a_sale_when_it_arrives(
    client, merchant, owner
):
    from tests.factories import api_key_for

    key = api_key_for(merchant, owner)
    created = client.post(
        f"{API}/payments/intents",
        {"merchant_id": merchant.pk, "amount": 42_000, "description": "Bánh xèo"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert created.status_code == 201
    assert not Order.objects.exists()
    pay_by_bank(client, PaymentIntent.objects.get())
    sale = Order.objects.get()
    assert (sale.status, sale.total, sale.source_ref) == (
        "paid",
        42_000,
        f"intent:{created.json()['id']}",
    )
    assert [line.name for line in sale.lines.all()] == ["Bánh xèo"]
    assert day_close.close_preview(merchant=merchant).sales_total == 42_000
    assert_books_agree()


def test_3_canceling_the_quick_collect_qr_cancels_its_sale(client, merchant, cashier):
    client.force_login(cashier)
    client.post(f"/cua-hang/{merchant.pk}/thu-tien/", {"amount": "30.000"})
    intent = PaymentIntent.objects.get()

    client.post(f"/cua-hang/{merchant.pk}/thu-tien/{intent.pk}/huy/")

    assert Order.objects.get().status == "canceled"
    assert PaymentIntent.objects.get().status == "canceled"
    pay_by_bank(client, intent)  # paid all the same: booked, flagged, not lost
    assert LedgerEntry.objects.get().flag == "after_cancel"
    assert_books_agree()


# --- 4. a refund started on the intent is the sale's refund --------------------------------------


def test_4_a_refund_on_the_intent_lowers_the_sale_and_adjusts_its_invoice(
    client, merchant, owner, cashier
):
    einvoice.series_create(merchant=merchant, form="2", symbol="C26TBL", auto_issue=True)
    fish = ProductFactory(merchant=merchant, name="Cá thu", unit="kg", price=200_000)
    order = order_create(
        merchant=merchant,
        lines=[LineInput(product_id=fish.pk, quantity=Decimal("0.5"))],
        payment_method="bank_qr",
        actor=cashier,
    )
    pay_by_bank(client, order.intent)
    client.force_login(owner)

    by_api = client.post(
        f"{API}/payments/intents/{order.intent_id}/refund",
        {"amount": 30_000, "reason": "Cá không tươi"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="i-1",
    )
    assert by_api.status_code == 200
    assert (fresh(order).status, fresh(order).amount_refunded) == (
        Order.Status.PARTIALLY_REFUNDED,
        30_000,
    )
    page = client.get(f"/cua-hang/{merchant.pk}/thu-tien/{order.intent_id}/")
    by_page = client.post(
        f"/cua-hang/{merchant.pk}/thu-tien/{order.intent_id}/hoan-tien/",
        {
            "amount": "70.000",
            "reason": "Khách trả lại",
            "idempotency_key": page.context["idempotency_key"],
        },
    )
    assert by_page.status_code == 302

    order = fresh(order)
    assert (order.status, order.amount_refunded) == (Order.Status.REFUNDED, 100_000)
    assert [r.amount for r in order.refunds.all()] == [30_000, 70_000]
    adjustments = Invoice.objects.filter(kind=Invoice.Kind.ADJUSTMENT).order_by("pk")
    assert [a.total_payable for a in adjustments] == [-30_000, -70_000]
    assert takings_figures.takings(merchant=merchant).periods[0].net == 0
    assert (
        tax_figures.tax_estimate(merchant=merchant).revenue_by_month[timezone.localdate().month - 1]
        == 0
    )
    assert_books_agree()


# --- 5. the intent refund API honours Idempotency-Key ---------------------------------------------


def test_5_the_same_intent_refund_request_twice_refunds_once(client, merchant, owner, cashier):
    order = order_create(
        merchant=merchant,
        lines=[LineInput(unit_price=80_000)],
        payment_method="bank_qr",
        actor=cashier,
    )
    pay_by_bank(client, order.intent)
    client.force_login(owner)
    url = f"{API}/payments/intents/{order.intent_id}/refund"
    body = {"amount": 20_000, "reason": "Bớt giá"}

    first = client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="same")
    second = client.post(url, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="same")
    other = client.post(
        url,
        {**body, "amount": 30_000},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="same",
    )

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == first.json()
    assert other.status_code == 422  # the same key for another request is refused
    assert Refund.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).get().amount == -20_000
    assert fresh(order).amount_refunded == 20_000
    assert_books_agree()


# --- 6. money in is always booked, whatever the path ---------------------------------------------


def test_6_a_wallet_payment_after_the_bank_paid_the_same_sale_is_booked_and_flagged(
    client,
    merchant,
    cashier,
    wallet,  # noqa: F811
):
    order = order_create(
        merchant=merchant,
        lines=[LineInput(unit_price=65_000, name="Bánh tráng")],
        payment_method="ewallet",
        actor=cashier,
    )
    # The shopper types the e-wallet QR's code into a bank transfer: the bank pays the sale.
    pay_by_bank(client, order.intent)
    order = fresh(order)
    assert (order.status, order.payment_method) == (Order.Status.PAID, "bank_qr")

    wallet.approve(order.intent.provider_payment_id)  # ... and the wallet pays it too
    wait_for(lambda: WalletEvent.objects.filter(outcome="already_paid").exists())

    second = LedgerEntry.objects.get(wallet_event__isnull=False)
    assert (second.kind, second.amount, second.flag) == ("unmatched", 65_000, "already_paid")
    assert fresh(order).amount_paid == 65_000  # the sale is paid once; the extra is flagged
    preview = day_close.close_preview(merchant=merchant)
    assert preview.unmatched_total == 65_000
    assert [u["flag"] for u in preview.unmatched_credits] == ["already_paid"]
    ewallet_reconcile(older_than_seconds=0)  # finding it again books nothing twice
    assert LedgerEntry.objects.filter(wallet_event__isnull=False).count() == 1
    assert_books_agree()


def test_6_a_lost_wallet_webhook_for_a_sale_paid_by_bank_is_found_by_reconciliation(
    client,
    merchant,
    cashier,
    wallet,  # noqa: F811
):
    order = order_create(
        merchant=merchant,
        lines=[LineInput(unit_price=45_000)],
        payment_method="ewallet",
        actor=cashier,
    )
    pay_by_bank(client, order.intent)
    wallet.webhook_url = "http://127.0.0.1:9/nobody-listens"  # the wallet's webhook is lost
    wallet.approve(order.intent.provider_payment_id)
    assert not LedgerEntry.objects.filter(wallet_event__isnull=False).exists()

    ewallet_reconcile(older_than_seconds=0)

    entry = LedgerEntry.objects.get(wallet_event__isnull=False)
    assert (entry.amount, entry.flag) == (45_000, "already_paid")
    assert_books_agree()


def test_6_two_qr_codes_of_one_sale_both_paid_book_the_second_as_unmatched(
    client, merchant, cashier
):
    from market.sales import orders

    order = order_create(
        merchant=merchant,
        lines=[LineInput(unit_price=30_000)],
        payment_method="bank_qr",
        actor=cashier,
    )
    old = order.intent
    PaymentIntent.objects.filter(pk=old.pk).update(status=PaymentIntent.Status.EXPIRED)
    orders.order_request_payment(order=order, actor=cashier)  # a new QR for the same sale
    new = fresh(order).intent
    assert new.pk != old.pk

    pay_by_bank(client, new)
    pay_by_bank(client, old)  # the shopper's friend paid the first QR too

    order = fresh(order)
    assert (order.intent_id, order.amount_paid) == (new.pk, 30_000)
    late = LedgerEntry.objects.get(intent=old)
    assert (late.kind, late.flag) == ("unmatched", "already_paid")
    assert_books_agree()


# --- 7. money back is the owner's ---------------------------------------------------------------


def test_7_a_cashier_cannot_give_money_back_by_any_path(client, merchant, cashier):
    order = order_create(
        merchant=merchant,
        lines=[LineInput(unit_price=90_000)],
        payment_method="bank_qr",
        actor=cashier,
    )
    pay_by_bank(client, order.intent)
    client.force_login(cashier)

    answers = [
        client.post(
            f"{API}/market/orders/{order.pk}/refunds",
            {"amount": 10_000, "reason": "x"},
            content_type="application/json",
        ).status_code,
        client.post(
            f"{API}/payments/intents/{order.intent_id}/refund",
            {"amount": 10_000, "reason": "x"},
            content_type="application/json",
        ).status_code,
        client.post(
            f"/cua-hang/{merchant.pk}/don/{order.pk}/hoan-tien/", {"amount": "10000", "reason": "x"}
        ).status_code,
    ]

    assert all(code in (403, 404) for code in answers), answers
    assert not Refund.objects.exists()
    assert fresh(order).amount_refunded == 0
    assert_books_agree()


# --- 8. a close is one business day --------------------------------------------------------------


def test_8_the_first_close_after_weeks_closes_each_day_on_its_own(client, merchant, owner):
    first_day = timezone.localdate() - timedelta(days=20)
    for offset in (0, 3, 3, 11, 19):
        when = datetime.combine(first_day + timedelta(days=offset), datetime.min.time(), VN)
        with time_machine.travel(when + timedelta(hours=9), tick=False):
            order_create(
                merchant=merchant,
                lines=[LineInput(unit_price=40_000)],
                payment_method="cash",
                actor=owner,
            )
    order_create(
        merchant=merchant, lines=[LineInput(unit_price=25_000)], payment_method="cash", actor=owner
    )

    today = closing.daily_close_create(merchant=merchant, cash_counted=25_000, actor=owner)

    closes = list(DailyClose.objects.order_by("business_date"))
    assert [c.business_date for c in closes] == sorted(
        {first_day + timedelta(days=o) for o in (0, 3, 11, 19)} | {timezone.localdate()}
    )
    assert [c.sales_total for c in closes] == [40_000, 80_000, 40_000, 40_000, 25_000]
    assert all(c.cash_difference == 0 for c in closes)
    assert today.period_start >= periods.local_midnight(timezone.localdate())
    assert_books_agree()


def test_3_a_double_tap_on_the_quick_collect_keypad_makes_one_sale(client, merchant, cashier):
    client.force_login(cashier)
    key = client.get(f"/cua-hang/{merchant.pk}/thu-tien/").context["idempotency_key"]
    form = {"amount": "55.000", "idempotency_key": key}

    first = client.post(f"/cua-hang/{merchant.pk}/thu-tien/", form)
    second = client.post(f"/cua-hang/{merchant.pk}/thu-tien/", form)

    assert first["Location"] == second["Location"]
    assert Order.objects.count() == PaymentIntent.objects.count() == 1


def test_a_double_tap_on_cash_for_an_open_sale_records_the_cash_once(client, merchant, cashier):
    order = order_create(
        merchant=merchant,
        lines=[LineInput(unit_price=70_000)],
        payment_method="bank_qr",
        actor=cashier,
    )
    client.force_login(cashier)
    key = client.get(f"/cua-hang/{merchant.pk}/don/{order.pk}/").context["idempotency_key"]
    url = f"/cua-hang/{merchant.pk}/don/{order.pk}/thanh-toan-lai/"

    for _tap in range(2):
        assert client.post(url, {"method": "cash", "idempotency_key": key}).status_code == 302

    order = fresh(order)
    assert (order.status, order.payment_method, order.amount_paid) == ("paid", "cash", 70_000)
    assert PaymentIntent.objects.filter(method="cash").count() == 1
    old_qr = PaymentIntent.objects.get(method="bank_qr")
    assert old_qr.status == "canceled"
    pay_by_bank(client, old_qr)  # the old QR, paid all the same: a second payment of the sale
    assert LedgerEntry.objects.get().flag == "already_paid"
    assert_books_agree()


@pytest.mark.parametrize(
    "kind", ["outgoing", "unknown_account"], ids=["money out", "someone else's account"]
)
def test_the_first_delivery_of_a_notification_with_no_merchant_to_tell_is_acknowledged(
    client, merchant, kind
):
    account = merchant.bank_accounts.get()
    payload = banknotify_payload(
        account=account if kind == "outgoing" else None,
        bank_bin=None if kind == "outgoing" else "970422",
        account_number=None if kind == "outgoing" else "9999999999",
        transfer_type="out" if kind == "outgoing" else "in",
        amount=500_000,
    )

    response = banknotify_deliver(client, payload)

    assert response.status_code == 200
    assert response.json()["outcome"] == kind
    assert not LedgerEntry.objects.exists()
    assert_books_agree()


def test_an_integrators_shared_reference_does_not_make_its_intents_one_sale(client, merchant):
    """The payments API's reference is the caller's own: many intents may carry "ca-sang"."""
    from payments import services as money

    first = money.intent_create(merchant=merchant, amount=20_000, reference="ca-sang")
    second = money.intent_create(merchant=merchant, amount=30_000, reference="ca-sang")

    pay_by_bank(client, first)
    pay_by_bank(client, second)

    assert [i.status for i in PaymentIntent.objects.order_by("pk")] == ["succeeded"] * 2
    assert Order.objects.filter(status="paid").count() == 2
    assert not LedgerEntry.objects.filter(flag="already_paid").exists()
    assert_books_agree()
