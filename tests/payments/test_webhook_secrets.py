"""An empty webhook secret refuses every delivery, whatever DEBUG says: anyone can compute an
HMAC with an empty key, so a forged "the money arrived" would otherwise be accepted."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from payments.models import BankNotification, LedgerEntry, WalletEvent
from payments.providers import banknotify
from payments.providers import ewallet as wallet
from tests.factories import BANKNOTIFY_WEBHOOK_URL, banknotify_payload, merchant_with_account
from tests.sdk.conftest import payment_json

pytestmark = pytest.mark.django_db

EMPTY_SECRETS = ["", "   "]


def _hmac(body: bytes, secret: str, t: int) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("secret", EMPTY_SECRETS)
def test_it_refuses_a_bank_notification_when_no_secret_is_configured(
    client, settings, debug, secret
) -> None:
    settings.DEBUG = debug
    settings.BANKNOTIFY_WEBHOOK_SECRET = secret
    account = merchant_with_account().bank_accounts.get()
    body = json.dumps(banknotify_payload(account=account)).encode()
    t = int(time.time())
    # Signed exactly as the verifier would compute it with the configured (empty) key.
    header = f"t={t},v1={_hmac(body, secret, t)}"

    response = client.post(
        BANKNOTIFY_WEBHOOK_URL,
        data=body,
        content_type="application/json",
        headers={banknotify.SIGNATURE_HEADER: header},
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert not BankNotification.objects.exists()
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize("secret", EMPTY_SECRETS)
def test_it_never_verifies_a_bank_signature_against_an_empty_secret(secret) -> None:
    body = b'{"id": "1"}'
    t = int(time.time())

    with pytest.raises(banknotify.SignatureError, match="no webhook secret"):
        banknotify.verify_signature(body, f"t={t},v1={_hmac(body, secret, t)}", secret)


def _wallet_event() -> bytes:
    event = {
        "id": "evt_0123456789abcdef01234567",
        "object": "event",
        "type": "payment.succeeded",
        "created": int(time.time()),
        "data": {"object": payment_json(status="succeeded", wallet_phone="+84909000001")},
    }
    return json.dumps(event, separators=(",", ":")).encode()


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize("secret", EMPTY_SECRETS)
def test_it_refuses_an_e_wallet_event_when_no_secret_is_configured(
    client, settings, debug, secret
) -> None:
    settings.DEBUG = debug
    settings.EWALLET_WEBHOOK_SECRET = secret
    body = _wallet_event()
    t = int(time.time())

    response = client.post(
        "/api/v1/payments/webhooks/ewallet",
        body,
        content_type="application/json",
        headers={"Wallet-Signature": f"t={t},v1={_hmac(body, secret, t)}"},
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert not WalletEvent.objects.exists()


def test_it_refuses_in_the_adapter_before_reading_the_event(settings) -> None:
    settings.EWALLET_WEBHOOK_SECRET = ""

    with pytest.raises(wallet.WalletSignatureError, match="no webhook secret"):
        wallet.parse_event(_wallet_event(), "t=1,v1=00")
