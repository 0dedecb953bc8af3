"""SePay bank alerts end to end: the sandbox SePay delivers to this test's live server through a
trader's own connection, and a POS bank-QR sale is paid exactly once whatever the deliveries do
(duplicates, a 500 then retries, lost answers), a wrong key or signature is refused with 401,
outgoing money is never a sale, and the books agree."""

from __future__ import annotations

import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.test import Client

from core.models import AuditLog
from market.figures import books
from market.models import Order
from market.sales.orders import LineInput, order_create
from payments.bankalerts import (
    bank_alert_connect,
    bank_alert_test_request,
    decrypt,
)
from payments.models import BankAlertConnection, BankNotification, LedgerEntry, PaymentIntent
from payments.providers import banknotify
from payments.providers import sepay as adapter
from payments.providers.banknotify import SIGNATURE_HEADER
from payments.reconcile import reconcile_bank_alerts
from sandboxes.sepay import SePaySandbox, auth_headers, body_of
from tests.factories import (
    banknotify_deliver,
    banknotify_payload,
    banknotify_signed,
    member_of,
    merchant_with_account,
)

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "e2e-sepay-token"


def webhook_path(connection: BankAlertConnection) -> str:
    return f"/api/v1/payments/webhooks/sepay/{connection.pk}"


def assert_books_agree() -> None:
    report = books.books_check()
    assert report.clean, "\n".join(str(d) for d in report.differences)


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.fixture
def merchant():
    return merchant_with_account(display_name="Hải sản Hùng")


@pytest.fixture
def owner(merchant):
    return member_of(merchant)


@pytest.fixture
def account(merchant):
    return merchant.bank_accounts.get()


@pytest.fixture
def sepay(settings):
    sandbox = SePaySandbox(TOKEN, interval=0.05).start()
    settings.SEPAY_API_URL = sandbox.url
    yield sandbox
    sandbox.stop()


def connect(merchant, owner, auth: str = "apikey"):
    return bank_alert_connect(
        merchant=merchant, provider="sepay", auth=auth, api_token=TOKEN, actor=owner
    )


def pos_sale(merchant, owner, amount: int = 153_000) -> Order:
    return order_create(
        merchant=merchant,
        lines=[LineInput(unit_price=amount, name="Cá thu")],
        payment_method="bank_qr",
        actor=owner,
    )


def paid_once(order: Order) -> None:
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.intent.status == PaymentIntent.Status.SUCCEEDED
    assert LedgerEntry.objects.filter(kind="settlement").count() == 1
    assert BankNotification.objects.filter(outcome="settled").count() == 1


# --- settled exactly once ---------------------------------------------------------------------


def test_it_pays_a_pos_sale_once_when_sepay_delivers_twice(
    live_server, sepay, merchant, owner, account
):
    connected = connect(merchant, owner)
    sepay.register_webhook(
        live_server.url + webhook_path(connected.connection),
        account_number=account.account_number,
        auth="apikey",
        secret=connected.secret,
    )
    order = pos_sale(merchant, owner)
    sepay.set_knobs({"duplicate": True})

    sepay.transfer(
        account_number=account.account_number,
        amount=153_000,
        content=f"NGUYEN VAN A chuyen tien {order.intent.reference_code}",
    )

    assert sepay.wait_idle(10)
    paid_once(order)
    assert [a["status"] for a in sepay.attempts()] == [200, 200]
    stored = BankNotification.objects.get()
    assert stored.source == "sepay"
    assert stored.provider_id.startswith(f"sepay:{connected.connection.pk}:")
    assert_books_agree()


