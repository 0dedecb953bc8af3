"""Transmission of issued invoices to the tax-authority gateway (cổng cơ quan thuế).

Every invoice reaches a final answer (accepted with the authority's code, or rejected with
reasons) despite gateway errors, timeouts and worker crashes, and is recorded by the gateway once
(ARCHITECTURE.md invariant 4). How:

* **The gateway deduplicates by the invoice's UUID**, and we never submit blindly: an invoice that
  may already have reached the gateway (any earlier attempt, even one whose worker died right
  after the HTTP call) is first looked up with ``GET``; it is submitted only when the gateway
  answers 404.
* **An attempt is claimed before the HTTP call**, in its own committed transaction under the row
  lock: ``attempts`` + 1, an ``transmit_attempt`` event, and ``next_attempt_at`` pushed to the
  backoff time (``TAXGATEWAY_RETRY_BASE_SECONDS`` × 2^(n−1), capped at
  ``TAXGATEWAY_RETRY_CAP_SECONDS``). If the worker dies, the retry sweep picks the invoice up when
  that time comes. No HTTP call happens inside a transaction or under a lock.
* **Retries are scheduled, never slept**: the beat runs :func:`transmit_due` and
  :func:`poll_answers`. In eager mode (no Redis) the issuing request makes at most one HTTP call
  after its commit. After ``TAXGATEWAY_MAX_ATTEMPTS`` the invoice is ``failed`` (visible) with a
  staff alert (ERROR log, audit row, mail to the admins).
* Cash-register invoices (máy tính tiền) are not sent one by one: they go in the end-of-day batch
  (:func:`transmit_cash_register_batch`).
* A canceled invoice keeps status ``canceled``; its original is still transmitted (numbers must
  stay consecutive at the gateway), then the cancellation is sent once the gateway has accepted
  the original.

Functions take ``now`` so tests can move time; they default to ``timezone.now()``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import audit_record
from core.locking import lock_row

from . import gateway
from .models import Invoice, InvoiceEvent, Series
from .series import series_set_register_prefix

log = logging.getLogger(__name__)
S = Invoice.Status
ACTOR = "gateway:tax"

# InvoiceEvent kinds written here (besides sent/accepted/rejected/failed of InvoiceEvent.Kind).
EV_ATTEMPT = "transmit_attempt"
EV_ERROR = "transmit_error"
EV_CANCEL_ATTEMPT = "cancel_attempt"
EV_CANCEL_SENT = "cancel_sent"
EV_CANCEL_SKIPPED = "cancel_skipped"
EV_RETRY = "transmit_retry"
EV_DOCUMENT_INVALID = "authority_document_invalid"
_CANCEL_DONE = (EV_CANCEL_SENT, EV_CANCEL_SKIPPED, InvoiceEvent.Kind.FAILED)

# Called right after a successful HTTP submit, before the result is stored (tests pass one
# that raises, to play a worker killed at the worst moment).
AfterSend = Callable[[Invoice], None]


def _now(now: datetime | None) -> datetime:
    return now or timezone.now()


def retry_delay(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th attempt: base × 2^(attempts−1), capped."""
    base = float(settings.TAXGATEWAY_RETRY_BASE_SECONDS)
    cap = float(settings.TAXGATEWAY_RETRY_CAP_SECONDS)
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def _event(invoice: Invoice, kind: str, payload: dict[str, Any] | None = None) -> None:
    InvoiceEvent.objects.create(
        invoice=invoice, kind=kind, payload=payload or {}, actor_label=ACTOR
    )


def _save(invoice: Invoice, *fields: str) -> None:
    invoice.save(update_fields=list(fields))


# --------------------------------------------------------------------------------------------
# Scheduling (called by the engine)


