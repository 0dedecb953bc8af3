"""Reconciliation: pull the provider's transaction list and process what webhooks missed."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from . import bankalerts
from .models import BankAlertConnection, BankNotification
from .notifications import notification_process, notification_receive
from .providers import sepay
from .providers.banknotify import BankNotifyClient

log = logging.getLogger(__name__)


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


def reconcile_bank_alerts(*, since: datetime | None = None) -> dict[str, int]:
    """Every SePay connection with an API token: list its accounts' transactions and process
    the ones no webhook brought, as reconcile_bank_transactions does for the platform's
    provider. Deduplicated per connection, like its webhooks."""
    since = since or timezone.now() - timedelta(hours=24)
    listed = new = failed = 0
    connections = BankAlertConnection.objects.filter(
        provider=BankAlertConnection.Provider.SEPAY, disconnected_at__isnull=True
    ).exclude(api_token_encrypted="")
    for connection in connections:
        token = bankalerts.decrypt(connection.api_token_encrypted)
        client = sepay.SePayClient(settings.SEPAY_API_URL, token)
        accounts = {a.account_number: a for a in connection.merchant.bank_accounts.all()}
        for number, account in accounts.items():
            try:
                alerts = client.list_transactions(account_number=number, since=since)
            except sepay.SePayUnavailable as exc:
                log.error("SePay list for connection %s failed: %s", connection.pk, exc)
                failed += 1
                continue
            for alert in alerts:
                if alert.is_test or alert.account_number not in accounts:
                    continue
                listed += 1
                tx = alert.transaction(connection_id=connection.pk, bank_bin=account.bank_bin)
                if not BankNotification.objects.filter(provider_id=tx.provider_id).exists():
                    notification_receive(tx=tx, via="reconcile")
                    new += 1
    return {"listed": listed, "new": new, "failed": failed}
