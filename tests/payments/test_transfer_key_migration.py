"""Migration payments 0008: notifications stored before transfer keys existed get the key of
their transfer (the first copy only), so a copy of an old transfer arriving after the upgrade
is recognised as the same transfer instead of being booked again."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("payments", "0007_bank_alert_connection")]
AFTER = [("payments", "0008_bank_notification_transfer_key")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_it_gives_stored_notifications_their_transfer_key():
    old = migrate(BEFORE)
    BankNotification = old.get_model("payments", "BankNotification")

    def stored(provider_id: str, reference: str, amount: int = 153_000):
        return BankNotification.objects.create(
            provider_id=provider_id,
            payload={},
            bank_bin="970436",
            account_number="0071001234567",
            transfer_type="in",
            amount=amount,
            bank_reference=reference,
            transaction_date=datetime(2026, 12, 1, 2, 0, tzinfo=UTC),
        ).pk

    first = stored("bn-1", "FT26335ABC123")
    copy = stored("sepay:3:9", "ft26335abc123")  # booked twice before the upgrade
    other = stored("bn-2", "FT26335ABC124")
    short = stored("bn-3", "FT1")
    none = stored("bn-4", "")
    try:
        new = migrate(AFTER)
        keys = dict(
            new.get_model("payments", "BankNotification").objects.values_list("pk", "transfer_key")
        )
        assert keys[first] == "970436:0071001234567:in:153000:FT26335ABC123"
        assert keys[copy] is None  # the key is the first copy's
        assert keys[other] == "970436:0071001234567:in:153000:FT26335ABC124"
        assert keys[short] is None and keys[none] is None
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())  # every app at its latest again
