"""Orders → e-invoices. ``market`` orchestrates; ``einvoice`` knows nothing of orders.

- A paid order of a merchant whose active series issues automatically gets its invoice (a task
  queued after the payment commits; a periodic sweep catches any that were missed).
- The shopper's "Yêu cầu hóa đơn" (receipt or checkout): an invoice with their details; if one
  was already issued without a buyer, a replacement carrying the buyer's details.
- A refund on an invoiced order: an adjustment invoice lowering it by the refunded amount.

Each call is idempotent through the invoice's ``source_ref`` (the order number, plus "/R" for the
replacement and "/A<refund id>" for an adjustment).

Prices at the stall include any VAT. A sales invoice (form 2, household businesses) shows them as
they are. A VAT invoice (form 1) needs prices before tax: each unit price is divided by (1 + rate)
and rounded, so its total may differ from what was paid by a few đồng (noted on the trader's page).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone

from core.errors import ApplicationError
from einvoice import services as einvoice
from einvoice.models import Invoice, Series
from einvoice.types import Buyer, LineInput

from .models import Order, OrderRefund

log = logging.getLogger(__name__)

RATES = {"5%": 5, "8%": 8, "10%": 10}
SWEEP_DAYS = 3
PAYMENT_TEXT: dict[str, str] = {
    Order.PaymentMethod.CASH: "TM",
    Order.PaymentMethod.BANK_QR: "CK",
    Order.PaymentMethod.EWALLET: "CK",
}


def auto_series(order: Order) -> Series | None:
    return (
        Series.objects.filter(merchant_id=order.merchant_id, is_active=True, auto_issue=True)
        .order_by("form", "pk")
        .first()
    )


def any_series(order: Order) -> Series | None:
    return (
        Series.objects.filter(merchant_id=order.merchant_id, is_active=True)
        .order_by("-auto_issue", "form", "pk")
        .first()
    )


def invoice_of(order: Order) -> Invoice | None:
    """The invoice that stands for the order now: the replacement if there is one."""
    return (
        Invoice.objects.filter(merchant_id=order.merchant_id)
        .filter(Q(source_ref=order.number) | Q(source_ref=f"{order.number}/R"))
        .order_by("-issued_at", "-pk")
        .first()
    )


def _lines(order: Order, form: str) -> list[LineInput]:
    lines = []
    for line in order.lines.all():
        rate = line.tax_category if line.tax_category in einvoice.TAX_RATES else "KCT"
        price = line.unit_price
        if form == "1" and rate in RATES:
            price = int(
                (Decimal(price) * 100 / (100 + RATES[rate])).quantize(Decimal(1), ROUND_HALF_UP)
            )
        amount = int((Decimal(price) * line.quantity).quantize(Decimal(1), ROUND_HALF_UP))
        lines.append(
            LineInput(
                name=line.name,
                unit=line.unit,
                quantity=line.quantity,
                unit_price=price,
                amount=amount,
                tax_rate=rate,
            )
        )
    return lines


def _buyer(order: Order) -> Buyer | None:
    if not (order.buyer_name or order.buyer_tax_code or order.buyer_citizen_id):
        return None
    return Buyer(
        name=order.buyer_name,
        tax_code=order.buyer_tax_code or order.buyer_citizen_id,
        email=order.buyer_email,
        address=order.buyer_address,
        phone=order.buyer_phone if order.invoice_requested_at else "",
    )


def order_invoice_issue(*, order_id: int, requested: bool = False) -> Invoice | None:
    """Issue (or, for a late buyer request, replace) the order's invoice. Returns None when
    there is nothing to do (not paid, no series, no automatic invoicing and nobody asked)."""
    order = Order.objects.select_related("merchant").get(pk=order_id)
    if not order.is_paid:
        return None
    # Asked for at checkout (online) before the payment: served when the payment arrives.
    requested = requested or order.invoice_requested_at is not None
    series = auto_series(order) or (any_series(order) if requested else None)
    if series is None:
        return None
    # Automatic invoicing starts when the series is registered, not for earlier sales.
    if not requested and order.paid_at and order.paid_at < series.created_at:
        return None
    existing = invoice_of(order)
    buyer = _buyer(order) if order.invoice_requested_at else None
    if existing is None:
        return einvoice.invoice_issue(
            merchant=order.merchant,
            series=series,
            buyer=buyer,
            lines=_lines(order, series.form),
            payment_method=PAYMENT_TEXT.get(order.payment_method, "TM/CK"),
            issued_at=order.paid_at,
            source_ref=order.number,
            actor_label=f"order:{order.number}",
        )
    if requested and buyer is not None and existing.source_ref == order.number:
        if existing.buyer_tax_code == buyer.tax_code and existing.buyer_name == buyer.name:
            return existing
        return einvoice.invoice_replace(
            original=existing,
            buyer=buyer,
            lines=_lines(order, existing.form),
            reason="Bổ sung thông tin người mua theo yêu cầu",
            payment_method=existing.payment_method,
            source_ref=f"{order.number}/R",
            actor_label=f"order:{order.number}",
        )
    return existing


def refund_invoice_adjust(*, refund_id: int) -> Invoice | None:
    """A succeeded refund on an invoiced order lowers the invoice by an adjustment."""
    refund = OrderRefund.objects.select_related("order", "line", "payment_refund").get(pk=refund_id)
    if refund.status != OrderRefund.Status.SUCCEEDED:
        return None
    invoice = invoice_of(refund.order)
    if invoice is None or invoice.status == Invoice.Status.CANCELED:
        return None
    line = refund.line or refund.order.lines.first()
    rate = line.tax_category if line and line.tax_category in einvoice.TAX_RATES else "KCT"
    # Only what was invoiced is adjusted: giving back an overpayment (money beyond the sale's
    # total, never on the invoice) lowers nothing.
    before = sum(
        r.amount
        for r in refund.order.refunds.filter(
            payment_refund__status=OrderRefund.Status.SUCCEEDED, pk__lt=refund.pk
        )
    )
    amount = min(refund.amount, max(0, refund.order.total - before))
    if amount <= 0:
        return None
    if invoice.form == "1" and rate in RATES:
        amount = int(
            (Decimal(amount) * 100 / (100 + RATES[rate])).quantize(Decimal(1), ROUND_HALF_UP)
        )
    return einvoice.invoice_adjust(
        original=invoice,
        lines=[
            LineInput(
                name=f"Điều chỉnh giảm: {refund.reason}"[:200],
                quantity=Decimal(-1),
                unit_price=amount,
                amount=-amount,
                tax_rate=rate,
            )
        ],
        reason=f"Hoàn tiền cho khách: {refund.reason}"[:255],
        source_ref=f"{refund.order.number}/A{refund.pk}",
        actor_label=f"order:{refund.order.number}",
    )


def safely(func: Any, **kwargs: Any) -> Invoice | None:
    """For background paths: an invoice that cannot be issued now is logged, not raised; the
    trader's invoice list and the periodic sweep show and retry it."""
    try:
        return func(**kwargs)
    except ApplicationError as exc:
        log.warning("e-invoice not issued for %s: %s", kwargs, exc.message)
    except Exception:
        log.exception("e-invoice failed for %s", kwargs)
    return None


def invoices_issue_due(*, limit: int = 200) -> int:
    """The sweep: paid orders of auto-invoicing merchants without an invoice, and buyers'
    requests not yet served. Returns how many invoices were issued."""
    auto_merchants = Series.objects.filter(is_active=True, auto_issue=True).values("merchant_id")
    invoiced = Invoice.objects.values("source_ref")
    due = (
        Order.objects.filter(
            Q(merchant_id__in=auto_merchants) | Q(invoice_requested_at__isnull=False),
            status__in=[Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED],
            # Misses are recent: older sales were handled (or predate automatic invoicing).
            paid_at__gte=timezone.now() - timedelta(days=SWEEP_DAYS),
        )
        .exclude(number__in=invoiced)
        .values_list("pk", "invoice_requested_at")[:limit]
    )
    issued = 0
    for order_id, requested_at in due:
        if safely(order_invoice_issue, order_id=order_id, requested=requested_at is not None):
            issued += 1
    return issued