class _FailingProxy(BaseHTTPRequestHandler):
    """Between SePay and us: the first POST gets a 500 and goes no further (our server fell
    over); the second reaches us but its answer is lost (a 502 goes back); the rest pass."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        server = self.server
        with server.lock:  # type: ignore[attr-defined]
            server.seen += 1  # type: ignore[attr-defined]
            seen = server.seen  # type: ignore[attr-defined]
        status, data = 500, b""
        if seen > 1:
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            forward = urllib.request.Request(  # noqa: S310 - our loopback server
                server.target + self.path,  # type: ignore[attr-defined]
                data=body,
                headers=headers,
                method="POST",
            )
            try:
                with urllib.request.urlopen(forward, timeout=10) as answer:  # noqa: S310
                    status, data = answer.status, answer.read()
            except urllib.error.HTTPError as failure:
                status, data = failure.code, failure.read()
            if seen == 2:
                status, data = 502, b""
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def test_it_pays_once_when_sepay_retries_after_a_500_and_a_lost_answer(
    live_server, sepay, merchant, owner, account
):
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _FailingProxy)
    proxy.lock, proxy.seen, proxy.target = threading.Lock(), 0, live_server.url  # type: ignore[attr-defined]
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        connected = connect(merchant, owner, auth="hmac")
        sepay.register_webhook(
            f"http://127.0.0.1:{proxy.server_address[1]}{webhook_path(connected.connection)}",
            account_number=account.account_number,
            auth="hmac",
            secret=connected.secret,
        )
        order = pos_sale(merchant, owner)

        sepay.transfer(
            account_number=account.account_number,
            amount=153_000,
            content=f"MBVCB.3278123.{order.intent.reference_code}.CT tu 0123",
        )

        assert sepay.wait_idle(10)
    finally:
        proxy.shutdown()
        proxy.server_close()

    assert [a["status"] for a in sepay.attempts()] == [500, 502, 200]
    paid_once(order)
    assert_books_agree()


# --- refused ----------------------------------------------------------------------------------


def test_it_refuses_a_wrong_key_and_a_wrong_signature_with_401(
    live_server, sepay, merchant, owner, account
):
    by_key = connect(merchant, owner).connection
    by_hmac = connect(merchant, owner, auth="hmac").connection
    sepay.register_webhook(
        live_server.url + webhook_path(by_key),
        account_number=account.account_number,
        auth="apikey",
        secret="not-the-key",
    )
    sepay.register_webhook(
        live_server.url + webhook_path(by_hmac),
        account_number=account.account_number,
        auth="hmac",
        secret="not-the-secret",
    )
    order = pos_sale(merchant, owner)
    sepay.set_knobs({})

    sepay.transfer(
        account_number=account.account_number, amount=153_000, content=order.intent.reference_code
    )

    assert sepay.wait_idle(15)
    attempts = sepay.attempts()
    assert attempts and {a["status"] for a in attempts} == {401}
    assert len(attempts) == 2 * (sepay.max_retries + 1)  # SePay retries, then gives up
    assert not BankNotification.objects.exists()
    order.refresh_from_db()
    assert order.status != Order.Status.PAID


def test_it_answers_401_without_authentication_and_404_for_an_unknown_connection(
    merchant, owner, account
):
    client = Client()
    connection = connect(merchant, owner).connection
    body = body_of(
        {
            "id": 1,
            "gateway": "Vietcombank",
            "transactionDate": "2026-12-04 09:00:00",
            "accountNumber": account.account_number,
            "code": None,
            "content": "x",
            "transferType": "in",
            "transferAmount": 5000,
            "accumulated": 5000,
            "subAccount": None,
            "referenceCode": "FT1",
        }
    )

    bare = client.post(webhook_path(connection), data=body, content_type="application/json")
    unknown = client.post(
        "/api/v1/payments/webhooks/sepay/999999",
        data=body,
        content_type="application/json",
        headers=auth_headers(body, auth="apikey", secret="whatever"),
    )

    assert bare.status_code == 401
    assert bare.json()["error"]["code"] == "bad_signature"
    assert unknown.status_code == 404
    assert not BankNotification.objects.exists()


def test_it_refuses_and_logs_an_account_that_is_not_the_merchants(
    live_server, sepay, merchant, owner, caplog
):
    connected = connect(merchant, owner)
    other = merchant_with_account().bank_accounts.get()  # another trader's account
    sepay.register_webhook(
        live_server.url + webhook_path(connected.connection),
        account_number=other.account_number,
        auth="apikey",
        secret=connected.secret,
    )
    sepay.interval = 0.01

    sepay.transfer(account_number=other.account_number, amount=50_000, content="CS7K2QX")

    assert sepay.wait_idle(10)
    assert {a["status"] for a in sepay.attempts()} == {403}
    assert not BankNotification.objects.exists()
    assert AuditLog.objects.filter(action="bank_alert.foreign_account").exists()
    assert "not merchant" in caplog.text


def test_it_records_money_out_as_outgoing_never_as_a_sale(
    live_server, sepay, merchant, owner, account
):
    connected = connect(merchant, owner)
    sepay.register_webhook(
        live_server.url + webhook_path(connected.connection),
        account_number=account.account_number,
        auth="apikey",
        secret=connected.secret,
    )
    order = pos_sale(merchant, owner)

    # The trader pays a supplier, quoting the sale's code: still money out.
    sepay.transfer(
        account_number=account.account_number,
        amount=153_000,
        content=f"tra tien hang {order.intent.reference_code}",
        transfer_type="out",
    )

    assert sepay.wait_idle(10)
    stored = BankNotification.objects.get()
    assert (stored.transfer_type, stored.outcome) == ("out", "outgoing")
    assert not LedgerEntry.objects.exists()
    order.refresh_from_db()
    assert order.status != Order.Status.PAID
    assert_books_agree()


# --- reconciliation and the test notification -------------------------------------------------


def test_it_reconciles_a_dropped_notification_from_the_transaction_list_once(
    live_server, sepay, merchant, owner, account
):
    connected = connect(merchant, owner)
    sepay.register_webhook(
        live_server.url + webhook_path(connected.connection),
        account_number=account.account_number,
        auth="apikey",
        secret=connected.secret,
    )
    order = pos_sale(merchant, owner)
    sepay.set_knobs({"drop": True})
    sepay.transfer(
        account_number=account.account_number, amount=153_000, content=order.intent.reference_code
    )
    sepay.transfer(account_number=account.account_number, amount=20_000, content="tien rau")
    assert not BankNotification.objects.exists()

    first = reconcile_bank_alerts()
    again = reconcile_bank_alerts()

    assert first == {"listed": 2, "new": 2, "failed": 0}
    assert again == {"listed": 2, "new": 0, "failed": 0}
    paid_once(order)
    assert set(BankNotification.objects.values_list("received_via", flat=True)) == {"reconcile"}
    assert_books_agree()


def test_it_shows_a_test_notification_without_booking_money(live_server, sepay, merchant, owner):
    connected = connect(merchant, owner)
    url = live_server.url + webhook_path(connected.connection)

    connection, asked = bank_alert_test_request(
        connection_id=connected.connection.pk, webhook_url=url, actor=owner
    )

    assert asked
    assert sepay.wait_idle(10)
    connection.refresh_from_db()
    assert connection.last_test_at is not None
    assert connection.test_code == ""
    assert not BankNotification.objects.exists() and not LedgerEntry.objects.exists()
    # A zero-amount delivery that is not the pending test is refused.
    replay = sepay.send_test(
        webhook_url=url,
        auth="apikey",
        secret=connected.secret,
        account_number=connected.connection.merchant.bank_accounts.get().account_number,
        content="CSTEST000000",
    )
    assert replay["transferAmount"] == 0
    assert sepay.wait_idle(10)
    assert sepay.attempts()[-1]["status"] == 422


def test_it_keeps_the_secret_encrypted_at_rest(merchant, owner):
    connected = connect(merchant, owner)
    row = BankAlertConnection.objects.get()

    assert connected.secret not in row.secret_encrypted
    assert TOKEN not in row.api_token_encrypted
    assert row.secret_hint == connected.secret[-4:]
    adapter.verify(
        b"{}",
        {"Authorization": f"Apikey {connected.secret}"},
        mode="apikey",
        secret=decrypt(row.secret_encrypted),
    )


# --- across providers -------------------------------------------------------------------------


def test_the_books_agree_across_providers(live_server, sepay, merchant, owner, account):
    """One sale paid through the platform's bank-notification provider, one through the
    trader's SePay: each is paid once, each notification keeps its source, the books agree."""
    connected = connect(merchant, owner)
    sepay.register_webhook(
        live_server.url + webhook_path(connected.connection),
        account_number=account.account_number,
        auth="apikey",
        secret=connected.secret,
    )
    by_banknotify, by_sepay = pos_sale(merchant, owner), pos_sale(merchant, owner, 40_000)
    client = Client()
    payload = banknotify_payload(
        account=account, amount=153_000, description=by_banknotify.intent.reference_code
    )

    assert banknotify_deliver(client, payload).status_code == 200
    sepay.transfer(
        account_number=account.account_number,
        amount=40_000,
        content=by_sepay.intent.reference_code,
    )
    assert sepay.wait_idle(10)

    for order in (by_banknotify, by_sepay):
        order.refresh_from_db()
        assert order.status == Order.Status.PAID
    assert sorted(BankNotification.objects.values_list("source", flat=True)) == [
        "banknotify",
        "sepay",
    ]
    assert LedgerEntry.objects.filter(kind="settlement").count() == 2
    assert_books_agree()


