"""Orders → e-invoices. ``market`` orchestrates; ``einvoice`` knows nothing of orders.

- A paid order of a merchant whose active series issues automatically gets its invoice (a task
  queued after the payment commits; a periodic sweep catches any that were missed).
- The shopper's "Yêu cầu hóa đơn" (receipt or checkout): an invoice with their details; if one
  was already issued without a buyer, a replacement carrying the buyer's details.
- A refund on an invoiced order: an adjustment invoice lowering it by the refunded amount.

Each call is idempotent through the invoice's ``source_ref`` (the order number, plus "/R" for the
replacement and "/A<refund id>" for an adjustment).

Prices at the stall include any VAT. A sales invoice (form 2, household businesses) shows them as
they are. A VAT invoice (form 1) shows amounts before tax: the engine splits the paid amounts
(``prices_include_tax``, einvoice/rounding.py) so the invoice totals exactly what was paid.

An invoice is dated when it is issued (numbers follow time within a series); a late one (the
shopper asked days after the sale) names the sale's day ("Ngày bán", ``sold_on``).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from fractions import Fraction
from typing import Any

from django.db.models import Q
from django.utils import timezone

from core.errors import ApplicationError
from einvoice import rounding
from einvoice import services as einvoice
from einvoice.models import Invoice, Series
from einvoice.types import Buyer, LineInput

from .models import Order, OrderLine, OrderRefund

log = logging.getLogger(__name__)

SWEEP_DAYS = 3
PAYMENT_TEXT: dict[str, str] = {
    Order.PaymentMethod.CASH: "TM",
    Order.PaymentMethod.BANK_QR: "CK",
    Order.PaymentMethod.EWALLET: "CK",
}


def _this_year(series: Any) -> Series | None:
    """A series carries its year: prefer one of this year (an invoice is dated today)."""
    return einvoice.series_of_year(list(series), timezone.localdate().year)


def auto_series(order: Order) -> Series | None:
    return _this_year(
        Series.objects.filter(
            merchant_id=order.merchant_id, is_active=True, auto_issue=True
        ).order_by("form", "pk")
    )


def any_series(order: Order) -> Series | None:
    return _this_year(
        Series.objects.filter(merchant_id=order.merchant_id, is_active=True).order_by(
            "-auto_issue", "form", "pk"
        )
    )


def invoice_of(order: Order) -> Invoice | None:
    """The invoice that stands for the order now: the replacement if there is one."""
    return (
        Invoice.objects.filter(merchant_id=order.merchant_id)
        .filter(Q(source_ref=order.number) | Q(source_ref=f"{order.number}/R"))
        .order_by("-issued_at", "-pk")
        .first()
    )


def _rate(line: OrderLine | None) -> str:
    return line.tax_category if line and line.tax_category in einvoice.TAX_RATES else "KCT"


def _lines(order: Order) -> list[LineInput]:
    """The sale's lines as paid (tax-inclusive prices; the engine splits them for form 1)."""
    return [
        LineInput(
            name=line.name,
            unit=line.unit,
            quantity=line.quantity,
            unit_price=line.unit_price,
            amount=line.amount,
            tax_rate=_rate(line),
        )
        for line in order.lines.all()
    ]


def _sold_on(order: Order) -> date | None:
    return timezone.localtime(order.paid_at).date() if order.paid_at else None


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
        invoice = einvoice.invoice_issue(
            merchant=order.merchant,
            series=series,
            buyer=buyer,
            lines=_lines(order),
            payment_method=PAYMENT_TEXT.get(order.payment_method, "TM/CK"),
            sold_on=_sold_on(order),  # dated now; the sale's day is named when earlier
            source_ref=order.number,
            actor_label=f"order:{order.number}",
            prices_include_tax=True,
        )
        _refunds_adjust(order)
        return invoice
    if requested and buyer is not None and existing.source_ref == order.number:
        if existing.buyer_tax_code == buyer.tax_code and existing.buyer_name == buyer.name:
            return existing
        return einvoice.invoice_replace(
            original=existing,
            buyer=buyer,
            lines=_lines(order),
            reason="Bổ sung thông tin người mua theo yêu cầu",
            payment_method=existing.payment_method,
            sold_on=_sold_on(order),
            source_ref=f"{order.number}/R",
            actor_label=f"order:{order.number}",
            prices_include_tax=True,
        )
    return existing


def _refunds_adjust(order: Order) -> None:
    """The refunds that went through before the sale's invoice existed (a late request, or an
    invoice issued by one worker while another settled the refund and found no invoice to
    adjust): each adjusts it now. Read after the invoice committed, so a refund settled from here
    on finds the invoice itself; each adjustment is issued once (its source_ref)."""
    settled = order.refunds.filter(payment_refund__status=OrderRefund.Status.SUCCEEDED)
    for refund_id in settled.order_by("pk").values_list("pk", flat=True):
        refund_invoice_adjust(refund_id=refund_id)


def refund_invoice_adjust(*, refund_id: int) -> Invoice | None:
    """A succeeded refund on an invoiced order lowers the invoice by an adjustment."""
    refund = OrderRefund.objects.select_related("order", "line", "payment_refund").get(pk=refund_id)
    if refund.status != OrderRefund.Status.SUCCEEDED:
        return None
    invoice = invoice_of(refund.order)
    if invoice is None or invoice.status == Invoice.Status.CANCELED:
        return None
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
    return einvoice.invoice_adjust(
        original=invoice,
        lines=[
            *_adjustment_lines(refund, amount),
            LineInput(name=f"Lý do điều chỉnh: {refund.reason}"[:500], kind="note"),
        ],
        reason=f"Hoàn tiền cho khách: {refund.reason}"[:255],
        source_ref=f"{refund.order.number}/A{refund.pk}",
        actor_label=f"order:{refund.order.number}",
        prices_include_tax=True,
    )


def _adjustment_lines(refund: OrderRefund, amount: int) -> list[LineInput]:
    """The goods lines a refund lowers, named and measured as on the invoice (tax-inclusive).

    A line given back whole is lowered by its quantity at its price; a part of a line by its
    amount only. A refund of the sale without a line is shared among the sale's lines in
    proportion to their amounts (largest remainder, so the parts add up to the refund)."""
    if refund.line is not None:
        targets = [(refund.line, amount)]
    else:
        lines = [line for line in refund.order.lines.all() if line.amount > 0]
        total = sum(line.amount for line in lines)
        if not lines or total <= 0:
            return [LineInput(name="Điều chỉnh giảm tiền hàng", amount=-amount)]
        parts = rounding.allocate(amount, [Fraction(amount * line.amount, total) for line in lines])
        targets = [(line, part) for line, part in zip(lines, parts, strict=True) if part]
    result = []
    for line, part in targets:
        whole = part == line.amount
        result.append(
            LineInput(
                name=line.name,
                unit=line.unit,
                quantity=-line.quantity if whole else None,
                unit_price=line.unit_price if whole else None,
                amount=-part,
                tax_rate=_rate(line),
            )
        )
    return result


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
