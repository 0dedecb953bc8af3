"""Orders → e-invoices. ``market`` orchestrates; ``einvoice`` knows nothing of orders.

- A paid order of a merchant whose active series issues automatically gets its invoice from a
  batch, not a message of its own: the first sale paid in a burst queues one task
  (``invoices_due_kick``, ``INVOICE_BATCH_DELAY_MS`` later); it claims every due sale with
  ``SELECT … FOR UPDATE SKIP LOCKED`` (``INVOICE_BATCH_SIZE`` per transaction, merchants in one
  order so two workers never deadlock on series counters) and issues them in one transaction,
  then queues one PDF task and one transmission task for the batch. A worker that dies mid-batch
  rolls the whole batch back (no number used): the next task, or the minute's sweep, takes it.
- What a person waits for keeps its own message: the shopper's "Yêu cầu hóa đơn" on the receipt
  and a refund's adjustment (``market.issue_order_invoice``, ``market.adjust_invoice_for_refund``).
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
import math
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from core.errors import ApplicationError
from einvoice import rounding
from einvoice import services as einvoice
from einvoice.models import Invoice, Series
from einvoice.types import Buyer, LineInput

from ..models import Order, OrderLine, OrderRefund

log = logging.getLogger(__name__)

SWEEP_DAYS = 3
# The batch task looks at sales paid this recently (an index range on paid_at); older misses
# are the minute's sweep's (market.sync_orders, SWEEP_DAYS).
HOT_WINDOW = timedelta(minutes=5)
# One task queued for the burst (cache key, set while it waits to start).
QUEUED_KEY = "market:invoices-batch-queued"
# Sales the batch task found nothing to issue for, or failed: not retried by it for a minute
# (the sweep still does). A hint in the cache: {order id: epoch seconds until}.
RESTING_KEY = "market:invoices-batch-resting"
RESTING_SECONDS = 60
# A batch task stops claiming after this long and queues the next (other tasks get a turn).
TASK_BUDGET_SECONDS = 20.0
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


def _series_to_use(order: Order, requested: bool, series: list[Series]) -> Series | None:
    """Of the merchant's active series (ordered as ``any_series`` orders them): the automatic
    one of this year, or for a request any one; None when nothing is to be issued."""
    auto = _this_year([s for s in series if s.auto_issue])
    chosen = auto or (_this_year(series) if requested else None)
    if chosen is None:
        return None
    # Automatic invoicing starts when the series is registered, not for earlier sales.
    if not requested and order.paid_at and order.paid_at < chosen.created_at:
        return None
    return chosen


def _active_series(merchant_ids: set[int]) -> dict[int, list[Series]]:
    found: dict[int, list[Series]] = {m: [] for m in merchant_ids}
    rows = Series.objects.filter(merchant_id__in=merchant_ids, is_active=True).order_by(
        "merchant_id", "-auto_issue", "form", "pk"
    )
    for series in rows:
        found[series.merchant_id].append(series)
    return found


def _issue_original(order: Order, series: Series) -> Invoice:
    buyer = _buyer(order) if order.invoice_requested_at else None
    return einvoice.invoice_issue(
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


def order_invoice_issue(*, order_id: int, requested: bool = False) -> Invoice | None:
    """Issue (or, for a late buyer request, replace) the order's invoice. Returns None when
    there is nothing to do (not paid, no series, no automatic invoicing and nobody asked)."""
    order = Order.objects.select_related("merchant").get(pk=order_id)
    if not order.is_paid:
        return None
    # Asked for at checkout (online) before the payment: served when the payment arrives.
    requested = requested or order.invoice_requested_at is not None
    series = _series_to_use(
        order, requested, _active_series({order.merchant_id})[order.merchant_id]
    )
    if series is None:
        return None
    existing = invoice_of(order)
    buyer = _buyer(order) if order.invoice_requested_at else None
    if existing is None:
        invoice = _issue_original(order, series)
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


# --------------------------------------------------------------------------------------------
# Batches: automatic invoices of paid sales


def invoices_due_kick() -> None:
    """After a sale's payment commits (``order_paid``): make sure one batch task will run soon.

    The first paid sale of a burst queues it, ``INVOICE_BATCH_DELAY_MS`` later; the sales paid
    until it starts find it queued (a cache key) and send nothing. The task deletes the key
    before it reads what is due, so a sale committed after that read queues the next task. The
    key expires on its own if its message is lost; the minute's sweep is the net under both."""
    from ..tasks import issue_due_invoices

    delay = settings.INVOICE_BATCH_DELAY_MS / 1000
    if not cache.add(QUEUED_KEY, 1, timeout=math.ceil(delay) + 10):
        return
    try:
        issue_due_invoices.apply_async(countdown=delay)
    except Exception:
        cache.delete(QUEUED_KEY)  # not queued: the next sale tries again
        raise


