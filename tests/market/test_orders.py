"""Orders at the stall: lines, weight, totals, paying by bank QR / cash, refunds, state."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import Conflict, ValidationFailed
from market.models import Order, OrderRefund
from market.sales import orders, settling
from market.sales.orders import BuyerInput, LineInput
from market.signals import order_paid
from payments.models import LedgerEntry, PaymentIntent
from tests.factories import (
    ProductFactory,
    assert_ledger_invariant,
    banknotify_deliver,
    banknotify_payload,
    enterprise_tax_code,
    member_of,
    merchant_with_account,
    personal_id,
)

pytestmark = pytest.mark.django_db(transaction=True)

S = Order.Status


@pytest.fixture
def merchant():
    return merchant_with_account(display_name="Cá tươi Bà Lan")


@pytest.fixture
def cashier(merchant):
    return member_of(merchant, role="cashier")


@pytest.fixture
def owner(merchant):
    return member_of(merchant)


@pytest.fixture
def fish(merchant):
    return ProductFactory(
        merchant=merchant, name="Cá thu", unit="kg", price=180_000, sold_by_weight=True
    )


@pytest.fixture
def greens(merchant):
    return ProductFactory(
        merchant=merchant, name="Rau muống", unit="bó", price=10_000, sold_by_weight=False
    )


def pay_by_bank(client, order: Order, amount: int | None = None) -> None:
    intent = order.intent
    assert intent is not None
    response = banknotify_deliver(
        client,
        banknotify_payload(
            account=intent.bank_account,
            amount=amount if amount is not None else intent.amount,
            description=f"{intent.reference_code} chuyen tien",
        ),
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("price", "quantity", "amount"),
    [
        (180_000, "0,35", 63_000),
        (180_000, "0.35", 63_000),
        (25_500, "0,333", 8_492),  # 8.491,5 rounds half up
        (10_000, "2", 20_000),
        (99_999, "0,001", 100),  # 99,999 rounds to 100
        (7_000, "1,5", 10_500),
    ],
)
def test_a_weighed_line_is_rounded_half_up_to_a_whole_dong(price, quantity, amount):
    assert orders.line_amount(price, orders.parse_quantity(quantity)) == amount


@pytest.mark.parametrize("text", ["0", "-1", "abc", "0,0001", "10000", "1e3x", "NaN"])
def test_a_quantity_that_makes_no_sense_is_refused(text):
    with pytest.raises(ValidationFailed):
        orders.parse_quantity(text)


def test_a_sale_by_weight_and_by_bundle_adds_up_and_waits_for_the_bank(
    merchant, cashier, fish, greens
):
    order = orders.order_create(
        merchant=merchant,
        lines=[
            LineInput(product_id=fish.pk, quantity=Decimal("0.35")),
            LineInput(product_id=greens.pk, quantity=Decimal(2)),
        ],
        payment_method="bank_qr",
        actor=cashier,
    )
    assert order.status == S.AWAITING_PAYMENT
    assert order.total == 83_000
    assert [(line.name, line.unit, line.amount) for line in order.lines.all()] == [
        ("Cá thu", "kg", 63_000),
        ("Rau muống", "bó", 20_000),
    ]
    intent = order.intent
    assert intent.amount == 83_000
    assert intent.reference == order.number
    assert intent.status == PaymentIntent.Status.REQUIRES_PAYMENT
    assert order.cashier == cashier


def test_lines_are_snapshots_a_later_price_change_does_not_touch_the_sale(merchant, cashier, fish):
    order = orders.order_create(
        merchant=merchant,
        lines=[LineInput(product_id=fish.pk, quantity=Decimal(1))],
        payment_method="cash",
        actor=cashier,
    )
    fish.price = 250_000
    fish.name = "Cá thu (loại 1)"
    fish.save()
    line = order.lines.get()
    assert (line.name, line.unit_price, line.amount) == ("Cá thu", 180_000, 180_000)


def test_the_bank_transfer_pays_the_order_and_announces_it(client, merchant, cashier, fish):
    paid = []
    order_paid.connect(
        lambda sender, **kw: paid.append(kw["order_id"]), weak=False, dispatch_uid="test-paid"
    )
    try:
        order = orders.order_create(
            merchant=merchant,
            lines=[LineInput(product_id=fish.pk, quantity=Decimal("0.5"))],
            payment_method="bank_qr",
            actor=cashier,
        )
        pay_by_bank(client, order)
    finally:
        order_paid.disconnect(dispatch_uid="test-paid")
    order.refresh_from_db()
    assert order.status == S.PAID
    assert order.amount_paid == 90_000
    assert order.bank_reference
    assert order.paid_at is not None
    assert paid == [order.pk]


def test_cash_is_paid_at_once_and_never_touches_the_bank_ledger(merchant, cashier, greens):
    order = orders.order_create(
        merchant=merchant,
        lines=[LineInput(product_id=greens.pk, quantity=Decimal(3))],
        payment_method="cash",
        actor=cashier,
    )
    assert order.status == S.PAID
    # payments holds the money of every sale: a cash intent, paid at once, outside the ledger.
    assert (order.intent.method, order.intent.paid_via, order.intent.status) == (
        "cash",
        "cash",
        "succeeded",
    )
    assert order.amount_paid == 30_000
    assert not LedgerEntry.objects.filter(merchant=merchant).exists()


def test_a_free_amount_from_the_keypad_is_one_line(merchant, cashier):
    order = orders.order_create(
        merchant=merchant,
        lines=[LineInput(unit_price=45_000)],
        payment_method="cash",
        actor=cashier,
    )
    line = order.lines.get()
    assert (line.name, line.amount, line.product) == ("Tiền hàng", 45_000, None)


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([], "lines"),
        ([LineInput(unit_price=0)], "amount"),
        ([LineInput(unit_price=-5)], "amount"),
        ([LineInput(product_id=999_999)], "lines"),
    ],
)
def test_bad_lines_are_refused_and_nothing_is_written(merchant, cashier, lines, field):
    with pytest.raises(ValidationFailed) as exc:
        orders.order_create(merchant=merchant, lines=lines, payment_method="cash", actor=cashier)
    assert field in exc.value.fields
    assert not Order.objects.exists()


def test_a_piece_product_cannot_be_sold_by_a_fraction(merchant, cashier, greens):
    with pytest.raises(ValidationFailed) as exc:
        orders.order_create(
            merchant=merchant,
            lines=[LineInput(product_id=greens.pk, quantity=Decimal("1.5"))],
            payment_method="cash",
            actor=cashier,
        )
    assert "quantity" in exc.value.fields


def test_another_merchants_product_cannot_be_sold(merchant, cashier):
    other = ProductFactory(merchant=merchant_with_account(), price=50_000)
    with pytest.raises(ValidationFailed):
        orders.order_create(
            merchant=merchant,
            lines=[LineInput(product_id=other.pk)],
            payment_method="cash",
            actor=cashier,
        )


def test_a_bank_qr_sale_without_a_bank_account_is_refused_before_anything_is_written(cashier):
    from tests.factories import MerchantFactory

    bare = MerchantFactory()
    with pytest.raises(ValidationFailed) as exc:
        orders.order_create(
            merchant=bare,
            lines=[LineInput(unit_price=20_000)],
            payment_method="bank_qr",
            actor=None,
        )
    assert exc.value.code == "no_bank_account"
    assert not Order.objects.exists()


def test_buyer_details_are_validated_and_a_12_digit_id_is_a_citizen_id(merchant, cashier):
    with pytest.raises(ValidationFailed) as exc:
        orders.order_create(
            merchant=merchant,
            lines=[LineInput(unit_price=20_000)],
            payment_method="cash",
            actor=cashier,
            buyer=BuyerInput(tax_code="0100109105"),  # wrong check digit
        )
    assert "tax_code" in exc.value.fields
    order = orders.order_create(
        merchant=merchant,
        lines=[LineInput(unit_price=20_000)],
        payment_method="cash",
        actor=cashier,
        buyer=BuyerInput(name="Công ty  TNHH Biển Xanh", tax_code=personal_id(7)),
    )
    assert (order.buyer_tax_code, order.buyer_citizen_id) == ("", personal_id(7))
    order = orders.order_create(
        merchant=merchant,
        lines=[LineInput(unit_price=20_000)],
        payment_method="cash",
        actor=cashier,
        buyer=BuyerInput(tax_code=enterprise_tax_code(3)),
    )
    assert order.buyer_tax_code == enterprise_tax_code(3)


def test_switching_to_cash_settles_the_order_and_cancels_the_qr(merchant, cashier, greens):
    order = orders.order_create(
        merchant=merchant,
        lines=[LineInput(product_id=greens.pk)],
        payment_method="bank_qr",
        actor=cashier,
    )
    intent_id = order.intent_id
    order = orders.order_request_payment(order=order, actor=cashier, method="cash")
    assert (order.status, order.payment_method) == (S.PAID, "cash")
    assert PaymentIntent.objects.get(pk=intent_id).status == PaymentIntent.Status.CANCELED
    with pytest.raises(Conflict):
        orders.order_request_payment(order=order, actor=cashier, method="bank_qr")


def test_a_new_qr_replaces_the_old_one_and_a_late_payment_to_the_old_one_still_counts(
    client, merchant, cashier, greens
):
    order = orders.order_create(
        merchant=merchant,
        lines=[LineInput(product_id=greens.pk)],
        payment_method="bank_qr",
        actor=cashier,
    )
    first = order.intent
    PaymentIntent.objects.filter(pk=first.pk).update(status=PaymentIntent.Status.EXPIRED)
    order = orders.order_request_payment(order=order, actor=cashier)
    assert order.intent_id != first.pk
    # The shopper had scanned the first QR and pays it late: the bank's money is the sale's.
    banknotify_deliver(
        client,
        banknotify_payload(
            account=first.bank_account, amount=10_000, description=first.reference_code
        ),
    )
    order.refresh_from_db()
    assert order.status == S.PAID
    assert order.intent_id == first.pk


def test_an_unpaid_order_can_be_canceled_but_a_paid_one_cannot(merchant, cashier, greens):
    order = orders.order_create(
        merchant=merchant,
        lines=[LineInput(product_id=greens.pk)],
        payment_method="bank_qr",
        actor=cashier,
    )
    order = orders.order_cancel(order_id=order.pk, actor=cashier)
    assert order.status == S.CANCELED
    assert order.intent.status == PaymentIntent.Status.CANCELED
    paid = orders.order_create(
        merchant=merchant, lines=[LineInput(unit_price=5_000)], payment_method="cash", actor=None
    )
    with pytest.raises(Conflict):
        orders.order_cancel(order_id=paid.pk, actor=cashier)


def test_the_sale_is_paid_in_the_same_commit_as_its_money(client, merchant, cashier, greens):
    """No after-commit news is needed: the order moves inside the settlement's transaction."""
    from payments.signals import payment_succeeded

    order = orders.order_create(
        merchant=merchant,
        lines=[LineInput(product_id=greens.pk)],
        payment_method="bank_qr",
        actor=cashier,
    )
    receivers = payment_succeeded.receivers[:]
    payment_succeeded.receivers.clear()
    try:
        pay_by_bank(client, order)
    finally:
        payment_succeeded.receivers[:] = receivers
    order.refresh_from_db()
    assert (order.status, order.amount_paid) == (S.PAID, 10_000)
    assert order.intent.paid_via == "bank"