def schedule_transmission(invoice: Invoice) -> None:
    """Queue the first transmission of a just-issued invoice, after the issuing transaction
    commits. Cash-register invoices wait for the end-of-day batch. Safe to call twice."""
    if invoice.is_cash_register:
        return
    invoice_id = invoice.pk

    def _send() -> None:
        from .tasks import transmit_invoice_task

        try:
            transmit_invoice_task.delay(invoice_id)
        except Exception:  # eager mode: never fail the issuing request; the sweep retries
            log.exception("e-invoice %s: first transmission failed; the sweep retries", invoice_id)

    transaction.on_commit(_send)


def on_invoice_issued(sender: Any, invoice_id: int, **kwargs: Any) -> None:
    """Receiver of ``einvoice.signals.invoice_issued`` (sent after commit)."""
    invoice = Invoice.objects.only("id", "is_cash_register").get(pk=invoice_id)
    schedule_transmission(invoice)  # outside any transaction: on_commit runs at once


def on_invoices_issued(sender: Any, invoice_ids: list[int], **kwargs: Any) -> None:
    """Receiver of ``einvoice.signals.invoices_issued`` (a batch, sent after commit): one task
    transmits them all. Cash-register invoices wait for the end-of-day batch."""
    ids = list(
        Invoice.objects.filter(pk__in=invoice_ids, is_cash_register=False)
        .order_by("series_id", "year", "number")
        .values_list("id", flat=True)
    )
    if not ids:
        return
    from .tasks import transmit_invoices_task

    try:
        transmit_invoices_task.delay(ids)
    except Exception:  # eager mode: never fail the issuing batch; the sweep retries
        log.exception("e-invoices %s: first transmission failed; the sweep retries", ids)


# --------------------------------------------------------------------------------------------
# Registration


_registered: set[tuple[str, str, str, str]] = set()


def series_register(*, series: Series) -> str:
    """Register ``series`` (its symbol carries its year) with the gateway; the prefix it answers.

    Idempotent at the gateway. A cash-register series records the prefix with
    ``series_set_register_prefix`` (or brings the one it already has). Remembered per process.
    """
    symbol = series.symbol
    tax_code = series.merchant.tax_code
    registration = gateway.gateway_client().register_series(
        tax_code=tax_code,
        form=series.form,
        series=symbol,
        register_prefix=series.register_prefix if series.is_cash_register else None,
    )
    if series.is_cash_register and series.register_prefix != registration.register_prefix:
        series_set_register_prefix(
            series=series, prefix=registration.register_prefix, actor_label=ACTOR
        )
    _registered.add((settings.TAXGATEWAY_URL, tax_code, series.form, symbol))
    return registration.register_prefix


def _ensure_registered(invoice: Invoice) -> None:
    key = (
        settings.TAXGATEWAY_URL,
        invoice.seller_tax_code,
        invoice.form,
        invoice.series_symbol,
    )
    if key not in _registered:
        series_register(series=invoice.series)


# --------------------------------------------------------------------------------------------
# One invoice


def _phase(invoice: Invoice) -> str:
    """What the invoice needs: submit | await | cancel | done."""
    if invoice.status == S.ISSUED:
        return "submit"
    if invoice.status == S.SENT:
        return "await"
    if invoice.status == S.CANCELED:
        if invoice.answered_at is None:
            return "submit" if invoice.sent_at is None else "await"
        if invoice.events.filter(kind__in=_CANCEL_DONE).exists():
            return "done"
        return "cancel" if not invoice.rejection_reasons else "cancel_skip"
    return "done"


def _alert(invoice: Invoice, reason: str) -> None:
    """Tell staff: ERROR log, audit row, a mail to the admins (after commit)."""
    log.error(
        "e-invoice %s (%s, uuid %s) transmission failed: %s",
        invoice.pk,
        invoice.full_symbol + f" số {invoice.number}",
        invoice.uuid,
        reason,
    )
    audit_record(
        actor=None,
        actor_label=ACTOR,
        action="einvoice.transmission_failed",
        target=invoice,
        reason=reason[:255],
        data={"uuid": str(invoice.uuid), "attempts": invoice.attempts},
    )
    subject = f"E-invoice {invoice.full_symbol} số {invoice.number} not transmitted"
    body = f"Invoice {invoice.pk} ({invoice.uuid}): {reason}"
    transaction.on_commit(lambda: mail_admins(subject, body, fail_silently=True))


