"""The bank-notification webhook: signature, timestamp, payload checks, stored before processing,
duplicates acknowledged without effect."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from core.models import AuditLog
from payments import notifications, services
from payments.models import BankNotification, LedgerEntry, PaymentIntent
from payments.providers import banknotify
from tests.factories import (
    BANKNOTIFY_WEBHOOK_URL,
    banknotify_deliver,
    banknotify_payload,
    banknotify_signed,
    merchant_with_account,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant():
    return merchant_with_account()


@pytest.fixture
def account(merchant):
    return merchant.bank_accounts.get()


@pytest.fixture
def intent(merchant):
    return services.intent_create(merchant=merchant, amount=150_000)


def post_raw(client, body: bytes, signature: str | None):
    headers = {banknotify.SIGNATURE_HEADER: signature} if signature is not None else {}
    return client.post(
        BANKNOTIFY_WEBHOOK_URL, data=body, content_type="application/json", headers=headers
    )


def assert_nothing_stored() -> None:
    assert not BankNotification.objects.exists()
    assert not LedgerEntry.objects.exists()
    assert not PaymentIntent.objects.exclude(status="requires_payment").exists()


# --- accepted ---------------------------------------------------------------------------------


def test_it_acknowledges_a_signed_notification(client, account, intent):
    payload = banknotify_payload(account=account, description=intent.reference_code)

    response = banknotify_deliver(client, payload)

    assert response.status_code == 200
    assert response.json() == {"success": True, "outcome": "settled"}


def test_it_stores_the_notification_as_received(client, account, intent):
    payload = banknotify_payload(
        account=account, description=f"{intent.reference_code} ca thu", reference="FT26001"
    )

    banknotify_deliver(client, payload)

    row = BankNotification.objects.get()
    assert row.provider_id == payload["id"]
    assert row.payload == payload
    assert (row.bank_bin, row.account_number) == (account.bank_bin, account.account_number)
    assert (row.amount, row.description, row.bank_reference) == (
        150_000,
        payload["description"],
        "FT26001",
    )
    assert (row.received_via, row.outcome) == ("webhook", BankNotification.Outcome.SETTLED)
    assert row.processed_at is not None
    assert (row.merchant_id, row.intent_id) == (intent.merchant_id, intent.pk)
    audit = AuditLog.objects.get(action="bank_notification.settled")
    assert audit.actor_label == f"webhook:banknotify:{payload['id']}"


def test_it_accepts_a_timestamp_just_inside_the_tolerance(client, account, settings):
    payload = banknotify_payload(account=account)
    timestamp = int(time.time()) - settings.BANKNOTIFY_TOLERANCE_SECONDS + 5

    response = banknotify_deliver(client, payload, timestamp=timestamp)

    assert response.status_code == 200


def test_it_accepts_a_numeric_provider_id(client, account):
    payload = banknotify_payload(account=account, provider_id=None)
    payload["id"] = 90817263

    assert banknotify_deliver(client, payload).status_code == 200
    assert BankNotification.objects.get().provider_id == "90817263"


def test_it_accepts_one_of_several_signatures_during_secret_rotation(client, account):
    body, good = banknotify_signed(banknotify_payload(account=account))
    _, old = banknotify_signed(body, secret="old-secret")
    header = f"{old},v1={good.split('v1=')[1]}"

    assert post_raw(client, body, header).status_code == 200


# --- refused: signature -----------------------------------------------------------------------


def test_it_refuses_a_notification_without_signature(client, account, intent):
    body = json.dumps(banknotify_payload(account=account, description=intent.reference_code))

    response = post_raw(client, body.encode(), None)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert_nothing_stored()


@pytest.mark.parametrize(
    "header",
    ["", "garbage", "t=,v1=", "v1=abcd", "t=notanumber,v1=abcd", "t=1700000000", "t={now},v1=00"],
)
def test_it_refuses_a_malformed_signature_header(client, account, intent, header):
    body, _ = banknotify_signed(banknotify_payload(account=account))

    response = post_raw(client, body, header.format(now=int(time.time())))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert_nothing_stored()


def test_it_refuses_a_notification_signed_with_another_secret(client, account, intent):
    payload = banknotify_payload(account=account, description=intent.reference_code)

    response = banknotify_deliver(client, payload, secret="not-our-secret")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert_nothing_stored()


def test_it_refuses_a_body_changed_after_signing(client, account, intent):
    payload = banknotify_payload(account=account, description=intent.reference_code)
    _, signature = banknotify_signed(payload)
    payload["amount"] = 150_000_000

    response = post_raw(client, json.dumps(payload).encode(), signature)

    assert response.status_code == 401
    assert_nothing_stored()


@pytest.mark.parametrize("offset", [-301, -3600, +301, +86_400])
def test_it_refuses_a_stale_or_far_future_timestamp(client, account, intent, offset):
    payload = banknotify_payload(account=account, description=intent.reference_code)

    response = banknotify_deliver(client, payload, timestamp=int(time.time()) + offset)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_signature"
    assert_nothing_stored()


# --- refused: payload -------------------------------------------------------------------------


def _without(field: str):
    def make(account):
        payload = banknotify_payload(account=account)
        del payload[field]
        return payload

    return make


def _with(**changes):
    def make(account):
        return {**banknotify_payload(account=account), **changes}

    return make


BAD_PAYLOADS = {
    "not json": lambda account: b"{not json",
    "not utf-8": lambda account: b'{"id": "\xff\xfe"}',
    "empty": lambda account: b"",
    "a list": lambda account: [banknotify_payload(account=account)],
    "a string": lambda account: "150000",
    "null": lambda account: None,
    "no id": _without("id"),
    "no bin": _without("bin"),
    "no account": _without("account_number"),
    "no amount": _without("amount"),
    "no date": _without("transaction_date"),
    "amount as text": _with(amount="150000"),
    "amount as float": _with(amount=150000.0),
    "amount fractional": _with(amount=1500.5),
    "amount zero": _with(amount=0),
    "amount negative": _with(amount=-150_000),
    "amount true": _with(amount=True),
    "amount null": _with(amount=None),
    "amount huge": _with(amount=10**20),
    "date not a date": _with(transaction_date="hôm qua"),
    "date without offset": _with(transaction_date="2026-03-01T10:00:00"),
    "date null": _with(transaction_date=None),
    "empty id": _with(id=""),
    "bin too long": _with(bin="9704360000"),
    "account too long": _with(account_number="1" * 40),
    "transfer type unknown": _with(transfer_type="sideways"),
    "nul character": _with(description="CS\x00AAAAA"),
    "lone surrogate": _with(counter_name="TRAN \ud800"),
    "date out of range": _with(transaction_date="0001-01-01T00:00:00+14:00"),
    "description not text": _with(description={"code": "CS"}),
    "id not text": _with(id=["bn-1"]),
}


@pytest.mark.parametrize("make", BAD_PAYLOADS.values(), ids=BAD_PAYLOADS.keys())
def test_it_answers_422_for_a_bad_payload_and_stores_nothing(account, intent, make):
    payload = make(account)
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    _, signature = banknotify_signed(body)

    response = post_raw(Client(raise_request_exception=False), body, signature)

    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "bad_payload"
    assert_nothing_stored()


# --- stored first, processed once -------------------------------------------------------------


def crash(*args, **kwargs):
    """Patched over the audit write, the last step of processing: by then the intent was changed
    and the ledger entry written, so a crash there shows whether the settlement is atomic."""
    raise RuntimeError("processing crashed")


def test_it_acknowledges_a_duplicate_delivery_without_any_change(client, account, intent):
    payload = banknotify_payload(account=account, description=intent.reference_code)
    banknotify_deliver(client, payload)
    audit_rows = AuditLog.objects.count()

    response = banknotify_deliver(client, payload)

    assert response.status_code == 200
    assert response.json() == {"success": True, "outcome": "settled"}
    assert BankNotification.objects.count() == 1
    assert LedgerEntry.objects.count() == 1
    assert AuditLog.objects.count() == audit_rows


def test_it_keeps_the_first_body_when_a_provider_id_comes_back_changed(client, account, intent):
    payload = banknotify_payload(account=account, description=intent.reference_code)
    banknotify_deliver(client, payload)

    response = banknotify_deliver(client, {**payload, "amount": 990_000})

    assert response.status_code == 200
    assert BankNotification.objects.get().amount == 150_000
    intent.refresh_from_db()
    assert intent.amount_received == 150_000
    assert LedgerEntry.objects.get().amount == 150_000


def test_it_keeps_the_notification_and_nothing_else_when_processing_fails(
    account, intent, monkeypatch
):
    payload = banknotify_payload(account=account, description=intent.reference_code)

    monkeypatch.setattr(notifications, "audit_record", crash)
    response = banknotify_deliver(Client(raise_request_exception=False), payload)

    assert response.status_code == 500  # the provider retries
    row = BankNotification.objects.get()
    assert (row.outcome, row.processed_at) == (BankNotification.Outcome.PENDING, None)
    assert not LedgerEntry.objects.exists()
    intent.refresh_from_db()
    assert intent.status == PaymentIntent.Status.REQUIRES_PAYMENT


def test_it_processes_a_stored_notification_when_the_provider_retries(
    client, account, intent, monkeypatch
):
    payload = banknotify_payload(account=account, description=intent.reference_code)
    with monkeypatch.context() as patch:
        patch.setattr(notifications, "audit_record", crash)
        banknotify_deliver(Client(raise_request_exception=False), payload)

    response = banknotify_deliver(client, payload)

    assert response.json() == {"success": True, "outcome": "settled"}
    intent.refresh_from_db()
    assert intent.status == PaymentIntent.Status.SUCCEEDED
    assert LedgerEntry.objects.count() == 1


# --- reconciliation against the sandbox provider ---------------------------------------------


@pytest.fixture
def bank(settings):
    """The sandbox provider with webhooks switched off (knob `drop`): only reconciliation sees
    the transfers. Our settings point at it."""
    from sandboxes.banknotify import BankNotifySandbox

    api_key = "reconcile-test-key"
    with BankNotifySandbox(
        "http://127.0.0.1:9/unreachable", settings.BANKNOTIFY_WEBHOOK_SECRET, api_key, timeout=1
    ) as sandbox:
        sandbox.set_knobs(drop=True)
        settings.BANKNOTIFY_URL = sandbox.url
        settings.BANKNOTIFY_API_KEY = api_key
        yield sandbox


def test_it_settles_a_payment_whose_webhook_never_came(bank, account, intent):
    from payments.reconcile import reconcile_bank_transactions

    sent = bank.pay_qr(intent.qr_payload, counter_account="0011004123456")[0]
    assert not BankNotification.objects.exists()

    assert reconcile_bank_transactions() == {"listed": 1, "new": 1, "retried": 0}

    row = BankNotification.objects.get()
    assert (row.provider_id, row.received_via, row.outcome) == (sent["id"], "reconcile", "settled")
    intent.refresh_from_db()
    assert intent.status == PaymentIntent.Status.SUCCEEDED
    assert (intent.amount_received, intent.bank_reference) == (150_000, sent["reference"])
    assert LedgerEntry.objects.get().notification == row
    assert bank.deliveries() == []


def test_it_changes_nothing_when_reconciling_twice(bank, account, intent):
    from payments.reconcile import reconcile_bank_transactions

    bank.pay_qr(intent.qr_payload)
    bank.transfer(bin=account.bank_bin, account_number=account.account_number, amount=20_000)
    assert reconcile_bank_transactions() == {"listed": 2, "new": 2, "retried": 0}
    before = [list(m.objects.order_by("pk").values()) for m in (BankNotification, LedgerEntry)]
    audit_rows = AuditLog.objects.count()

    assert reconcile_bank_transactions() == {"listed": 2, "new": 0, "retried": 0}

    after = [list(m.objects.order_by("pk").values()) for m in (BankNotification, LedgerEntry)]
    assert after == before
    assert len(after[1]) == 2
    assert AuditLog.objects.count() == audit_rows
    intent.refresh_from_db()
    assert intent.amount_received == 150_000


def test_it_leaves_alone_what_the_webhook_already_brought(client, bank, account, intent):
    from payments.reconcile import reconcile_bank_transactions

    sent = bank.pay_qr(intent.qr_payload)[0]
    banknotify_deliver(client, sent)  # the webhook did arrive, after all

    assert reconcile_bank_transactions() == {"listed": 1, "new": 0, "retried": 0}

    assert BankNotification.objects.get().received_via == "webhook"
    assert LedgerEntry.objects.count() == 1


def test_it_finishes_a_notification_left_unprocessed(bank, account, intent, monkeypatch):
    from payments.reconcile import reconcile_bank_transactions

    payload = banknotify_payload(account=account, description=intent.reference_code)
    with monkeypatch.context() as patch:
        patch.setattr(notifications, "audit_record", crash)
        banknotify_deliver(Client(raise_request_exception=False), payload)

    assert reconcile_bank_transactions() == {"listed": 0, "new": 0, "retried": 1}

    assert BankNotification.objects.get().outcome == "settled"
    intent.refresh_from_db()
    assert intent.status == PaymentIntent.Status.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_it_settles_what_the_sandbox_delivers_over_http_exactly_once(live_server, settings):
    """The sandbox's real deliveries (each sent twice: knob `duplicate`) verify and settle once."""
    from sandboxes.banknotify import BankNotifySandbox

    merchant = merchant_with_account()
    intent = services.intent_create(merchant=merchant, amount=150_000)
    webhook = live_server.url + BANKNOTIFY_WEBHOOK_URL
    with BankNotifySandbox(
        webhook, settings.BANKNOTIFY_WEBHOOK_SECRET, "k", backoff_base=0.01
    ) as sandbox:
        sandbox.set_knobs(duplicate=True)
        sandbox.pay_qr(intent.qr_payload)
        assert sandbox.wait_idle(10)
        deliveries = sandbox.deliveries()

    assert [(d["status"], d["ok"]) for d in deliveries] == [(200, True), (200, True)]
    intent.refresh_from_db()
    assert intent.status == PaymentIntent.Status.SUCCEEDED
    assert LedgerEntry.objects.count() == BankNotification.objects.count() == 1