def test_a_failing_sale_update_rolls_the_money_back_until_a_retry(
    client, merchant, cashier, greens, monkeypatch
):
    """The books never disagree, even for a moment: if the sale cannot be marked paid, the
    money is not booked either; the stored notification is settled by the next delivery."""
    from payments.models import BankNotification

    order = orders.order_create(
        merchant=merchant,
        lines=[LineInput(product_id=greens.pk)],
        payment_method="bank_qr",
        actor=cashier,
    )

    def broken(*args, **kwargs):
        raise RuntimeError("database hiccup in the sale update")

    monkeypatch.setattr(settling, "update_where_returning", broken)  # the sale's one UPDATE
    with pytest.raises(RuntimeError):
        pay_by_bank(client, order)
    monkeypatch.undo()
    assert not LedgerEntry.objects.filter(merchant=merchant).exists()
    stored = BankNotification.objects.get()
    assert stored.processed_at is None
    order.refresh_from_db()
    assert order.status == S.AWAITING_PAYMENT
    from payments import notifications as money

    money.notification_process(notification_id=stored.pk)
    order.refresh_from_db()
    assert order.status == S.PAID
    assert LedgerEntry.objects.get(merchant=merchant).amount == order.amount_paid


def paid_qr_order(client, merchant, cashier, fish, greens) -> Order:
    order = orders.order_create(
        merchant=merchant,
        lines=[
            LineInput(product_id=fish.pk, quantity=Decimal("0.35")),
            LineInput(product_id=greens.pk, quantity=Decimal(2)),
        ],
        payment_method="bank_qr",
        actor=cashier,
    )
    pay_by_bank(client, order)
    order.refresh_from_db()
    assert order.status == S.PAID
    return order


