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
  (``einvoice/batches.py``, re-exported here as :func:`transmit_cash_register_batch`).
* A canceled invoice keeps status ``canceled``; its original is still transmitted (numbers must
  stay consecutive at the gateway), then the cancellation is sent once the gateway has accepted
  the original.

The steps of one attempt (claim, apply the answer, record an error, fail and alert) and the
series registration are in ``einvoice/attempts.py``; this module sends and sweeps.

Functions take ``now`` so tests can move time; they default to ``timezone.now()``.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.audit import audit_record
from core.locking import lock_row

from . import gateway
from .attempts import (
    _CANCEL_DONE,
    EV_CANCEL_SENT,
    EV_ERROR,
    EV_RETRY,
    AfterSend,
    S,
    _apply,
    _claim,
    _ensure_registered,
    _error,
    _event,
    _now,
    _save,
    log,
    retry_delay,
    series_register,
)
from .batches import cash_register_retries, send_batch, transmit_cash_register_batch
from .models import Invoice, InvoiceEvent

__all__ = [
    "invoice_transmission_retry",
    "poll_answers",
    "retry_delay",
    "schedule_transmission",
    "series_register",
    "transmit_cash_register_batch",
    "transmit_due",
    "transmit_invoice",
    "transmit_invoices",
]


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
# One invoice


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
        return send_batch(
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
    for outcome, n in cash_register_retries(now, limit).items():
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
