"""Reconciliation: pull the provider's transaction list and process what webhooks missed."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from .models import BankNotification
from .providers.banknotify import BankNotifyClient
from .services import notification_process, notification_receive


def reconcile_bank_transactions(*, since: datetime | None = None) -> dict[str, int]:
    """Process every listed transaction not yet seen, and any stored row left unprocessed."""
    since = since or timezone.now() - timedelta(hours=24)
    client = BankNotifyClient(settings.BANKNOTIFY_URL, settings.BANKNOTIFY_API_KEY)
    seen = new = 0
    for tx in client.list_transactions(since=since):
        seen += 1
        if not BankNotification.objects.filter(provider_id=tx.provider_id).exists():
            notification_receive(tx=tx, via="reconcile")
            new += 1
    stuck = BankNotification.objects.filter(processed_at__isnull=True).values_list("id", flat=True)
    retried = 0
    for notification_id in list(stuck):
        notification_process(notification_id=notification_id)
        retried += 1
    return {"listed": seen, "new": new, "retried": retried}