def test_refunding_one_line_of_a_bank_sale_records_the_payout_in_the_ledger(
    client, merchant, cashier, owner, fish, greens
):
    order = paid_qr_order(client, merchant, cashier, fish, greens)
    greens_line = order.lines.get(name="Rau muống")
    refund = orders.order_refund(
        order_id=order.pk, amount=None, line_id=greens_line.pk, reason="Rau héo", actor=owner
    )
    assert (refund.status, refund.amount) == (OrderRefund.Status.SUCCEEDED, 20_000)
    order.refresh_from_db()
    assert (order.status, order.amount_refunded, order.net_amount) == (
        S.PARTIALLY_REFUNDED,
        20_000,
        63_000,
    )
    assert LedgerEntry.objects.get(merchant=merchant, kind="refund").amount == -20_000
    assert_ledger_invariant(merchant)
    with pytest.raises(ValidationFailed) as exc:
        orders.order_refund(
            order_id=order.pk, amount=1_000, line_id=greens_line.pk, reason="x", actor=owner
        )
    assert exc.value.code == "refund_too_large"


def test_refunds_never_exceed_the_order_and_the_last_one_makes_it_refunded(
    client, merchant, cashier, owner, fish, greens
):
    order = paid_qr_order(client, merchant, cashier, fish, greens)
    with pytest.raises(ValidationFailed):
        orders.order_refund(order_id=order.pk, amount=83_001, reason="nhầm", actor=owner)
    orders.order_refund(order_id=order.pk, amount=80_000, reason="nhầm", actor=owner)
    with pytest.raises(ValidationFailed):
        orders.order_refund(order_id=order.pk, amount=3_001, reason="nhầm", actor=owner)
    orders.order_refund(order_id=order.pk, amount=3_000, reason="nhầm", actor=owner)
    order.refresh_from_db()
    assert (order.status, order.amount_refunded, order.net_amount) == (S.REFUNDED, 83_000, 0)
    with pytest.raises(Conflict):
        orders.order_refund(order_id=order.pk, amount=1, reason="nhầm", actor=owner)


