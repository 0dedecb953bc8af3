"""Payment intents through the service and `/api/v1/payments/intents`: limits, VietQR payload,
reference codes, Idempotency-Key, ownership, transitions, refunds and expiry."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.errors import Conflict, ValidationFailed
from core.models import AuditLog, IdempotencyKey
from merchants.models import Membership
from merchants.services import api_key_create
from payments import notifications, selectors, services, tasks, vietqr
from payments.models import LedgerEntry, PaymentIntent
from payments.providers import banknotify
from tests.factories import (
    BankAccountFactory,
    MerchantFactory,
    banknotify_payload,
    member_of,
    merchant_with_account,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/payments/intents"
S = PaymentIntent.Status


def create(client, merchant, amount=150_000, **extra):
    return client.post(
        URL,
        {"merchant_id": merchant.pk, "amount": amount, **extra.pop("body", {})},
        content_type="application/json",
        **extra,
    )


def bearer(merchant) -> dict[str, str]:
    owner = member_of(merchant)
    _key, raw = api_key_create(actor=owner, merchant=merchant, name="POS")
    return {"Authorization": f"Bearer {raw}"}


def pay(intent: PaymentIntent, amount: int | None = None) -> PaymentIntent:
    """The bank tells us the intent was paid (through the same service as the webhook)."""
    tx = banknotify.parse_transaction(
        banknotify_payload(
            account=intent.bank_account,
            amount=amount if amount is not None else intent.amount,
            description=intent.reference_code,
        )
    )
    notifications.notification_receive(tx=tx)
    intent.refresh_from_db()
    return intent


@pytest.fixture
def merchant():
    return merchant_with_account()


@pytest.fixture
def owner(merchant):
    return member_of(merchant)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


# --- the service ------------------------------------------------------------------------------


def test_it_builds_a_dynamic_vietqr_for_the_default_account(merchant):
    BankAccountFactory(merchant=merchant, is_default=False, bank_bin="970415")
    account = merchant.bank_accounts.get(is_default=True)

    intent = services.intent_create(merchant=merchant, amount=150_000)

    qr = vietqr.parse(intent.qr_payload)
    assert (qr.bin, qr.account) == (account.bank_bin, account.account_number)
    assert qr.amount == 150_000
    assert qr.purpose == intent.reference_code
    assert qr.initiation == "dynamic"
    assert intent.status == S.REQUIRES_PAYMENT
    assert (intent.bank_bin, intent.account_number) == (account.bank_bin, account.account_number)


def test_it_draws_reference_codes_from_the_readable_alphabet(merchant):
    pattern = re.compile(rf"^CS[{services.CODE_ALPHABET}]{{5}}$")

    codes = [
        services.intent_create(merchant=merchant, amount=1_000).reference_code for _ in range(30)
    ]

    assert all(pattern.match(code) for code in codes), codes
    assert len(set(codes)) == len(codes)


def test_it_finds_the_code_again_in_the_purpose_the_bank_echoes(merchant):
    intent = services.intent_create(merchant=merchant, amount=20_000)

    assert services.find_reference_codes(vietqr.parse(intent.qr_payload).purpose) == [
        intent.reference_code
    ]


@pytest.mark.parametrize("amount", [1_000, 500_000_000])
def test_it_accepts_the_limits(merchant, amount):
    assert services.intent_create(merchant=merchant, amount=amount).amount == amount


@pytest.mark.parametrize("amount", [999, 500_000_001, 0, -1_000, 1500.0, "150000", True, None])
def test_it_refuses_amounts_outside_the_limits_or_not_whole_dong(merchant, amount):
    with pytest.raises(ValidationFailed) as exc:
        services.intent_create(merchant=merchant, amount=amount)

    assert "amount" in exc.value.fields
    assert not PaymentIntent.objects.exists()
    assert not AuditLog.objects.filter(action="intent.create").exists()


def test_it_refuses_a_merchant_without_bank_account():
    with pytest.raises(ValidationFailed) as exc:
        services.intent_create(merchant=MerchantFactory(), amount=150_000)

    assert exc.value.code == "no_bank_account"
    assert not PaymentIntent.objects.exists()


def test_it_writes_an_audit_row_naming_the_creator(merchant, owner):
    intent = services.intent_create(merchant=merchant, amount=150_000, actor=owner)

    row = AuditLog.objects.get(action="intent.create", target_id=str(intent.pk))
    assert row.actor == owner
    assert row.data == {"amount": 150_000, "code": intent.reference_code, "method": "bank_qr"}
    assert intent.created_via == f"user:{owner.pk}"


# --- create through the API -------------------------------------------------------------------


def test_it_creates_an_intent_for_a_signed_in_trader(owner_client, merchant):
    response = create(owner_client, merchant, body={"reference": "DH-1", "description": "Cá thu"})

    assert response.status_code == 201, response.content
    body = response.json()
    intent = PaymentIntent.objects.get()
    assert body["id"] == intent.pk
    assert body["amount"] == 150_000
    assert body["status"] == "requires_payment"
    assert body["reference_code"] == intent.reference_code
    assert (body["reference"], body["description"]) == ("DH-1", "Cá thu")
    qr = vietqr.parse(body["qr_payload"])
    assert (qr.amount, qr.purpose) == (150_000, intent.reference_code)


def test_it_creates_an_intent_with_an_api_key(client, merchant):
    response = create(client, merchant, headers=bearer(merchant))

    assert response.status_code == 201, response.content
    intent = PaymentIntent.objects.get()
    assert intent.created_via.startswith("api_key:cs_")
    assert intent.created_by is None


def test_it_lets_a_cashier_create_an_intent(client, merchant):
    client.force_login(member_of(merchant, role=Membership.Role.CASHIER))

    assert create(client, merchant).status_code == 201


def test_it_refuses_an_anonymous_caller(client, merchant):
    response = create(client, merchant)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert not PaymentIntent.objects.exists()


def test_it_refuses_a_revoked_or_made_up_api_key(client, merchant):
    response = create(client, merchant, headers={"Authorization": "Bearer cs_live_made-up"})

    assert response.status_code == 401
    assert not PaymentIntent.objects.exists()


@pytest.mark.parametrize(
    "amount",
    [999, 500_000_001, 0, -5_000, 150_000.0, 1500.5, "150000", "150.000", True, None, [150_000]],
)
def test_it_answers_422_for_a_bad_amount(owner_client, merchant, amount):
    response = create(owner_client, merchant, amount=amount)

    assert response.status_code == 422, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "amount" in error["fields"]
    assert not PaymentIntent.objects.exists()


def test_it_answers_a_client_error_for_a_body_that_is_not_json(owner_client, merchant):
    response = owner_client.post(URL, data=b"{amount:", content_type="application/json")

    assert 400 <= response.status_code < 500
    assert "code" in response.json()["error"]
    assert not PaymentIntent.objects.exists()


def test_it_answers_no_bank_account_through_the_api(client):
    bare = MerchantFactory()
    client.force_login(member_of(bare))

    response = create(client, bare)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "no_bank_account"


def test_it_hides_another_merchants_shop_from_a_user(client, merchant):
    client.force_login(member_of(merchant_with_account()))

    response = create(client, merchant)

    assert response.status_code == 404
    assert not PaymentIntent.objects.exists()


def test_it_hides_another_merchants_shop_from_an_api_key(client, merchant):
    response = create(client, merchant, headers=bearer(merchant_with_account()))

    assert response.status_code == 404
    assert not PaymentIntent.objects.exists()


# --- Idempotency-Key --------------------------------------------------------------------------


def test_it_replays_the_saved_answer_for_the_same_idempotency_key(owner_client, merchant):
    key = {"Idempotency-Key": "8f14e45f-ceea-467f-a9f4-1a2b3c4d5e6f"}

    first = create(owner_client, merchant, headers=key)
    second = create(owner_client, merchant, headers=key)

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert PaymentIntent.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1


def test_it_refuses_the_same_idempotency_key_with_another_body(owner_client, merchant):
    key = {"Idempotency-Key": "order-77"}
    create(owner_client, merchant, headers=key)

    response = create(owner_client, merchant, amount=200_000, headers=key)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert PaymentIntent.objects.count() == 1


def test_it_does_not_save_a_failed_attempt_so_the_key_can_be_retried(owner_client, merchant):
    key = {"Idempotency-Key": "order-78"}
    merchant.bank_accounts.all().delete()
    assert create(owner_client, merchant, headers=key).status_code == 422

    BankAccountFactory(merchant=merchant)
    response = create(owner_client, merchant, headers=key)

    assert response.status_code == 201
    assert PaymentIntent.objects.count() == 1


def test_it_scopes_idempotency_keys_to_the_caller(client, merchant, owner):
    key = {"Idempotency-Key": "same-key"}
    cashier = member_of(merchant, role=Membership.Role.CASHIER)
    client.force_login(owner)
    first = create(client, merchant, headers=key).json()
    client.force_login(cashier)

    second = create(client, merchant, headers=key).json()

    assert first["id"] != second["id"]
    assert PaymentIntent.objects.count() == 2


# --- retrieve, list ---------------------------------------------------------------------------


def test_it_retrieves_an_intent_for_its_merchant(owner_client, merchant):
    intent = services.intent_create(merchant=merchant, amount=50_000)

    response = owner_client.get(f"{URL}/{intent.pk}")

    assert response.status_code == 200
    assert response.json()["reference_code"] == intent.reference_code


def test_it_hides_an_intent_from_another_merchants_user(client, merchant):
    intent = services.intent_create(merchant=merchant, amount=50_000)
    client.force_login(member_of(merchant_with_account()))

    response = client.get(f"{URL}/{intent.pk}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_it_hides_an_intent_from_another_merchants_api_key(client, merchant):
    intent = services.intent_create(merchant=merchant, amount=50_000)

    response = client.get(f"{URL}/{intent.pk}", headers=bearer(merchant_with_account()))

    assert response.status_code == 404


def test_it_answers_404_for_an_intent_that_does_not_exist(owner_client):
    assert owner_client.get(f"{URL}/987654").status_code == 404


def test_it_lists_only_the_merchants_own_intents(client, merchant):
    mine = [services.intent_create(merchant=merchant, amount=a) for a in (10_000, 20_000)]
    services.intent_create(merchant=merchant_with_account(), amount=30_000)

    response = client.get(URL, {"merchant_id": merchant.pk}, headers=bearer(merchant))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert {item["id"] for item in body["items"]} == {i.pk for i in mine}


def test_it_filters_the_list_by_status(owner_client, merchant):
    services.intent_create(merchant=merchant, amount=10_000)
    paid = pay(services.intent_create(merchant=merchant, amount=20_000))

    response = owner_client.get(URL, {"merchant_id": merchant.pk, "status": "succeeded"})

    assert [item["id"] for item in response.json()["items"]] == [paid.pk]


def test_it_refuses_to_list_another_merchants_intents(client, merchant):
    services.intent_create(merchant=merchant, amount=10_000)
    client.force_login(member_of(merchant_with_account()))

    response = client.get(URL, {"merchant_id": merchant.pk})

    assert response.status_code == 404


def test_it_refuses_to_list_another_merchants_intents_to_an_api_key(client, merchant):
    response = client.get(
        URL, {"merchant_id": merchant.pk}, headers=bearer(merchant_with_account())
    )

    assert response.status_code == 404


# --- cancel -----------------------------------------------------------------------------------


def test_it_lets_a_cashier_cancel_an_intent(client, merchant):
    cashier = member_of(merchant, role=Membership.Role.CASHIER)
    client.force_login(cashier)
    intent = services.intent_create(merchant=merchant, amount=50_000)

    response = client.post(f"{URL}/{intent.pk}/cancel")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "canceled"
    intent.refresh_from_db()
    assert intent.status == S.CANCELED
    assert intent.canceled_at is not None
    assert AuditLog.objects.get(action="intent.cancel", target_id=str(intent.pk)).actor == cashier


def test_it_cancels_twice_without_a_second_audit_row(owner_client, merchant):
    intent = services.intent_create(merchant=merchant, amount=50_000)
    owner_client.post(f"{URL}/{intent.pk}/cancel")

    response = owner_client.post(f"{URL}/{intent.pk}/cancel")

    assert response.status_code == 200
    assert AuditLog.objects.filter(action="intent.cancel").count() == 1


def test_it_refuses_to_cancel_another_merchants_intent(client, merchant):
    intent = services.intent_create(merchant=merchant, amount=50_000)

    response = client.post(f"{URL}/{intent.pk}/cancel", headers=bearer(merchant_with_account()))

    assert response.status_code == 404
    intent.refresh_from_db()
    assert intent.status == S.REQUIRES_PAYMENT


def test_it_refuses_to_cancel_a_succeeded_intent(owner_client, merchant):
    intent = pay(services.intent_create(merchant=merchant, amount=50_000))

    response = owner_client.post(f"{URL}/{intent.pk}/cancel")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "intent_not_cancelable"
    intent.refresh_from_db()
    assert intent.status == S.SUCCEEDED


def test_it_refuses_to_cancel_an_expired_intent(merchant):
    intent = services.intent_create(merchant=merchant, amount=50_000)
    services.intents_expire_due(now=intent.expires_at)

    with pytest.raises(Conflict) as exc:
        services.intent_cancel(intent_id=intent.pk, actor=None, actor_label="test")

    assert exc.value.code == "intent_not_cancelable"


# --- refund -----------------------------------------------------------------------------------


def refund(client, intent, amount, reason="Khách trả lại hàng", **extra):
    return client.post(
        f"{URL}/{intent.pk}/refund",
        {"amount": amount, "reason": reason},
        content_type="application/json",
        **extra,
    )


def test_it_refunds_in_parts_then_in_full(owner_client, merchant):
    intent = pay(services.intent_create(merchant=merchant, amount=100_000))

    first = refund(owner_client, intent, 30_000)
    second = refund(owner_client, intent, 70_000)

    assert first.status_code == second.status_code == 200
    assert first.json()["status"] == "partially_refunded"
    assert second.json()["status"] == "refunded"
    intent.refresh_from_db()
    assert intent.amount_refunded == 100_000
    refunds = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND, intent=intent)
    assert sorted(e.amount for e in refunds) == [-70_000, -30_000]
    assert all(e.notification_id is None for e in refunds)
    assert selectors.balance_of(merchant=merchant) == 0
    assert AuditLog.objects.filter(action="intent.refund", target_id=str(intent.pk)).count() == 2


def test_it_lets_an_api_key_refund(client, merchant):
    intent = pay(services.intent_create(merchant=merchant, amount=100_000))

    response = refund(client, intent, 100_000, headers=bearer(merchant))

    assert response.status_code == 200
    assert response.json()["status"] == "refunded"


def test_it_refuses_a_refund_by_a_cashier(client, merchant):
    intent = pay(services.intent_create(merchant=merchant, amount=100_000))
    client.force_login(member_of(merchant, role=Membership.Role.CASHIER))

    response = refund(client, intent, 10_000)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).exists()


def test_it_hides_another_merchants_intent_from_refunds(client, merchant):
    intent = pay(services.intent_create(merchant=merchant, amount=100_000))
    client.force_login(member_of(merchant_with_account()))

    assert refund(client, intent, 10_000).status_code == 404
    intent.refresh_from_db()
    assert intent.amount_refunded == 0


def test_it_refuses_to_refund_more_than_received(owner_client, merchant):
    intent = pay(services.intent_create(merchant=merchant, amount=100_000))
    refund(owner_client, intent, 60_000)

    response = refund(owner_client, intent, 40_001)

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "refund_too_large"
    intent.refresh_from_db()
    assert (intent.amount_refunded, intent.status) == (60_000, S.PARTIALLY_REFUNDED)


def test_it_refunds_an_overpayment_up_to_what_was_received(owner_client, merchant):
    intent = pay(services.intent_create(merchant=merchant, amount=100_000), amount=120_000)

    response = refund(owner_client, intent, 120_000)

    assert response.status_code == 200
    assert response.json()["status"] == "refunded"


@pytest.mark.parametrize("state", ["requires_payment", "canceled", "expired"])
def test_it_refuses_to_refund_an_unpaid_intent(owner_client, merchant, state):
    intent = services.intent_create(merchant=merchant, amount=100_000)
    PaymentIntent.objects.filter(pk=intent.pk).update(status=state)

    response = refund(owner_client, intent, 10_000)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "intent_not_paid"
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize(
    ("amount", "reason"),
    [(0, "x"), (-1, "x"), (1.5, "x"), ("10000", "x"), (True, "x"), (10_000, "   ")],
)
def test_it_answers_422_for_a_bad_refund(owner_client, merchant, amount, reason):
    intent = pay(services.intent_create(merchant=merchant, amount=100_000))

    response = refund(owner_client, intent, amount, reason=reason)

    assert response.status_code == 422, response.content
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).exists()


# --- expiry -----------------------------------------------------------------------------------


def test_it_expires_only_due_intents_waiting_for_payment(merchant):
    due = services.intent_create(merchant=merchant, amount=10_000, ttl_minutes=5)
    not_due = services.intent_create(merchant=merchant, amount=20_000, ttl_minutes=60)
    canceled = services.intent_create(merchant=merchant, amount=30_000, ttl_minutes=5)
    services.intent_cancel(intent_id=canceled.pk, actor=None, actor_label="test")
    paid = pay(services.intent_create(merchant=merchant, amount=40_000, ttl_minutes=5))
    later = timezone.now() + timedelta(minutes=10)

    assert services.intents_expire_due(now=later) == 1

    statuses = dict(PaymentIntent.objects.values_list("pk", "status"))
    assert statuses == {
        due.pk: S.EXPIRED,
        not_due.pk: S.REQUIRES_PAYMENT,
        canceled.pk: S.CANCELED,
        paid.pk: S.SUCCEEDED,
    }
    audit = AuditLog.objects.get(action="intent.expire")
    assert (audit.target_id, audit.actor_label) == (str(due.pk), "task:expire")


def test_it_is_safe_to_expire_twice(merchant):
    services.intent_create(merchant=merchant, amount=10_000, ttl_minutes=5)
    later = timezone.now() + timedelta(minutes=10)

    assert services.intents_expire_due(now=later) == 1
    assert services.intents_expire_due(now=later) == 0
    assert AuditLog.objects.filter(action="intent.expire").count() == 1


def test_it_expires_at_the_exact_deadline_and_not_before(merchant):
    intent = services.intent_create(merchant=merchant, amount=10_000)

    assert services.intents_expire_due(now=intent.expires_at - timedelta(seconds=1)) == 0
    assert services.intents_expire_due(now=intent.expires_at) == 1


def test_it_expires_from_the_periodic_task_when_time_passes(merchant, settings):
    intent = services.intent_create(merchant=merchant, amount=10_000)

    with time_machine.travel(
        timezone.now() + timedelta(minutes=settings.PAYMENT_INTENT_TTL_MINUTES + 1)
    ):
        assert tasks.expire_intents.apply().get(disable_sync_subtasks=False) == 1

    intent.refresh_from_db()
    assert intent.status == S.EXPIRED


def test_it_says_a_fully_refunded_intent_has_nothing_left_to_refund(owner_client, merchant):
    intent = pay(services.intent_create(merchant=merchant, amount=100_000))
    assert refund(owner_client, intent, 100_000).status_code == 200

    again = refund(owner_client, intent, 1_000)

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "intent_already_refunded"