def _due(since: datetime) -> QuerySet[Order]:
    """Paid sales without their invoice: of a merchant with an automatic series registered by
    the sale's payment, or asked for (at checkout, or on the receipt)."""
    auto = Series.objects.filter(
        merchant_id=OuterRef("merchant_id"),
        is_active=True,
        auto_issue=True,
        created_at__lte=OuterRef("paid_at"),
    )
    invoiced = Invoice.objects.filter(
        merchant_id=OuterRef("merchant_id"), source_ref=OuterRef("number")
    )
    return Order.objects.filter(
        Q(Exists(auto)) | Q(invoice_requested_at__isnull=False),
        ~Exists(invoiced),
        status__in=[Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED],
        paid_at__gte=since,
    )


@dataclass
class Batch:
    claimed: list[int] = field(default_factory=list)  # order ids taken in this batch
    invoices: list[int] = field(default_factory=list)  # invoices issued (committed)
    idle: list[int] = field(default_factory=list)  # orders with nothing issued (or a failure)


def invoices_issue_batch(
    *, since: datetime, size: int | None = None, skip: set[int] | frozenset[int] = frozenset()
) -> Batch:
    """Claim up to ``size`` due sales paid since ``since`` (not ``skip``) and issue their
    invoices in one transaction.

    The claim is ``SELECT … FOR UPDATE SKIP LOCKED`` on the orders: a sale another worker holds
    is left to it, so two batches never take one sale (and ``source_ref`` is unique anyway).
    Sales are taken in merchant order, so series counters are locked in one order by every
    batch (no deadlock). One invoice failing is logged and rolled back to its savepoint; the
    others go on. A worker dying mid-batch rolls the whole batch back: no number is used, and
    the sales are due again for the next task or sweep. After commit: one PDF task and one
    transmission task for the batch; refunds settled before the invoices existed adjust them."""
    size = size or settings.INVOICE_BATCH_SIZE
    batch = Batch()
    with einvoice.after_issue_deferred() as issued, transaction.atomic():
        orders = list(
            _due(since)
            .exclude(pk__in=skip)
            .select_related("merchant")
            .prefetch_related("lines")
            .select_for_update(skip_locked=True, of=("self",))
            .order_by("merchant_id", "pk")[:size]
        )
        series = _active_series({o.merchant_id for o in orders})
        for order in orders:
            batch.claimed.append(order.pk)
            invoice = None
            try:
                with transaction.atomic():
                    requested = order.invoice_requested_at is not None
                    chosen = _series_to_use(order, requested, series[order.merchant_id])
                    if chosen is not None:
                        invoice = _issue_original(order, chosen)
            except ApplicationError as exc:
                log.warning("e-invoice not issued for order %s: %s", order.pk, exc.message)
            except Exception:
                log.exception("e-invoice failed for order %s", order.pk)
            if invoice is None:
                batch.idle.append(order.pk)
        transaction.on_commit(lambda: einvoice.after_issue_many(issued))
    batch.invoices = list(issued)
    if batch.invoices:
        done = [pk for pk in batch.claimed if pk not in batch.idle]
        refunded = OrderRefund.objects.filter(
            order_id__in=done, payment_refund__status=OrderRefund.Status.SUCCEEDED
        )
        for refund_id in refunded.order_by("pk").values_list("pk", flat=True):
            safely(refund_invoice_adjust, refund_id=refund_id)
    return batch


def _resting(now: float) -> dict[int, float]:
    found = cache.get(RESTING_KEY) or {}
    return {pk: until for pk, until in found.items() if until > now}


def invoices_issue_burst(*, budget: float = TASK_BUDGET_SECONDS) -> int:
    """The batch task (``market.issue_due_invoices``): batches until nothing recent is due, or
    ``budget`` seconds have gone (then the next task is queued). Returns the invoices issued."""
    cache.delete(QUEUED_KEY)  # before reading: a sale committed from now on queues the next
    started = time.monotonic()
    resting = _resting(time.time())
    tried: set[int] = set(resting)
    issued = 0
    try:
        while True:
            batch = invoices_issue_batch(since=timezone.now() - HOT_WINDOW, skip=tried)
            issued += len(batch.invoices)
            tried.update(batch.claimed)
            until = time.time() + RESTING_SECONDS
            resting.update(dict.fromkeys(batch.idle, until))
            if len(batch.claimed) < settings.INVOICE_BATCH_SIZE:
                return issued
            if time.monotonic() - started > budget:
                invoices_due_kick()
                return issued
    finally:
        if resting or cache.get(RESTING_KEY):
            cache.set(RESTING_KEY, _resting(time.time()) | resting, timeout=RESTING_SECONDS)


def invoices_issue_due(*, limit: int = 200) -> int:
    """The sweep (market.sync_orders, every minute): due sales of the last SWEEP_DAYS days, in
    batches as above, at most ``limit`` looked at per run. Returns how many were issued."""
    since = timezone.now() - timedelta(days=SWEEP_DAYS)
    tried: set[int] = set()
    issued = 0
    while len(tried) < limit:
        size = min(settings.INVOICE_BATCH_SIZE, limit - len(tried))
        batch = invoices_issue_batch(since=since, size=size, skip=tried)
        issued += len(batch.invoices)
        tried.update(batch.claimed)
        if len(batch.claimed) < size:
            break
    return issued
