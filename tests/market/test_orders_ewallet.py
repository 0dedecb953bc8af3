"""An e-wallet sale over real HTTP with the sandbox wallet: paid when the shopper approves,
refunded through the provider and counted on the order only once the provider confirms."""

from __future__ import annotations

import pytest

from market.models import Order, OrderRefund
from market.sales import orders
from market.sales.orders import LineInput
from payments.models import LedgerEntry
from tests.factories import member_of, merchant_with_account
from tests.payments.test_ewallet import wait_for, wallet  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def status_of(order: Order) -> str:
    order.refresh_from_db()
    return order.status


def test_an_e_wallet_sale_is_paid_and_refunded_through_the_provider(wallet):  # noqa: F811
    merchant = merchant_with_account(display_name="Mì Quảng Bà Vị")
    owner = member_of(merchant)
    order = orders.order_create(
        merchant=merchant,
        lines=[LineInput(unit_price=35_000, name="Mì Quảng gà"), LineInput(unit_price=15_000)],
        payment_method="ewallet",
        actor=owner,
    )
    assert order.intent.provider_payment_id
    wallet.approve(order.intent.provider_payment_id, phone="0909000002")
    wait_for(lambda: status_of(order) == Order.Status.PAID)
    assert order.amount_paid == 50_000

    refund = orders.order_refund(order_id=order.pk, amount=15_000, reason="Hết món", actor=owner)
    assert wallet.wait_idle(timeout=10)
    wait_for(lambda: status_of(order) == Order.Status.PARTIALLY_REFUNDED)
    refund.refresh_from_db()
    assert refund.status == OrderRefund.Status.SUCCEEDED
    assert refund.payment_refund.provider_refund_id.startswith("re_")
    assert order.amount_refunded == 15_000
    assert [e.amount for e in LedgerEntry.objects.filter(merchant=merchant)] == [-15_000, 50_000]
