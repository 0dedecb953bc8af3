"""The e-wallet path: attach a provider payment to an intent, refund through the provider, and
reconcile what a lost webhook left waiting. Webhook events are taken and settled by
``payments.wallet_events`` (shared with MoMo); with ``EWALLET_PROVIDER=momo`` new payments, and
refunds of MoMo orders, go to ``payments.momo``.

Provider calls never happen inside a database transaction or under a row lock.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import ProviderUnavailable, ValidationFailed
from core.locking import lock_row

from .models import PaymentIntent, Refund
from .momo import momo_payment_attach, momo_refund_send
from .providers import ewallet as provider
from .providers import momo
from .settlement import refund_confirm, refund_fail
from .wallet_events import intent_abandon, wallet_event_receive

log = logging.getLogger(__name__)
S = PaymentIntent.Status


def ewallet_payment_attach(*, intent_id: int) -> PaymentIntent:
    """Create the provider payment for a new e-wallet intent (idempotent per intent)."""
    if settings.EWALLET_PROVIDER == "momo":
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
        intent_abandon(intent_id=intent.pk, reason=type(exc).__name__)
        if isinstance(exc, provider.WalletRejected):
            raise ValidationFailed(str(exc), code="ewallet_rejected") from exc
        raise ProviderUnavailable() from exc
    with transaction.atomic(durable=True):
        intent = lock_row(PaymentIntent, intent_id)
        intent.provider_payment_id = payment.id
        intent.qr_payload = payment.pay_url
        intent.save(update_fields=["provider_payment_id", "qr_payload", "updated_at"])
    return intent


# --- refunds ----------------------------------------------------------------------------------


def refund_send(*, refund_id: int) -> Refund:
    """Ask the provider to give the money back; count it when the provider confirms."""
    refund = Refund.objects.select_related("intent").get(pk=refund_id)
    if momo.is_momo_order(refund.intent.provider_payment_id):
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