def _fail(invoice: Invoice, reason: str) -> None:
    """Give up (visible): status failed (a canceled invoice stays canceled) + alert."""
    if invoice.status != S.CANCELED:
        invoice.status = S.FAILED
    invoice.next_attempt_at = None
    invoice.last_error = reason[:2000]
    _save(invoice, "status", "next_attempt_at", "last_error")
    _event(
        invoice, InvoiceEvent.Kind.FAILED, {"reason": reason[:500], "attempts": invoice.attempts}
    )
    _alert(invoice, reason)


def _claim(invoice_id: int, now: datetime, *, force: bool) -> tuple[Invoice, str, bool] | str:
    """Under the row lock: decide, and record the attempt before any HTTP call.

    Returns (invoice, phase, may_have_reached) to go on, or a word saying why not.
    """
    with transaction.atomic(durable=True):
        invoice = lock_row(Invoice, invoice_id)
        phase = _phase(invoice)
        if phase in ("done", "await"):
            return phase
        if phase == "cancel_skip":
            invoice.next_attempt_at = None
            _save(invoice, "next_attempt_at")
            _event(invoice, EV_CANCEL_SKIPPED, {"why": "rejected by the authority"})
            return "done"
        if not force and invoice.next_attempt_at is not None and invoice.next_attempt_at > now:
            return "not_due"
        if phase == "cancel":
            tries = invoice.events.filter(kind=EV_CANCEL_ATTEMPT).count()
            if tries >= settings.TAXGATEWAY_MAX_ATTEMPTS:
                _fail(invoice, f"cancellation not transmitted after {tries} attempts")
                return "failed"
            invoice.next_attempt_at = now + retry_delay(tries + 1)
            _save(invoice, "next_attempt_at")
            _event(invoice, EV_CANCEL_ATTEMPT, {"attempt": tries + 1})
            return invoice, phase, True
        if invoice.attempts >= settings.TAXGATEWAY_MAX_ATTEMPTS:
            _fail(invoice, f"not transmitted after {invoice.attempts} attempts")
            return "failed"
        may_have_reached = (
            invoice.sent_at is not None or invoice.events.filter(kind=EV_ATTEMPT).exists()
        )
        invoice.attempts += 1
        invoice.next_attempt_at = now + retry_delay(invoice.attempts)
        _save(invoice, "attempts", "next_attempt_at")
        _event(invoice, EV_ATTEMPT, {"attempt": invoice.attempts, "query_first": may_have_reached})
        return invoice, phase, may_have_reached


def _apply(invoice_id: int, remote: gateway.GatewayInvoice, now: datetime) -> str:
    """Store what the gateway says about the invoice (idempotent)."""
    with transaction.atomic(durable=True):
        return _apply_locked(lock_row(Invoice, invoice_id), remote, now)