def test_a_refund_needs_a_reason_and_a_paid_order(merchant, cashier, owner, greens):
    cash = orders.order_create(
        merchant=merchant,
        lines=[LineInput(product_id=greens.pk)],
        payment_method="cash",
        actor=cashier,
    )
    with pytest.raises(ValidationFailed) as exc:
        orders.order_refund(order_id=cash.pk, amount=1_000, reason="  ", actor=owner)
    assert "reason" in exc.value.fields
    unpaid = orders.order_create(
        merchant=merchant,
        lines=[LineInput(product_id=greens.pk)],
        payment_method="bank_qr",
        actor=cashier,
    )
    with pytest.raises(Conflict):
        orders.order_refund(order_id=unpaid.pk, amount=1_000, reason="x", actor=owner)


def test_a_cash_refund_counts_at_once_without_a_bank_entry(merchant, cashier, owner, greens):
    order = orders.order_create(
        merchant=merchant,
        lines=[LineInput(product_id=greens.pk, quantity=Decimal(5))],
        payment_method="cash",
        actor=cashier,
    )
    orders.order_refund(order_id=order.pk, amount=10_000, reason="Trả lại 1 bó", actor=owner)
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == (S.PARTIALLY_REFUNDED, 10_000)
    assert not LedgerEntry.objects.filter(merchant=merchant).exists()


