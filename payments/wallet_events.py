"""The steps both e-wallet adapters share (payments/ewallet.py, the Stripe-style provider, and
payments/momo.py, MoMo): abandoning an intent the provider never took, and taking a provider's
outcome as a ``WalletEvent``: stored once (unique by its id), then processed under the event's and
the intent's row locks, settling through the same exactly-once step as bank transfers.

Below both adapters: momo imports this module, ewallet imports this module and momo, and this
module imports neither (tests/test_import_rules.py). No provider is called here.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import audit_record
from core.locking import lock_row

from .models import LedgerEntry, PaymentIntent, Refund, WalletEvent
from .providers import ewallet as provider
from .settlement import (
    announce,
    group_paid_elsewhere,
    intent_mark_succeeded,
    lock_group,
    refund_confirm,
)

log = logging.getLogger(__name__)
S = PaymentIntent.Status
LABEL = "webhook:ewallet"


def intent_abandon(*, intent_id: int, reason: str) -> None:
    """Cancel a new intent whose provider payment could not be made (the wallet was down or
    refused): nothing payable is left behind, and the request's retry may start afresh."""
    with transaction.atomic(durable=True):
        intent = lock_row(PaymentIntent, intent_id)
        if intent.status == S.REQUIRES_PAYMENT:
            intent.status = S.CANCELED
            intent.canceled_at = timezone.now()
            intent.failure_reason = reason[:64]
            # The request failed before the provider had a payment: its retry may start afresh.
            intent.request_key = None
            intent.save(
                update_fields=[
                    "status",
                    "canceled_at",
                    "failure_reason",
                    "request_key",
                    "updated_at",
                ]
            )
            audit_record(
                actor=None,
                actor_label="provider:ewallet",
                action="intent.abandon",
                target=intent,
                reason=reason,
            )


def wallet_event_receive(*, event: provider.WalletEventData, via: str = "webhook") -> WalletEvent:
    """Store the event once (unique by its id), then process it. Duplicates change nothing."""
    obj_id = event.payment.id if event.payment else (event.refund.id if event.refund else "")
    try:
        with transaction.atomic():
            row = WalletEvent.objects.create(
                event_id=event.id,
                type=event.type,
                payload=event.raw,
                provider_object_id=obj_id,
                received_via=via,
            )
    except IntegrityError:
        row = WalletEvent.objects.get(event_id=event.id)
    if row.processed_at is None:
        row = wallet_event_process(event_row_id=row.pk, event=event)
    return row


def wallet_event_process(*, event_row_id: int, event: provider.WalletEventData) -> WalletEvent:
    news: list[tuple[int, str, dict[str, Any], str]] = []
    refund_to_confirm: tuple[int, str] | None = None
    with transaction.atomic(durable=True):
        row = lock_row(WalletEvent, event_row_id)
        if row.processed_at is not None:
            return row
        if event.type in ("payment.succeeded", "payment.failed") and event.payment:
            row.outcome = _payment_event(row, event.payment, news)
        elif event.type == "refund.succeeded" and event.refund:
            refund = _refund_for(event.refund)
            if refund is None:
                row.outcome = "unknown_refund"
            else:
                row.outcome = "refund_confirmed"
                refund_to_confirm = (refund.pk, event.refund.id)
        else:
            row.outcome = "ignored"
        row.processed_at = timezone.now()
        row.save(update_fields=["outcome", "intent", "processed_at"])
        audit_record(
            actor=None,
            actor_label=f"{LABEL}:{row.event_id}",
            action=f"wallet_event.{row.outcome}",
            target=row,
            data={"type": row.type},
        )
        for merchant_id, kind, payload, reference in news:
            transaction.on_commit(
                partial(
                    announce, merchant_id=merchant_id, kind=kind, event=payload, reference=reference
                )
            )
    if refund_to_confirm:
        refund_confirm(refund_id=refund_to_confirm[0], provider_refund_id=refund_to_confirm[1])
    return row


