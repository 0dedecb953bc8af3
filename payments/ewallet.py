"""The e-wallet path: attach a provider payment to an intent, take its webhook events, settle
through the same exactly-once step as bank transfers, refund through the provider.

Provider calls never happen inside a database transaction or under a row lock.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import audit_record
from core.errors import ProviderUnavailable, ValidationFailed
from core.locking import lock_row

from .models import LedgerEntry, PaymentIntent, Refund, WalletEvent
from .providers import ewallet as provider
from .providers import momo
from .settlement import (
    announce,
    group_paid_elsewhere,
    intent_mark_succeeded,
    lock_group,
    refund_confirm,
    refund_fail,
)

log = logging.getLogger(__name__)
S = PaymentIntent.Status
LABEL = "webhook:ewallet"


def ewallet_payment_attach(*, intent_id: int) -> PaymentIntent:
    """Create the provider payment for a new e-wallet intent (idempotent per intent)."""
    if settings.EWALLET_PROVIDER == "momo":
        from .momo import momo_payment_attach

        return momo_payment_attach(intent_id=intent_id)
    intent = PaymentIntent.objects.select_related("merchant").get(pk=intent_id)
    if intent.provider_payment_id:
        return intent
    expires_in = max(60, int((intent.expires_at - timezone.now()).total_seconds()))
    try:
        payment = provider.create_payment(
            intent_id=intent.pk,
            amount=intent.amount,
            reference_code=intent.reference_code,
            merchant_name=intent.merchant.display_name,
            expires_in=expires_in,
        )
    except (provider.WalletUnavailable, provider.WalletRejected) as exc:
        _intent_abandon(intent_id=intent.pk, reason=type(exc).__name__)
        if isinstance(exc, provider.WalletRejected):
            raise ValidationFailed(str(exc), code="ewallet_rejected") from exc
        raise ProviderUnavailable() from exc
    with transaction.atomic(durable=True):
        intent = lock_row(PaymentIntent, intent_id)
        intent.provider_payment_id = payment.id
        intent.qr_payload = payment.pay_url
        intent.save(update_fields=["provider_payment_id", "qr_payload", "updated_at"])
    return intent


def _intent_abandon(*, intent_id: int, reason: str) -> None:
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


# --- events -----------------------------------------------------------------------------------


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


# --- refunds ----------------------------------------------------------------------------------


def refund_send(*, refund_id: int) -> Refund:
    """Ask the provider to give the money back; count it when the provider confirms."""
    refund = Refund.objects.select_related("intent").get(pk=refund_id)
    if momo.is_momo_order(refund.intent.provider_payment_id):
        from .momo import momo_refund_send

        return momo_refund_send(refund_id=refund.pk)
    try:
        answer = provider.create_refund(
            refund_id=refund.pk,
            payment_id=refund.intent.provider_payment_id or "",
            amount=refund.amount,
            reason=refund.reason,
        )
    except provider.WalletRejected as exc:
        refund_fail(refund_id=refund.pk, reason=str(exc))
        raise ValidationFailed(
            _("Ví điện tử từ chối hoàn tiền: %(why)s") % {"why": exc}, code="ewallet_rejected"
        ) from exc
    except provider.WalletUnavailable as exc:
        # Stays pending: the same idempotency key is used when it is sent again.
        raise ProviderUnavailable() from exc
    Refund.objects.filter(pk=refund.pk, provider_refund_id__isnull=True).update(
        provider_refund_id=answer.id
    )
    if answer.status == "succeeded":
        return refund_confirm(refund_id=refund.pk, provider_refund_id=answer.id)
    return Refund.objects.get(pk=refund.pk)


# --- reconciliation ---------------------------------------------------------------------------


def ewallet_reconcile(*, older_than_seconds: int = 60) -> dict[str, int]:
    """Ask the provider about e-wallet intents still waiting (their webhook may be lost)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    recent = PaymentIntent.objects.filter(
        method=PaymentIntent.Method.EWALLET,
        provider_payment_id__isnull=False,
        created_at__lte=cutoff,
        created_at__gte=timezone.now() - timedelta(days=2),
    ).exclude(provider_payment_id__startswith=momo.ORDER_PREFIX)  # payments.momo asks MoMo
    # Still waiting, canceled lately, or paid another way (by bank, cash, another QR) while the
    # wallet's own payment may also have gone through: that money must be found and booked too.
    waiting = (
        recent.filter(
            Q(status__in=(S.REQUIRES_PAYMENT, S.EXPIRED))
            | Q(status=S.CANCELED, canceled_at__gte=timezone.now() - timedelta(hours=2))
            | (
                Q(paid_via__in=(PaymentIntent.PaidVia.BANK, PaymentIntent.PaidVia.CASH))
                & ~Q(ledger__wallet_event__isnull=False)
            )
        )
        .values_list("provider_payment_id", flat=True)
        .distinct()
    )
    checked = settled = 0
    for payment_id in [p for p in waiting if p]:
        checked += 1
        payment = provider.retrieve_payment(payment_id)
        if payment.status in ("succeeded", "partially_refunded", "refunded", "failed"):
            kind = "payment.failed" if payment.status == "failed" else "payment.succeeded"
            event = provider.WalletEventData(
                id=f"reconcile:{payment.id}",
                type=kind,
                payment=payment,
                refund=None,
                raw={"reconciled": payment.id, "status": payment.status},
            )
            row = wallet_event_receive(event=event, via="reconcile")
            settled += row.outcome in ("settled", "late")
    pending = Refund.objects.filter(
        status=Refund.Status.PENDING,
        intent__method=PaymentIntent.Method.EWALLET,
        created_at__lte=cutoff,
    ).values_list("id", flat=True)
    for refund_id in list(pending):
        try:
            refund_send(refund_id=refund_id)
        except Exception:  # one refund must not stop the others
            log.exception("refund %s still pending", refund_id)
    return {"checked": checked, "settled": settled}