def _apply_locked(invoice: Invoice, remote: gateway.GatewayInvoice, now: datetime) -> str:
    if invoice.answered_at is not None:
        return "answered"  # an earlier call stored the answer already
    fields: set[str] = set()
    canceled = invoice.status == S.CANCELED
    if invoice.sent_at is None:
        invoice.sent_at = now
        fields.add("sent_at")
        _event(invoice, InvoiceEvent.Kind.SENT, {"duplicate": remote.duplicate})
    if invoice.last_error:
        invoice.last_error = ""
        fields.add("last_error")
    if remote.status == "accepted":
        invoice.authority_code = remote.authority_code[:34]
        invoice.answered_at = remote.answered_at or now
        invoice.status = S.CANCELED if canceled else S.ACCEPTED
        invoice.next_attempt_at = now if canceled else None  # a cancellation is to be sent
        fields |= {"authority_code", "answered_at", "status", "next_attempt_at"}
        _event(invoice, InvoiceEvent.Kind.ACCEPTED, {"authority_code": invoice.authority_code})
        if invoice.needs_authority_code:
            fields |= _store_authority_document(invoice, remote)
        outcome = "accepted"
    elif remote.status == "rejected":
        invoice.rejection_reasons = [r.as_dict() for r in remote.reasons] or [
            {"code": "unknown", "message": "rejected without reasons"}
        ]
        invoice.answered_at = remote.answered_at or now
        invoice.status = S.CANCELED if canceled else S.REJECTED
        invoice.next_attempt_at = None
        fields |= {"rejection_reasons", "answered_at", "status", "next_attempt_at"}
        _event(invoice, InvoiceEvent.Kind.REJECTED, {"reasons": invoice.rejection_reasons})
        log.warning(
            "e-invoice %s rejected by the tax authority: %s",
            invoice.pk,
            "; ".join(f"{r['code']}: {r['message']}" for r in invoice.rejection_reasons),
        )
        audit_record(
            actor=None,
            actor_label=ACTOR,
            action="einvoice.rejected",
            target=invoice,
            data={"reasons": invoice.rejection_reasons},
        )
        outcome = "rejected"
    else:
        if not canceled and invoice.status != S.SENT:
            invoice.status = S.SENT
            fields.add("status")
        invoice.next_attempt_at = None  # the poller asks for the answer
        fields.add("next_attempt_at")
        outcome = "sent"
    if fields:
        _save(invoice, *sorted(fields))
    return outcome


def _store_authority_document(invoice: Invoice, remote: gateway.GatewayInvoice) -> set[str]:
    """Keep the authority's document of a coded invoice (it becomes the public XML) and render
    the PDF, which can now show the code. A document that is not our invoice is not kept: the
    invoice then has no public XML, and staff are told."""
    from .signing import authority_document_problem

    problem = authority_document_problem(
        ours=invoice.xml, theirs=remote.document, code=invoice.authority_code
    )
    invoice_id = invoice.pk

    def _render() -> None:
        from .pdf_tasks import render_invoice_pdf

        try:
            render_invoice_pdf.delay(invoice_id)
        except Exception:  # eager mode: the PDF is rendered on first download instead
            log.exception("e-invoice %s: PDF rendering after the code failed", invoice_id)

    transaction.on_commit(_render)
    if problem:
        _event(invoice, EV_DOCUMENT_INVALID, {"problem": problem[:500]})
        _alert(invoice, f"the authority's document cannot be kept: {problem}")
        return set()
    invoice.authority_xml = remote.document
    return {"authority_xml"}


def _error(invoice_id: int, exc: gateway.GatewayError, *, cancel: bool = False) -> str:
    """Store a failed attempt; the claim already set the retry time."""
    with transaction.atomic(durable=True):
        invoice = lock_row(Invoice, invoice_id)
        message = str(exc)[:2000]
        invoice.last_error = message
        _save(invoice, "last_error")
        _event(
            invoice,
            EV_ERROR,
            {
                "error": message[:500],
                "status": exc.http_status,
                "code": exc.code,
                "cancel": cancel,
                "may_have_reached": getattr(exc, "may_have_reached", False),
            },
        )
        if isinstance(exc, gateway.GatewayRejected) and exc.http_status not in (401, 403):
            # The gateway refused the request itself: sending it again will not help.
            _fail(invoice, f"refused by the gateway: {message}")
            return "failed"
        if not cancel and invoice.attempts >= settings.TAXGATEWAY_MAX_ATTEMPTS:
            _fail(invoice, f"not transmitted after {invoice.attempts} attempts: {message}")
            return "failed"
        log.info(
            "e-invoice %s: gateway error, retry at %s: %s", invoice.pk, invoice.next_attempt_at, exc
        )
        return "error"


