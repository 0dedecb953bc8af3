from __future__ import annotations

from datetime import datetime, time

from django.db.models import QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import NotFound
from merchants.models import Merchant
from merchants.selectors import Principal, merchant_for

from .models import BankNotification, LedgerEntry, PaymentIntent


def intent_for(*, principal: Principal, intent_id: int, owner: bool = False) -> PaymentIntent:
    intent = PaymentIntent.objects.select_related("merchant").filter(pk=intent_id).first()
    if intent is None:
        raise NotFound(_("Không tìm thấy yêu cầu thanh toán."))
    try:
        merchant_for(principal=principal, merchant_id=intent.merchant_id, owner=owner)
    except NotFound:
        raise NotFound(_("Không tìm thấy yêu cầu thanh toán.")) from None
    return intent


def intents_of(*, merchant: Merchant, status: str = "", reference: str = "") -> QuerySet:
    intents = merchant.intents.all()
    if status:
        intents = intents.filter(status=status)
    if reference:
        intents = intents.filter(reference=reference)
    return intents.order_by("-created_at", "-id")


def start_of_today() -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate(), time.min))


def payments_today(*, merchant: Merchant) -> QuerySet[LedgerEntry]:
    """Money in and out today, newest first: what the trader's list shows."""
    return (
        merchant.ledger.filter(created_at__gte=start_of_today())
        .select_related("intent", "notification")
        .order_by("-created_at", "-id")
    )


def balance_of(*, merchant: Merchant) -> int:
    return merchant.ledger.aggregate(total=Sum("amount"))["total"] or 0


def notifications_unmatched(*, since: datetime | None = None) -> QuerySet[BankNotification]:
    """For staff: transfers to accounts we do not know."""
    rows = BankNotification.objects.filter(outcome=BankNotification.Outcome.UNKNOWN_ACCOUNT)
    if since:
        rows = rows.filter(received_at__gte=since)
    return rows