def test_a_trader_connection_of_the_test_provider_takes_only_its_own_secret(
    settings, merchant, owner, account
):
    """The per-connection webhook of the sandbox bank-notification provider: signed with the
    connection's secret it settles; signed with the platform's secret it is refused."""
    connected = bank_alert_connect(
        merchant=merchant, provider="banknotify", auth="hmac", actor=owner
    )
    order = pos_sale(merchant, owner)
    body, _sig = banknotify_signed(
        banknotify_payload(account=account, amount=153_000, description=order.intent.reference_code)
    )
    path = f"/api/v1/payments/webhooks/banknotify/{connected.connection.pk}"
    client = Client()

    platform = client.post(
        path,
        data=body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: banknotify.sign(body, settings.BANKNOTIFY_WEBHOOK_SECRET)},
    )
    own = client.post(
        path,
        data=body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: banknotify.sign(body, connected.secret)},
    )

    assert platform.status_code == 401
    assert (own.status_code, own.json()["outcome"]) == (200, "settled")
    paid_once(order)


# --- one transfer watched by two providers ----------------------------------------------------


def watch_with_sepay(live_server, sepay, merchant, owner, account) -> None:
    connected = connect(merchant, owner)
    sepay.register_webhook(
        live_server.url + webhook_path(connected.connection),
        account_number=account.account_number,
        auth="apikey",
        secret=connected.secret,
    )


