"""Settlement: the exactly-once steps every way of paying shares (bank transfer, e-wallet,
cash), and the refund counting every way of paying back shares.

ARCHITECTURE.md invariant 1: an intent is settled under its row lock (and its sale's, the
reference group's) in the caller's durable transaction, at most once, with its ledger row;
news goes out after commit. The bank path (``notifications``), the e-wallet path (``ewallet``,
``momo``, ``wallet_events``) and the intent services (``services``) call down into this module;
it imports none of them.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core import live
from core.audit import audit_record
from core.db import update_row
from core.locking import lock_row, lock_where

from .models import LedgerEntry, PaymentIntent, Refund
from .signals import payment_settled, payment_succeeded, refund_changed, refund_settled

log = logging.getLogger(__name__)

S = PaymentIntent.Status


def actor_label_of(actor: Any, fallback: str) -> str:
    """Who acted, for audit rows: ``user:<id>`` for a signed-in user, else ``fallback``."""
    if getattr(actor, "is_authenticated", False):
        return f"user:{actor.pk}"
    return fallback


# --- one sale, several intents ----------------------------------------------------------------


def lock_group(*, merchant_id: int, reference: str, also: int | None = None) -> list[PaymentIntent]:
    """Lock every intent of one reference (one sale) in primary-key order, and ``also``, in one
    statement.

    A reference is paid once: whichever intent of it settles first is the sale's payment, and
    money for any other is booked as unmatched for the trader to give back.
    """
    members = Q(merchant_id=merchant_id, reference=reference, one_per_reference=True)
    if also is None:
        return lock_where(PaymentIntent, members) if reference else []
    return lock_where(PaymentIntent, (members | Q(pk=also)) if reference else Q(pk=also))


def group_paid_elsewhere(group: list[PaymentIntent], intent: PaymentIntent) -> bool:
    return any(other.is_paid for other in group if other.pk != intent.pk)


# --- settling -----------------------------------------------------------------------------------


_SUCCEEDED = (
    "status",
    "amount_received",
    "paid_via",
    "bank_reference",
    "succeeded_at",
    "updated_at",
)


def intent_mark_succeeded(
    intent: PaymentIntent, *, amount: int, reference: str, via: str, at: datetime | None = None
) -> bool:
    """Settle a locked, payable intent (the one step shared by every way of paying).

    The caller holds the intent's row lock (and its reference group's) and has checked it is
    payable; returns whether the payment came after the intent had expired. ``payment_settled``
    goes out inside this transaction, so the sale is paid in the same commit as the money.
    """
    assert intent.status in (S.REQUIRES_PAYMENT, S.EXPIRED), intent.status
    late = intent.status == S.EXPIRED
    intent.status = S.SUCCEEDED
    intent.amount_received = amount
    intent.paid_via = via
    intent.bank_reference = reference[:64]
    intent.succeeded_at = at or timezone.now()
    update_row(intent, _SUCCEEDED)
    payment_settled.send(
        sender=PaymentIntent,
        intent_id=intent.pk,
        merchant_id=intent.merchant_id,
        amount=amount,
        intent_amount=intent.amount,
        reference=intent.reference,
        description=intent.description,
        paid_via=via,
        succeeded_at=intent.succeeded_at,
        bank_reference=intent.bank_reference,
    )
    return late


def announce(*, merchant_id: int, kind: str, event: dict[str, Any], reference: str = "") -> None:
    """After commit: tell the trader's screen, and `payment_succeeded` listeners (market/)."""
    event["type"] = kind
    try:
        live.publish(merchant_id, event)
    except Exception:  # the money is settled; a lost live event is recovered on reconnect
        log.exception("could not publish live payment event %s", event)
    if kind == "payment_succeeded":
        payment_succeeded.send_robust(
            sender=PaymentIntent,
            intent_id=event["intent_id"],
            merchant_id=merchant_id,
            amount=event["amount"],
            reference=reference,
        )


# --- counting a refund ---------------------------------------------------------------------------


def refund_confirm(*, refund_id: int, provider_refund_id: str = "") -> Refund:
    """The money went back: count it, once (safe to call again, e.g. on a duplicate webhook)."""
    with transaction.atomic(durable=True):
        refund = lock_row(Refund, refund_id)
        if refund.status == Refund.Status.SUCCEEDED:
            return refund
        intent = lock_row(PaymentIntent, refund.intent_id)
        intent.amount_refunded += refund.amount
        intent.status = (
            S.REFUNDED if intent.amount_refunded == intent.amount_received else S.PARTIALLY_REFUNDED
        )
        intent.save(update_fields=["amount_refunded", "status", "updated_at"])
        refund.status = Refund.Status.SUCCEEDED
        refund.confirmed_at = timezone.now()
        if provider_refund_id:
            refund.provider_refund_id = provider_refund_id
        refund.save(update_fields=["status", "confirmed_at", "provider_refund_id"])
        if intent.paid_via != PaymentIntent.PaidVia.CASH:  # cash never entered the bank ledger
            LedgerEntry.objects.create(
                merchant_id=intent.merchant_id,
                kind=LedgerEntry.Kind.REFUND,
                amount=-refund.amount,
                intent=intent,
                refund=refund,
                memo=refund.reason,
                actor_label=refund.actor_label,
            )
        _refund_settled(refund, intent)
        transaction.on_commit(lambda: _refund_news(refund, intent.reference))
    return refund


def _refund_settled(refund: Refund, intent: PaymentIntent) -> None:
    refund_settled.send(
        sender=Refund,
        refund_id=refund.pk,
        intent_id=intent.pk,
        merchant_id=intent.merchant_id,
        amount=refund.amount,
        status=refund.status,
    )


def _refund_news(refund: Refund, reference: str) -> None:
    refund_changed.send_robust(
        sender=Refund,
        refund_id=refund.pk,
        intent_id=refund.intent_id,
        status=refund.status,
        reference=reference,
    )


def refund_fail(*, refund_id: int, reason: str) -> Refund:
    with transaction.atomic(durable=True):
        refund = lock_row(Refund, refund_id)
        if refund.status == Refund.Status.PENDING:
            refund.status = Refund.Status.FAILED
            refund.failure_reason = reason[:255]
            refund.save(update_fields=["status", "failure_reason"])
            audit_record(
                actor=None,
                actor_label="provider:ewallet",
                action="refund.fail",
                target=refund,
                reason=reason,
            )
            intent = PaymentIntent.objects.get(pk=refund.intent_id)
            _refund_settled(refund, intent)
            transaction.on_commit(lambda: _refund_news(refund, intent.reference))
    return refund
