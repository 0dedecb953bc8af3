"""The e-wallet path end to end over real HTTP: the platform's adapter uses the SDK to talk to
the sandbox wallet; the sandbox's signed webhooks come back to a live server; settlement is the
same exactly-once step as bank transfers (ledger, live event, signal)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from payments import selectors, services
from payments.ewallet import ewallet_reconcile
from payments.models import LedgerEntry, PaymentIntent, Refund, WalletEvent
from payments.signals import payment_succeeded
from sandboxes.ewallet import EWalletSandbox
from tests.factories import member_of, merchant_with_account

pytestmark = pytest.mark.django_db(transaction=True)

S = PaymentIntent.Status
SECRET = "test-ewallet-secret"
KEY = "sk_test_choso"


@pytest.fixture
def wallet(live_server, settings):
    sandbox = EWalletSandbox(
        webhook_url=f"{live_server.url}/api/v1/payments/webhooks/ewallet",
        webhook_secret=SECRET,
        api_keys=[KEY],
        backoff_base=0.02,
    ).start()
    settings.EWALLET_URL = sandbox.url
    settings.EWALLET_API_KEY = KEY
    settings.EWALLET_WEBHOOK_SECRET = SECRET
    yield sandbox
    sandbox.stop()


@pytest.fixture
def merchant():
    return merchant_with_account(display_name="Hải sản Hùng Thọ Quang")


@pytest.fixture
def owner_client(client, merchant):
    client.force_login(member_of(merchant))
    return client


def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def new_intent(merchant, amount: int = 85_000) -> PaymentIntent:
    return services.intent_create(merchant=merchant, amount=amount, method="ewallet")


def status_of(intent: PaymentIntent) -> str:
    intent.refresh_from_db()
    return intent.status


def test_it_creates_a_provider_payment_whose_pay_page_is_the_qr(wallet, owner_client, merchant):
    response = owner_client.post(
        "/api/v1/payments/intents",
        {"merchant_id": merchant.pk, "amount": 85_000, "method": "ewallet"},
        content_type="application/json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["method"] == "ewallet"
    assert body["provider_payment_id"].startswith("pay_")
    assert body["qr_payload"].startswith(wallet.url + "/pay/")
    assert body["status"] == "requires_payment"


def test_it_settles_once_when_the_shopper_approves(wallet, merchant):
    received = []
    payment_succeeded.connect(lambda **kw: received.append(kw), weak=False, dispatch_uid="t1")
    try:
        intent = new_intent(merchant)
        wallet.approve(intent.provider_payment_id, phone="0909000001")
        wait_for(lambda: status_of(intent) == S.SUCCEEDED)
        assert wallet.wait_idle(timeout=10)
    finally:
        payment_succeeded.disconnect(dispatch_uid="t1")

    intent.refresh_from_db()
    assert intent.amount_received == 85_000
    entries = LedgerEntry.objects.filter(intent=intent)
    assert [(e.kind, e.amount) for e in entries] == [("settlement", 85_000)]
    assert entries[0].wallet_event is not None
    assert [r["intent_id"] for r in received] == [intent.pk]


def test_it_settles_once_under_duplicated_webhooks(wallet, merchant):
    wallet.set_knobs(duplicate_webhooks=True)
    intents = [new_intent(merchant, 10_000 + i * 1_000) for i in range(5)]

    for intent in reversed(intents):  # approved out of creation order
        wallet.approve(intent.provider_payment_id, phone="0909000002")
    assert wallet.wait_idle(timeout=15)
    wait_for(lambda: all(status_of(i) == S.SUCCEEDED for i in intents))

    settled = LedgerEntry.objects.filter(kind="settlement", intent__in=intents)
    assert settled.count() == 5
    assert selectors.balance_of(merchant=merchant) == sum(i.amount for i in intents)
    assert (
        WalletEvent.objects.filter(outcome="duplicate").count() == 0
    )  # same event id: stored once


def test_it_cancels_the_intent_when_the_shopper_declines(wallet, merchant):
    intent = new_intent(merchant)

    wallet.decline(intent.provider_payment_id)
    wait_for(lambda: status_of(intent) == S.CANCELED)

    intent.refresh_from_db()
    assert intent.failure_reason == "declined_by_shopper"
    assert not LedgerEntry.objects.filter(intent=intent).exists()


def test_a_lost_webhook_is_caught_by_the_periodic_check(wallet, merchant):
    wallet.set_knobs(drop_webhooks=True)
    intent = new_intent(merchant)
    wallet.approve(intent.provider_payment_id, phone="0909000003")
    assert status_of(intent) == S.REQUIRES_PAYMENT

    first = ewallet_reconcile(older_than_seconds=0)
    again = ewallet_reconcile(older_than_seconds=0)

    assert first == {"checked": 1, "settled": 1}
    assert again == {"checked": 0, "settled": 0}
    assert status_of(intent) == S.SUCCEEDED
    assert LedgerEntry.objects.filter(intent=intent, kind="settlement").count() == 1


def test_it_refunds_through_the_provider_and_counts_it_once(wallet, owner_client, merchant):
    intent = new_intent(merchant)
    wallet.approve(intent.provider_payment_id, phone="0909000004")
    wait_for(lambda: status_of(intent) == S.SUCCEEDED)

    response = owner_client.post(
        f"/api/v1/payments/intents/{intent.pk}/refund",
        {"amount": 20_000, "reason": "Cá không tươi"},
        content_type="application/json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "partially_refunded"
    assert wallet.wait_idle(timeout=10)  # the refund.succeeded webhook arrived too
    refund = Refund.objects.get(intent=intent)
    assert refund.status == "succeeded"
    assert refund.provider_refund_id.startswith("re_")
    refunds = LedgerEntry.objects.filter(intent=intent, kind="refund")
    assert [e.amount for e in refunds] == [-20_000]
    assert selectors.balance_of(merchant=merchant) == 65_000


def test_it_refuses_a_refund_larger_than_what_is_left(wallet, owner_client, merchant):
    intent = new_intent(merchant)
    wallet.approve(intent.provider_payment_id, phone="0909000005")
    wait_for(lambda: status_of(intent) == S.SUCCEEDED)
    url = f"/api/v1/payments/intents/{intent.pk}/refund"
    owner_client.post(url, {"amount": 80_000, "reason": "Trả lại"}, content_type="application/json")

    response = owner_client.post(
        url, {"amount": 10_000, "reason": "Trả thêm"}, content_type="application/json"
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "refund_too_large"
    assert "vượt quá" in response.json()["error"]["fields"]["amount"][0]


def test_it_answers_503_and_keeps_nothing_payable_when_the_wallet_is_down(
    wallet, owner_client, merchant
):
    wallet.set_knobs(error_rate=1.0)

    response = owner_client.post(
        "/api/v1/payments/intents",
        {"merchant_id": merchant.pk, "amount": 85_000, "method": "ewallet"},
        content_type="application/json",
    )

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "provider_unavailable"
    assert PaymentIntent.objects.get().status == S.CANCELED


def test_a_request_retried_after_the_wallet_was_down_gets_a_fresh_payable_intent(
    wallet, owner_client, merchant
):
    wallet.set_knobs(error_rate=1.0)
    ask = {"merchant_id": merchant.pk, "amount": 85_000, "method": "ewallet"}
    headers = {"Idempotency-Key": "vi-1"}
    down = owner_client.post(
        "/api/v1/payments/intents", ask, content_type="application/json", headers=headers
    )
    assert down.status_code == 503

    wallet.set_knobs(error_rate=0.0)
    again = owner_client.post(
        "/api/v1/payments/intents", ask, content_type="application/json", headers=headers
    )

    assert again.status_code == 201, again.content
    assert again.json()["status"] == "requires_payment"
    assert again.json()["provider_payment_id"].startswith("pay_")
    statuses = sorted(PaymentIntent.objects.values_list("status", flat=True))
    assert statuses == [S.CANCELED, S.REQUIRES_PAYMENT]


def test_a_request_whose_worker_died_before_the_wallet_call_resumes_its_intent(wallet, merchant):
    from core.idempotency import effect_key

    key = effect_key("test:intent", "vi-2")
    # The first attempt committed its intent, then died before asking the wallet for a payment.
    first = PaymentIntent.objects.create(
        merchant=merchant,
        amount=85_000,
        method="ewallet",
        reference_code="CSVI2AB",
        expires_at=timezone.now() + timedelta(minutes=15),
        created_via="test",
        request_key=key,
    )

    resumed = services.intent_create(
        merchant=merchant, amount=85_000, method="ewallet", request_key=key
    )
    again = services.intent_create(
        merchant=merchant, amount=85_000, method="ewallet", request_key=key
    )

    assert resumed.pk == again.pk == first.pk
    assert resumed.provider_payment_id.startswith("pay_")
    assert again.provider_payment_id == resumed.provider_payment_id
    assert PaymentIntent.objects.count() == 1


def test_it_rejects_a_webhook_with_a_bad_signature(client):
    response = client.post(
        "/api/v1/payments/webhooks/ewallet",
        b'{"id": "evt_x", "type": "payment.succeeded"}',
        content_type="application/json",
        HTTP_WALLET_SIGNATURE="t=1,v1=00",
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert not WalletEvent.objects.exists()


def test_it_refuses_an_e_wallet_amount_above_the_wallet_limit(merchant):
    from core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        services.intent_create(merchant=merchant, amount=50_000_001, method="ewallet")
    assert not PaymentIntent.objects.exists()
