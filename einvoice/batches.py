"""Cash-register invoices (hóa đơn khởi tạo từ máy tính tiền) go to the tax gateway in batches.

They are not sent one by one: the end-of-day batch (:func:`transmit_cash_register_batch`, on
the beat) sends every one issued up to the end of the day and not yet sent, one batch per issue
date and ``TAXGATEWAY_BATCH_SIZE`` invoices; ``transmission.transmit_due`` sends due retries the
same way (:func:`cash_register_retries`). Each invoice of a batch goes through the steps of
:mod:`einvoice.attempts` (claim, look up, apply the answer, record the error), so a batch is as
safe to run twice as a single send.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from . import gateway
from .attempts import S, _apply, _claim, _ensure_registered, _error, _now
from .models import Invoice

__all__ = ["cash_register_retries", "send_batch", "transmit_cash_register_batch"]


def send_batch(invoice_ids: list[int], day: date, now: datetime, *, claimed: bool = False) -> str:
    """Send these cash-register invoices in one batch (claiming each first unless done)."""
    todo: list[tuple[Invoice, bool]] = []
    if claimed:
        invoice = Invoice.objects.get(pk=invoice_ids[0])
        todo.append((invoice, True))
    else:
        for invoice_id in invoice_ids:
            claim = _claim(invoice_id, now, force=False)
            if not isinstance(claim, str) and claim[1] == "submit":
                todo.append((claim[0], claim[2]))
    if not todo:
        return "not_due"
    client = gateway.gateway_client()
    items: list[Invoice] = []
    try:
        for invoice in {(i.seller_tax_code, i.form, i.series_symbol): i for i, _ in todo}.values():
            _ensure_registered(invoice)
    except gateway.GatewayError as exc:
        for invoice, _ in todo:
            _error(invoice.pk, exc)
        return "error"
    for invoice, may_have_reached in todo:
        if may_have_reached:
            try:
                _apply(invoice.pk, client.get(invoice.uuid), now)
                continue
            except gateway.GatewayNotFound:
                pass
            except gateway.GatewayError as exc:
                _error(invoice.pk, exc)
                continue
        items.append(invoice)
    if not items:
        return "found"
    try:
        result = client.submit_batch([(i.uuid, i.xml) for i in items], day=day)
    except gateway.GatewayError as exc:
        for invoice in items:
            _error(invoice.pk, exc)
        return "error"
    by_uuid = {str(i.uuid): i.pk for i in items}
    for item in result.items:
        pk = by_uuid.get(item.uuid)
        if pk is None:
            continue
        if item.invoice is not None:
            _apply(pk, item.invoice, now)
        elif item.error is not None:
            _error(pk, item.error)
    return "sent"


def _cash_register_pending(now: datetime) -> Any:
    return Invoice.objects.filter(is_cash_register=True).filter(
        Q(status=S.ISSUED) | Q(status=S.CANCELED, sent_at__isnull=True, answered_at__isnull=True)
    )


def transmit_cash_register_batch(
    *, day: date | None = None, now: datetime | None = None
) -> dict[str, int]:
    """The end-of-day batch: every cash-register invoice issued up to the end of ``day``
    (default: yesterday, local time) and not yet sent, one batch per issue date and
    ``TAXGATEWAY_BATCH_SIZE`` invoices. Retries of earlier batches are included when due."""
    now = _now(now)
    day = day or (timezone.localtime(now).date() - timedelta(days=1))
    end = timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))
    rows = (
        _cash_register_pending(now)
        .filter(issued_at__lt=end)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by("series_id", "year", "number")
        .values_list("id", "issued_at")
    )
    return _batches(rows, now)


def _batches(rows: Iterable[tuple[int, datetime]], now: datetime) -> dict[str, int]:
    by_day: dict[date, list[int]] = defaultdict(list)
    for invoice_id, issued_at in rows:
        by_day[timezone.localtime(issued_at).date()].append(invoice_id)
    size = max(1, int(settings.TAXGATEWAY_BATCH_SIZE))
    counts: dict[str, int] = defaultdict(int)
    for issued_on, ids in sorted(by_day.items()):
        for start in range(0, len(ids), size):
            counts[send_batch(ids[start : start + size], issued_on, now)] += 1
    return dict(counts)


def cash_register_retries(now: datetime, limit: int) -> dict[str, int]:
    """Send the cash-register invoices whose retry is due, as batches (outcome → batches)."""
    retries = (
        _cash_register_pending(now)
        .filter(attempts__gt=0, next_attempt_at__lte=now)
        .order_by("series_id", "year", "number")
        .values_list("id", "issued_at")[:limit]
    )
    return _batches(list(retries), now)
