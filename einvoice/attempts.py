"""The steps of one transmission attempt, shared by single sends and cash-register batches.

Claiming an attempt before the HTTP call (``_claim``, its own committed transaction under the row
lock), applying the gateway's answer (``_apply``, with the authority's document), recording a
gateway error with its backoff (``_error``) and the visible failure with its staff alert
(``_fail``), plus the per-process memory of the series registered at the gateway. The rules they
keep are described in :mod:`einvoice.transmission`; :mod:`einvoice.batches` uses them too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import mail_admins
from django.db import transaction
from django.utils import timezone

from core.audit import audit_record
from core.locking import lock_row

from . import gateway
from .models import Invoice, InvoiceEvent, Series
from .series import series_set_register_prefix

log = logging.getLogger("einvoice.transmission")  # the name alerts are routed by
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
