"""Demo data only: a few weeks of believable stall sales, made through the real services.

Every sale goes through ``order_create``; a bank-QR sale is paid by a bank notification processed
by the money engine, exactly as in production. Only afterwards are the rows' timestamps moved back
to the morning they pretend to have happened on, so takings, the daily close, the tax estimate and
the staff dashboard have history to show. Never used outside ``manage.py demo``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from merchants.models import Merchant, User
from payments import notifications as payment_notifications
from payments.models import BankNotification, LedgerEntry, PaymentIntent
from payments.providers.banknotify import BankTransaction

from ..models import Order
from . import orders


def demo_sales_history(
    *,
    merchant: Merchant,
    cashier: User,
    days: int,
    cashless_from: float,
    cashless_to: float,
    seed: int,
    today: datetime | None = None,
) -> int:
    """Sales on each of the last ``days`` mornings (and today's early ones). The share paid by
    bank QR grows from ``cashless_from`` to ``cashless_to`` (adoption). Returns the count."""
    rng = random.Random(seed)
    products = list(merchant.products.filter(is_active=True))
    account = merchant.bank_accounts.filter(is_default=True).first()
    if not products:
        return 0
    now = today or timezone.localtime()
    made = 0
    for back in range(days, -1, -1):
        day = (now - timedelta(days=back)).date()
        share = cashless_from + (cashless_to - cashless_from) * (days - back) / max(days, 1)
        sales = rng.randint(3, 7) if back else rng.randint(1, 3)
        planned: list[_Sale] = []
        for _n in range(sales):
            at = timezone.make_aware(
                datetime.combine(day, time(5, 0)) + timedelta(minutes=rng.randint(0, 330))
            )
            if at >= now:
                continue
            lines = []
            for product in rng.sample(products, k=min(len(products), rng.randint(1, 2))):
                if product.sold_by_weight:
                    quantity = Decimal(rng.randint(4, 30)) * Decimal("0.05")
                else:
                    quantity = Decimal(rng.randint(1, 3))
                lines.append(orders.LineInput(product_id=product.pk, quantity=quantity))
            method = "bank_qr" if account is not None and rng.random() < share else "cash"
            sale = _Sale(at=at, lines=lines, method=method)
            if method == "bank_qr":  # the transfer as the shopper's bank writes it
                sale.bank_reference = f"FT{rng.randint(10**9, 10**10 - 1)}"
                sale.counter_name = rng.choice(SHOPPERS)
            planned.append(sale)
        # Made in the order they happened, as at a real stall: a later sale has a later number,
        # so the POS's "Đơn gần đây" (newest first) reads the same by time and by number.
        for sale in sorted(planned, key=lambda s: s.at):
            order = orders.order_create(
                merchant=merchant, lines=sale.lines, payment_method=sale.method, actor=cashier
            )
            if sale.method == "bank_qr":
                _pay_by_bank(order, sale)
            _move_to(order, sale.at)
            made += 1
    return made


SHOPPERS = ["NGUYEN THI HOA", "TRAN VAN NAM", "LE THI MAI", "PHAM MINH"]


@dataclass
class _Sale:
    """One demo sale as drawn, made once the whole day is drawn (the same draws as before)."""

    at: datetime
    lines: list[orders.LineInput]
    method: str
    bank_reference: str = ""
    counter_name: str = ""


def _pay_by_bank(order: Order, sale: _Sale) -> None:
    intent = order.intent
    assert intent is not None
    payment_notifications.notification_receive(
        tx=BankTransaction(
            provider_id=f"demo-{intent.reference_code}",
            bank_bin=intent.bank_bin,
            account_number=intent.account_number,
            transfer_type="in",
            amount=intent.amount,
            description=f"{intent.reference_code} chuyen tien mua hang",
            bank_reference=sale.bank_reference,
            counter_name=sale.counter_name,
            transaction_date=timezone.now(),
            raw={"demo": True},
        )
    )


def _move_to(order: Order, at: datetime) -> None:
    paid = at + timedelta(seconds=40)
    Order.objects.filter(pk=order.pk).update(created_at=at, updated_at=paid, paid_at=paid)
    if order.intent_id is None:
        return
    PaymentIntent.objects.filter(pk=order.intent_id).update(
        created_at=at, updated_at=paid, succeeded_at=paid, expires_at=at + timedelta(minutes=15)
    )
    BankNotification.objects.filter(intent_id=order.intent_id).update(
        received_at=paid, transaction_date=paid, processed_at=paid
    )
    LedgerEntry.objects.filter(intent_id=order.intent_id).update(created_at=paid)
