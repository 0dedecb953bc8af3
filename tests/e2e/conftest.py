from __future__ import annotations

import pytest

from sandboxes.banknotify import BankNotifySandbox


@pytest.fixture
def bank(live_server, settings):
    """The sandbox bank, notifying this test's live server of every transfer."""
    settings.BANKNOTIFY_WEBHOOK_SECRET = "e2e-secret"
    sandbox = BankNotifySandbox(
        webhook_url=f"{live_server.url}/api/v1/payments/webhooks/banknotify",
        webhook_secret="e2e-secret",
        api_key="e2e-key",
        backoff_base=0.05,
    ).start()
    settings.BANKNOTIFY_URL = sandbox.url
    yield sandbox
    sandbox.stop()