def transmit_invoice(
    *,
    invoice_id: int,
    now: datetime | None = None,
    force: bool = False,
    after_send: AfterSend | None = None,
) -> str:
    """One transmission step for one invoice; safe to run twice and concurrently.

    Returns what happened: ``sent`` | ``accepted`` | ``rejected`` (answer stored), ``found``
    (already at the gateway), ``canceled`` (cancellation sent), ``error`` (retry scheduled),
    ``failed``, ``not_due``, ``await``, ``done``, ``cash_register`` (waits for the batch).
    ``force`` ignores ``next_attempt_at``.
    """
    now = _now(now)
    claimed = _claim(invoice_id, now, force=force)
    if isinstance(claimed, str):
        return claimed
    invoice, phase, may_have_reached = claimed
    client = gateway.gateway_client()
    if phase == "cancel":
        return _send_cancel(invoice, client, now)
    if invoice.is_cash_register:
        return _send_batch(
            [invoice.pk], timezone.localtime(invoice.issued_at).date(), now, claimed=True
        )
    try:
        _ensure_registered(invoice)
        remote = None
        if may_have_reached:
            try:
                remote = client.get(invoice.uuid)
            except gateway.GatewayNotFound:
                remote = None
        found = remote is not None
        if remote is None:
            remote = client.submit(invoice.uuid, invoice.xml)
            if after_send is not None:
                after_send(invoice)
    except gateway.GatewayError as exc:
        return _error(invoice.pk, exc)
    outcome = _apply(invoice.pk, remote, now)
    return "found" if found and outcome == "sent" else outcome


def _send_cancel(invoice: Invoice, client: gateway.TaxGatewayClient, now: datetime) -> str:
    event = invoice.events.filter(kind=InvoiceEvent.Kind.CANCELED).order_by("-id").first()
    reason = str((event.payload or {}).get("reason") or "Hủy hóa đơn") if event else "Hủy hóa đơn"
    try:
        remote = client.cancel(invoice.uuid, reason)
    except gateway.GatewayError as exc:
        return _error(invoice.pk, exc, cancel=True)
    with transaction.atomic(durable=True):
        locked = lock_row(Invoice, invoice.pk)
        if not locked.events.filter(kind=EV_CANCEL_SENT).exists():
            _event(
                locked,
                EV_CANCEL_SENT,
                {"canceled_at": remote.canceled_at.isoformat() if remote.canceled_at else None},
            )
        locked.next_attempt_at = None
        locked.last_error = ""
        _save(locked, "next_attempt_at", "last_error")
    return "canceled"


# --------------------------------------------------------------------------------------------
# Cash-register batches


def _send_batch(invoice_ids: list[int], day: date, now: datetime, *, claimed: bool = False) -> str:
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
            counts[_send_batch(ids[start : start + size], issued_on, now)] += 1
    return dict(counts)


# --------------------------------------------------------------------------------------------
# Periodic work (the beat)


def transmit_invoices(*, invoice_ids: list[int], now: datetime | None = None) -> dict[str, int]:
    """The first transmission of invoices issued together, one after another (number order).
    Each is ``transmit_invoice`` (its own claim: safe beside the sweep). After a few gateway
    errors in a row the gateway is taken as down: the rest are left to ``transmit_due``."""
    counts: dict[str, int] = defaultdict(int)
    errors_in_a_row = 0
    for invoice_id in invoice_ids:
        try:
            outcome = transmit_invoice(invoice_id=invoice_id, now=now)
        except Exception:
            log.exception("e-invoice %s: transmission failed; the sweep retries", invoice_id)
            outcome = "error"
        counts[outcome] += 1
        errors_in_a_row = errors_in_a_row + 1 if outcome == "error" else 0
        if errors_in_a_row >= 3:
            counts["left_to_sweep"] += len(invoice_ids) - sum(counts.values())
            break
    return dict(counts)


