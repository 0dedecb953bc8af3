"""Refunds: the one way money goes back, whatever the path it came by (``refund_start``).

The refund is reserved under the intent's lock (``refund_open``), sent to the e-wallet provider
outside any lock (``ewallet.refund_send``) or counted at once (``settlement.refund_confirm``).
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from core.audit import audit_record
from core.errors import Conflict, ValidationFailed
from core.locking import lock_row

from .ewallet import refund_send
from .models import PaymentIntent, Refund
from .settlement import actor_label_of, refund_confirm
from .signals import refund_opened

S = PaymentIntent.Status


def refund_start(
    *,
    intent_id: int,
    amount: int,
    reason: str,
    actor: Any,
    actor_label: str = "",
    request_key: str = "",
    metadata: dict[str, Any] | None = None,
) -> Refund:
    """The one way money goes back, whatever the path it came by (``intent.paid_via``).

    E-wallet: the provider is asked and the refund counts (ledger, listeners) when it confirms.
    Bank transfer: the trader paid the shopper back by hand; counted at once, as a negative
    ledger entry. Cash: counted at once, outside the bank ledger.

    ``request_key`` binds the refund to the request that asked for it: the same request again
    (a retry after a timeout, a 503 or a crash) resumes this refund and never starts a second.
    """
    label = actor_label_of(actor, actor_label)
    refund = None
    if request_key:
        refund = Refund.objects.filter(request_key=request_key).select_related("intent").first()
        if refund is not None and refund.intent_id != intent_id:
            raise ValidationFailed(
                _("Idempotency-Key này đã được dùng cho một yêu cầu khác."),
                code="idempotency_key_reused",
            )
    if refund is None:
        try:
            refund = refund_open(
                intent_id=intent_id,
                amount=amount,
                reason=reason,
                actor=actor,
                actor_label=label,
                request_key=request_key,
                metadata=metadata,
            )
        except IntegrityError:  # the same request, racing: the other one reserved it
            refund = Refund.objects.select_related("intent").get(request_key=request_key)
    if refund.status == Refund.Status.FAILED:
        raise ValidationFailed(
            _("Không hoàn được tiền: %(why)s") % {"why": refund.failure_reason or "—"},
            code="refund_failed",
        )
    if refund.status != Refund.Status.PENDING:
        return refund
    if refund.intent.paid_via == PaymentIntent.PaidVia.EWALLET:
        return refund_send(refund_id=refund.pk)
    return refund_confirm(refund_id=refund.pk)


def intent_refund(
    *,
    intent_id: int,
    amount: int,
    reason: str,
    actor: Any,
    actor_label: str = "",
    request_key: str = "",
) -> PaymentIntent:
    """Give money back on an intent (the Thu tiền page, the payments API): ``refund_start``."""
    refund_start(
        intent_id=intent_id,
        amount=amount,
        reason=reason,
        actor=actor,
        actor_label=actor_label,
        request_key=request_key,
    )
    return PaymentIntent.objects.get(pk=intent_id)


def refund_open(
    *,
    intent_id: int,
    amount: int,
    reason: str,
    actor: Any,
    actor_label: str,
    request_key: str = "",
    metadata: dict[str, Any] | None = None,
) -> Refund:
    """Check and reserve a refund (pending) under the intent's lock; listeners may refuse it."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationFailed(fields={"amount": [_("Số tiền hoàn là số đồng nguyên dương.")]})
    if not reason.strip():
        raise ValidationFailed(fields={"reason": [_("Vui lòng ghi lý do hoàn tiền.")]})
    with transaction.atomic(durable=True):
        intent = lock_row(PaymentIntent, intent_id)
        if intent.status == S.REFUNDED:
            raise Conflict(_("Khoản này đã được hoàn hết tiền."), code="intent_already_refunded")
        if intent.status not in (S.SUCCEEDED, S.PARTIALLY_REFUNDED):
            raise Conflict(_("Chỉ hoàn tiền cho khoản đã thanh toán."), code="intent_not_paid")
        pending = (
            intent.refunds.filter(status=Refund.Status.PENDING).aggregate(t=Sum("amount"))["t"] or 0
        )
        if amount > intent.refundable_amount - pending:
            raise ValidationFailed(
                fields={"amount": [_("Số tiền hoàn vượt quá số đã nhận.")]}, code="refund_too_large"
            )
        refund = Refund.objects.create(
            intent=intent,
            amount=amount,
            reason=reason.strip()[:255],
            actor_label=actor_label,
            request_key=request_key or None,
            metadata=metadata or {},
        )
        refund_opened.send(
            sender=Refund,
            refund_id=refund.pk,
            intent_id=intent.pk,
            merchant_id=intent.merchant_id,
            amount=amount,
            reason=refund.reason,
            metadata=refund.metadata,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            actor_label=actor_label,
        )
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action="intent.refund",
            target=intent,
            reason=reason,
            data={"amount": amount, "refund": refund.pk},
        )
    return refund