def test_it_reconciles_the_readable_rows_when_one_listed_row_is_malformed(
    account, intent, settings, caplog
):
    """A provider listing with one bad row: the others are still settled, the bad one logged."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from payments.reconcile import reconcile_bank_transactions

    good = banknotify_payload(account=account, description=intent.reference_code)
    listing = json.dumps({"transactions": [{**good, "id": "x" * 65}, good]}).encode()

    class Provider(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(listing)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    settings.BANKNOTIFY_URL = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        result = reconcile_bank_transactions()
    finally:
        server.shutdown()
        server.server_close()

    assert result == {"listed": 1, "new": 1, "retried": 0}
    assert BankNotification.objects.get().provider_id == good["id"]
    assert "cannot read" in caplog.text


def test_a_copy_of_a_transfer_to_an_account_not_yet_ours_is_booked_once_it_is(client):
    """The first copy of a transfer came while the account was nobody's here (not booked); the
    trader then adds the account, and another provider's copy of the same transfer arrives: it
    is booked, once."""
    from tests.factories import BankAccountFactory, MerchantFactory, assert_ledger_invariant

    first = banknotify_payload(
        bank_bin="970436", account_number="0041009998887", amount=60_000, reference="FT26339X1Y2Z3"
    )
    assert banknotify_deliver(client, first).status_code == 200
    assert BankNotification.objects.get().outcome == "unknown_account"
    merchant = MerchantFactory()
    BankAccountFactory(merchant=merchant, bank_bin="970436", account_number="0041009998887")

    copy = {**first, "id": "another-provider-1", "reference": "ft26339-x1y2z3"}
    assert banknotify_deliver(client, copy).status_code == 200

    assert BankNotification.objects.get(provider_id="another-provider-1").outcome == "walk_in"
    assert LedgerEntry.objects.filter(merchant=merchant).count() == 1
    assert_ledger_invariant(merchant)
