"""The MoMo path: a MoMo order for an e-wallet intent, its IPN settled through the same
store-first, exactly-once step as the e-wallet provider's events (payments/wallet_events.py), the
query API for reconciliation and the refund API for refunds.

Each IPN is stored once as a WalletEvent whose id is ``momo:<orderId>:<resultCode>``: MoMo's
duplicates and retries of one IPN, and the reconciliation's look at the same outcome, are one
row, processed once. Provider calls never happen inside a transaction or under a row lock.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import ProviderUnavailable, ValidationFailed
from core.locking import lock_row

from .models import PaymentIntent, Refund, WalletEvent
from .providers import ewallet as wallet
from .providers import momo as provider
from .settlement import refund_confirm, refund_fail
from .wallet_events import intent_abandon, wallet_event_receive

log = logging.getLogger(__name__)
S = PaymentIntent.Status


def momo_payment_attach(*, intent_id: int) -> PaymentIntent:
    """Create the MoMo order of a new e-wallet intent (idempotent per intent)."""
    intent = PaymentIntent.objects.select_related("merchant").get(pk=intent_id)
    if intent.provider_payment_id:
        return intent
    try:
        payment = provider.create_payment(
            intent_id=intent.pk,
            reference_code=intent.reference_code,
            amount=intent.amount,
            info=f"Chợ Số {intent.reference_code} {intent.merchant.display_name}",
        )
    except (provider.MomoUnavailable, provider.MomoRejected) as exc:
        intent_abandon(intent_id=intent.pk, reason=f"momo:{getattr(exc, 'code', 'unavailable')}")
        if isinstance(exc, provider.MomoRejected):
            if exc.code in ("amount_out_of_range", "invalid_amount"):
                raise ValidationFailed(
                    fields={"amount": [_("Số tiền qua MoMo từ 1.000 đ đến 50.000.000 đ mỗi lần.")]},
                    code="momo_amount",
                ) from exc
            raise ValidationFailed(
                _("MoMo từ chối yêu cầu thanh toán: %(why)s") % {"why": exc}, code="momo_rejected"
            ) from exc
        raise ProviderUnavailable() from exc
    with transaction.atomic(durable=True):
        intent = lock_row(PaymentIntent, intent_id)
        intent.provider_payment_id = payment.order_id
        intent.qr_payload = payment.pay_url
        intent.save(update_fields=["provider_payment_id", "qr_payload", "updated_at"])
    return intent


def _event(payment: provider.MomoPayment, raw: dict[str, Any]) -> wallet.WalletEventData:
    """A MoMo outcome as the e-wallet path's event: one settlement step for both providers."""
    status = payment.status
    kind = {"succeeded": "payment.succeeded", "failed": "payment.failed"}.get(status, "ignored")
    return wallet.WalletEventData(
        id=f"momo:{payment.order_id}:{payment.result_code}"[:64],
        type=kind,
        payment=wallet.WalletPayment(
            id=payment.order_id,
            status=status,
            amount=payment.amount,
            amount_refunded=0,
            pay_url="",
            merchant_reference="",
            failure_reason=payment.failure_reason if status == "failed" else "",
        ),
        refund=None,
        raw=raw,
    )


def momo_ipn_receive(*, data: dict[str, Any], via: str = "webhook") -> WalletEvent:
    """A verified IPN (providers.momo.parse_ipn): store once, settle once."""
    payment = provider.payment_from(data)
    raw = {k: v for k, v in data.items() if k != "signature"}
    return wallet_event_receive(event=_event(payment, raw), via=via)


def momo_refund_send(*, refund_id: int) -> Refund:
    """MoMo's refund API answers at once: resultCode 0 is the money given back."""
    refund = Refund.objects.select_related("intent").get(pk=refund_id)
    try:
        trans_id = _trans_id(refund.intent)
        answer = provider.refund(
            refund_id=refund.pk, trans_id=trans_id, amount=refund.amount, reason=refund.reason
        )
    except provider.MomoRejected as exc:
        refund_fail(refund_id=refund.pk, reason=f"MoMo: {exc}")
        raise ValidationFailed(
            _("MoMo từ chối hoàn tiền: %(why)s") % {"why": exc}, code="momo_rejected"
        ) from exc
    except provider.MomoUnavailable as exc:
        raise ProviderUnavailable() from exc  # stays pending; the same requestId next time
    return refund_confirm(refund_id=refund.pk, provider_refund_id=f"momo:{answer.trans_id}")


def _trans_id(intent: PaymentIntent) -> str:
    """MoMo's transaction id of the paid order: from its IPN, else asked of MoMo."""
    row = (
        WalletEvent.objects.filter(intent=intent, type="payment.succeeded")
        .order_by("id")
        .values_list("payload", flat=True)
        .first()
    )
    if row and row.get("transId"):
        return str(row["transId"])
    payment = provider.query_payment(intent.provider_payment_id or "")
    if not payment.trans_id:
        raise provider.MomoRejected("MoMo has no paid transaction for this order", "not_paid")
    return payment.trans_id


def momo_reconcile(*, older_than_seconds: int = 60) -> dict[str, int]:
    """Ask MoMo (query API) about MoMo intents still waiting: their IPN may be lost."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=older_than_seconds)
    waiting = (
        PaymentIntent.objects.filter(
            method=PaymentIntent.Method.EWALLET,
            provider_payment_id__startswith=provider.ORDER_PREFIX,
            created_at__lte=cutoff,
            created_at__gte=now - timedelta(days=2),
        )
        .filter(
            Q(status__in=(S.REQUIRES_PAYMENT, S.EXPIRED))
            | Q(status=S.CANCELED, canceled_at__gte=now - timedelta(hours=2))
        )
        .values_list("provider_payment_id", flat=True)
    )
    checked = settled = 0
    for order_id in [o for o in waiting if o]:
        checked += 1
        try:
            payment = provider.query_payment(order_id)
        except (provider.MomoUnavailable, provider.MomoRejected) as exc:
            log.warning("MoMo query of %s failed: %s", order_id, exc)
            continue
        if payment.status == "pending":
            continue
        raw = {"reconciled": order_id, "resultCode": payment.result_code}
        if payment.trans_id:
            raw["transId"] = payment.trans_id
        row = wallet_event_receive(event=_event(payment, raw), via="reconcile")
        settled += row.outcome in ("settled", "late")
    # Pending MoMo refunds are sent again by ewallet_reconcile (refund_send dispatches here).
    return {"checked": checked, "settled": settled}