def booked_once(order: Order, amount: int) -> None:
    """The sale is paid once and the ledger holds the transfer once: no money to give back."""
    paid_once(order)
    assert LedgerEntry.objects.count() == 1
    assert LedgerEntry.objects.get().amount == amount
    assert BankNotification.objects.filter(outcome="same_transfer").count() == 1
    assert_books_agree()


def test_one_transfer_seen_by_the_bank_provider_and_sepay_is_booked_once(
    live_server, sepay, merchant, owner, account
):
    """The platform's bank-notification provider and the trader's own SePay watch the same
    account: the shopper's one transfer reaches us twice, under two ids, with the bank's one
    reference. The sale is paid once and nothing is left for the trader to give back."""
    watch_with_sepay(live_server, sepay, merchant, owner, account)
    order = pos_sale(merchant, owner)
    payload = banknotify_payload(
        account=account,
        amount=153_000,
        description=f"NGUYEN VAN A chuyen tien {order.intent.reference_code}",
        reference="FT26339K7QX2MB",
    )
    assert banknotify_deliver(Client(), payload).status_code == 200
    sepay.set_knobs({"duplicate": True})  # and SePay delivers its copy twice

    sepay.transfer(
        account_number=account.account_number,
        amount=153_000,
        content=f"NGUYEN VAN A chuyen tien {order.intent.reference_code}",
        reference="FT26339K7QX2MB",
    )

    assert sepay.wait_idle(10)
    booked_once(order, 153_000)
    first, second = BankNotification.objects.order_by("pk")
    assert (first.source, first.outcome) == ("banknotify", "settled")
    assert (second.source, second.outcome, second.merchant_id) == (
        "sepay",
        "same_transfer",
        merchant.pk,
    )
    assert AuditLog.objects.filter(action="bank_notification.same_transfer").count() == 1


def test_the_same_transfer_first_through_sepay_then_the_bank_provider_is_booked_once(
    live_server, sepay, merchant, owner, account
):
    watch_with_sepay(live_server, sepay, merchant, owner, account)
    order = pos_sale(merchant, owner)
    sent = sepay.transfer(
        account_number=account.account_number,
        amount=153_000,
        content=order.intent.reference_code,
    )
    assert sepay.wait_idle(10)
    # The bank's own service writes the reference its way (lower case, a separator).
    reference = sent["referenceCode"].lower()
    reference = f"{reference[:4]}-{reference[4:]}"
    payload = banknotify_payload(
        account=account,
        amount=153_000,
        description=order.intent.reference_code,
        reference=reference,
    )

    assert banknotify_deliver(Client(), payload).status_code == 200
    assert banknotify_deliver(Client(), payload).status_code == 200  # and its retry

    booked_once(order, 153_000)
    assert BankNotification.objects.get(outcome="same_transfer").source == "banknotify"


def test_a_second_transfer_for_a_paid_sale_is_still_money_to_give_back(
    live_server, sepay, merchant, owner, account
):
    """Two transfers (two bank references) for one sale are two payments, whichever provider
    passes each on: the second is booked as already paid, for the trader to give back."""
    watch_with_sepay(live_server, sepay, merchant, owner, account)
    order = pos_sale(merchant, owner)
    payload = banknotify_payload(
        account=account, amount=153_000, description=order.intent.reference_code
    )
    assert banknotify_deliver(Client(), payload).status_code == 200

    sepay.transfer(
        account_number=account.account_number,
        amount=153_000,
        content=order.intent.reference_code,
    )

    assert sepay.wait_idle(10)
    assert sorted(BankNotification.objects.values_list("outcome", flat=True)) == [
        "already_paid",
        "settled",
    ]
    assert LedgerEntry.objects.filter(kind="unmatched", flag="already_paid").count() == 1
    assert_books_agree()