def test_a_sale_left_without_a_payment_request_gets_one_or_is_canceled(client, merchant, greens):
    """The process died between recording the sale and asking for payment."""
    from datetime import timedelta

    from django.utils import timezone

    cashier = member_of(merchant, role="cashier")
    order = orders.order_create(
        merchant=merchant,
        lines=[LineInput(product_id=greens.pk)],
        payment_method="bank_qr",
        actor=cashier,
    )
    Order.objects.filter(pk=order.pk).update(intent=None)
    client.force_login(cashier)
    page = client.get(f"/cua-hang/{merchant.pk}/don/{order.pk}/")
    order.refresh_from_db()
    assert order.intent is None  # a GET never writes: the page offers a new QR
    assert 'id="new-qr"' in page.content.decode()
    client.post(f"/cua-hang/{merchant.pk}/don/{order.pk}/thanh-toan-lai/", {"method": "bank_qr"})
    order.refresh_from_db()
    assert order.intent is not None
    page = client.get(f"/cua-hang/{merchant.pk}/don/{order.pk}/")
    assert order.intent.reference_code in page.content.decode()
    stale = orders.order_create(
        merchant=merchant,
        lines=[LineInput(product_id=greens.pk)],
        payment_method="bank_qr",
        actor=cashier,
    )
    Order.objects.filter(pk=stale.pk).update(
        intent=None, created_at=timezone.now() - timedelta(hours=1)
    )
    orders.orders_sweep()
    stale.refresh_from_db()
    assert stale.status == S.CANCELED


def test_a_bank_qr_sale_and_its_qr_commit_together_or_not_at_all(merchant, greens, monkeypatch):
    from django.db import DatabaseError, connection

    from core.models import AuditLog

    def crash(*args, **kwargs):
        raise RuntimeError("database hiccup at the last insert")

    monkeypatch.setattr(AuditLog.objects, "bulk_create", crash)
    if connection.vendor == "postgresql":
        # The sale is one statement there (core.db.insert_together): the database itself
        # refuses its last row, an audit action longer than its column.
        entry = orders.audit_entry

        def too_long(**kwargs):
            made = entry(**kwargs)
            made.action = "x" * 200
            return made

        monkeypatch.setattr(orders, "audit_entry", too_long)
    with pytest.raises((RuntimeError, DatabaseError)):
        orders.order_create(
            merchant=merchant,
            lines=[LineInput(product_id=greens.pk)],
            payment_method="bank_qr",
            actor=None,
            actor_label="test",
        )
    assert not Order.objects.exists()
    assert not PaymentIntent.objects.exists()


def test_the_same_request_key_resumes_the_first_sale_and_its_qr(merchant):
    def sell(on_merchant):
        return orders.order_create(
            merchant=on_merchant,
            lines=[LineInput(unit_price=10_000, name="Rau")],
            payment_method="bank_qr",
            actor=None,
            actor_label="test",
            request_key="idem:same-request",
        )

    first = sell(merchant)
    again = sell(merchant)

    assert again.pk == first.pk and again.intent_id == first.intent_id
    assert Order.objects.count() == 1 and PaymentIntent.objects.count() == 1
    with pytest.raises(ValidationFailed) as refused:
        sell(merchant_with_account())
    assert refused.value.code == "idempotency_key_reused"
    assert Order.objects.count() == 1 and PaymentIntent.objects.count() == 1