def _payment_event(row: WalletEvent, payment: provider.WalletPayment, news: list) -> str:
    intent_id = (
        PaymentIntent.objects.filter(provider_payment_id=payment.id)
        .values_list("id", flat=True)
        .first()
    )
    if intent_id is None:
        return "unknown_payment"
    reference, one = PaymentIntent.objects.filter(pk=intent_id).values_list(
        "reference", "one_per_reference"
    )[0]
    reference = reference if one else ""
    group = lock_group(merchant_id=intent_merchant(intent_id), reference=reference, also=intent_id)
    intent = next(i for i in group if i.pk == intent_id)
    row.intent = intent
    if row.type == "payment.failed":
        if intent.status != S.REQUIRES_PAYMENT:
            return "ignored"
        intent.status = S.CANCELED
        intent.canceled_at = timezone.now()
        intent.failure_reason = (payment.failure_reason or "failed")[:64]
        intent.save(update_fields=["status", "canceled_at", "failure_reason", "updated_at"])
        news.append((intent.merchant_id, "payment_failed", _news(intent, 0, "failed"), ""))
        return "failed"
    if intent.paid_via == PaymentIntent.PaidVia.EWALLET:
        return "duplicate"  # this provider payment was counted already (one per intent)
    mismatch = payment.amount != intent.amount
    if mismatch:
        log.error(
            "e-wallet payment %s amount %s != intent %s", payment.id, payment.amount, intent.amount
        )
    if mismatch or intent.is_paid or group_paid_elsewhere(group, intent):
        # The sale was paid another way first (its code by bank transfer, another QR, cash), or
        # the wallet took another amount: the money is in all the same. Book it once, flagged,
        # for the trader to give back.
        if LedgerEntry.objects.filter(intent=intent, wallet_event__isnull=False).exists():
            return "duplicate"
        flag = "amount_mismatch" if mismatch else "already_paid"
        LedgerEntry.objects.create(
            merchant_id=intent.merchant_id,
            kind=LedgerEntry.Kind.UNMATCHED,
            amount=payment.amount,
            intent=intent,
            wallet_event=row,
            flag=flag,
            memo=f"e-wallet {payment.id}",
            actor_label=f"{LABEL}:{row.event_id}",
        )
        news.append(
            (
                intent.merchant_id,
                "payment_received",
                {**_news(intent, payment.amount, flag), "flag": flag},
                "",
            )
        )
        return flag
    if intent.status == S.CANCELED:
        # The shopper paid after the trader canceled: the money is in; count it, flag it.
        intent.status = S.EXPIRED
    late = intent_mark_succeeded(
        intent, amount=payment.amount, reference=payment.id, via=PaymentIntent.PaidVia.EWALLET
    )
    LedgerEntry.objects.create(
        merchant_id=intent.merchant_id,
        kind=LedgerEntry.Kind.SETTLEMENT,
        amount=payment.amount,
        intent=intent,
        wallet_event=row,
        flag="late" if late else "",
        memo=f"e-wallet {payment.id}",
        actor_label=f"{LABEL}:{row.event_id}",
    )
    news.append(
        (
            intent.merchant_id,
            "payment_succeeded",
            _news(intent, payment.amount, ""),
            intent.reference,
        )
    )
    return "late" if late else "settled"


def intent_merchant(intent_id: int) -> int:
    return PaymentIntent.objects.filter(pk=intent_id).values_list("merchant_id", flat=True)[0]


def _news(intent: PaymentIntent, amount: int, outcome: str) -> dict[str, Any]:
    return {
        "notification_id": None,
        "intent_id": intent.pk,
        "reference_code": intent.reference_code,
        "amount": amount,
        "expected_amount": intent.amount,
        "outcome": outcome or "settled",
        "flag": "",
        "method": "ewallet",
        "bank_reference": intent.provider_payment_id or "",
        "counter_name": "",
        "at": timezone.localtime().isoformat(),
    }


def _refund_for(wallet_refund: provider.WalletRefund) -> Refund | None:
    refund = Refund.objects.filter(provider_refund_id=wallet_refund.id).first()
    if refund is not None:
        return refund
    # The webhook can beat our own record of the provider's answer: match the pending refund.
    return (
        Refund.objects.filter(
            intent__provider_payment_id=wallet_refund.payment_id,
            amount=wallet_refund.amount,
            status=Refund.Status.PENDING,
        )
        .order_by("id")
        .first()
    )