def transmit_due(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Every transmission step that is due: first sends whose task was lost, retries, pending
    cancellations, and cash-register retries (as batches). In number order per series."""
    now = _now(now)
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    single = (
        Invoice.objects.filter(due, status=S.ISSUED, is_cash_register=False)
        | Invoice.objects.filter(
            due,
            status=S.CANCELED,
            is_cash_register=False,
            sent_at__isnull=True,
            answered_at__isnull=True,
        ).exclude(events__kind=InvoiceEvent.Kind.FAILED)
    ).order_by("series_id", "year", "number")
    cancels = (
        Invoice.objects.filter(due, status=S.CANCELED, answered_at__isnull=False)
        .exclude(events__kind__in=_CANCEL_DONE)
        .order_by("id")
    )
    counts: dict[str, int] = defaultdict(int)
    for invoice_id in list(single.values_list("id", flat=True)[:limit]):
        counts[transmit_invoice(invoice_id=invoice_id, now=now)] += 1
    for invoice_id in list(cancels.values_list("id", flat=True).distinct()[:limit]):
        counts[transmit_invoice(invoice_id=invoice_id, now=now)] += 1
    retries = (
        _cash_register_pending(now)
        .filter(attempts__gt=0, next_attempt_at__lte=now)
        .order_by("series_id", "year", "number")
        .values_list("id", "issued_at")[:limit]
    )
    for outcome, n in _batches(list(retries), now).items():
        counts[f"batch_{outcome}"] += n
    return dict(counts)


def poll_answers(*, now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Ask the gateway for the answer of every sent, unanswered invoice."""
    now = _now(now)
    waiting = (
        Invoice.objects.filter(
            Q(status=S.SENT) | Q(status=S.CANCELED, sent_at__isnull=False, answered_at__isnull=True)
        )
        .order_by("sent_at", "id")
        .values_list("id", "uuid")[:limit]
    )
    client = gateway.gateway_client()
    counts: dict[str, int] = defaultdict(int)
    failures = 0
    for invoice_id, invoice_uuid in list(waiting):
        try:
            remote = client.get(invoice_uuid)
        except gateway.GatewayNotFound:
            counts[_lost(invoice_id, now)] += 1
            continue
        except gateway.GatewayUnavailable:
            counts["unavailable"] += 1
            failures += 1
            if failures >= 5:  # the gateway is down: try again at the next tick
                break
            continue
        if remote.is_answered:
            counts[_apply(invoice_id, remote, now)] += 1
        else:
            counts["processing"] += 1
    return dict(counts)


def _lost(invoice_id: int, now: datetime) -> str:
    """The gateway does not know an invoice we recorded as sent: send it again (after the
    usual look-up)."""
    with transaction.atomic(durable=True):
        invoice = lock_row(Invoice, invoice_id)
        if invoice.answered_at is not None:
            return "answered"
        log.warning("e-invoice %s: unknown to the gateway although sent; sending again", invoice.pk)
        if invoice.status == S.SENT:
            invoice.status = S.ISSUED
        invoice.sent_at = None
        invoice.next_attempt_at = now
        _save(invoice, "status", "sent_at", "next_attempt_at")
        _event(invoice, EV_ERROR, {"error": "unknown to the gateway; sending again"})
    return "resend"


def invoice_transmission_retry(
    *, invoice_id: int, actor: Any = None, actor_label: str = ""
) -> Invoice:
    """Staff: try a failed invoice again (attempts start over; the gateway is asked first)."""
    with transaction.atomic(durable=True):
        invoice = lock_row(Invoice, invoice_id)
        if invoice.status != S.FAILED and not (
            invoice.status == S.CANCELED and invoice.next_attempt_at is None
        ):
            return invoice
        if invoice.status == S.FAILED:
            invoice.status = S.SENT if invoice.sent_at else S.ISSUED
        invoice.attempts = 0
        invoice.next_attempt_at = timezone.now()
        _save(invoice, "status", "attempts", "next_attempt_at")
        _event(invoice, EV_RETRY, {})
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action="einvoice.transmission_retry",
            target=invoice,
        )
    return invoice
