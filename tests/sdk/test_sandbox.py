"""The SDK against the real sandbox wallet (sandboxes/ewallet), over loopback HTTP.

No Django database: the sandbox is standard-library only and runs in a thread; a tiny server in
this module receives its webhooks.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from payments import sdk
from payments.sdk import webhooks
from sandboxes.ewallet import EWalletSandbox

API_KEY = "sk_test_sdk_integration"
OTHER_KEY = "sk_test_other_merchant"
SECRET = "whsec_test_sdk_integration"


@dataclass
class Delivery:
    body: bytes
    signature: str | None
    content_type: str | None


class Receiver:
    """The platform's webhook endpoint: records raw bodies and headers; answers ``statuses`` in
    order, then 204."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self.statuses: list[int] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._changed:
                    receiver.deliveries.append(
                        Delivery(
                            body,
                            self.headers.get(webhooks.SIGNATURE_HEADER),
                            self.headers.get("Content-Type"),
                        )
                    )
                    status = receiver.statuses.pop(0) if receiver.statuses else 204
                    receiver._changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/wallet"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.deliveries) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.deliveries)} webhook(s), expected {count}")
                self._changed.wait(left)
            return list(self.deliveries)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def sandbox(receiver: Receiver) -> Iterator[EWalletSandbox]:
    with EWalletSandbox(
        receiver.url,
        SECRET,
        {API_KEY: "Hải sản Hùng", OTHER_KEY: "Rau sạch Lan"},
        backoff_base=0.05,
        backoff_cap=0.2,
    ) as wallet:
        yield wallet


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(sandbox: EWalletSandbox, sleeps: list[float]) -> Iterator[sdk.Client]:
    with sdk.Client(API_KEY, sandbox.url, timeout=5.0, sleep=sleeps.append) as c:
        yield c


def _create(client: sdk.Client, reference: str = "CS7K4PX", **kwargs: Any) -> sdk.Payment:
    return client.payments.create(
        amount=85000, merchant_reference=reference, merchant_name="Hải sản Hùng", **kwargs
    )


def test_it_creates_a_payment_that_the_shopper_approves(sandbox, client):
    payment = _create(client, description="2 kg tôm", metadata={"order": "42"})
    assert payment.status == "pending" and payment.id.startswith("pay_")
    assert payment.pay_url == f"{sandbox.url}/pay/{payment.id}" == payment.qr_payload
    assert payment.metadata == {"order": "42"} and payment.expires_at

    sandbox.approve(payment.id, phone="0909 000 001")

    paid = client.payments.retrieve(payment.id)
    assert paid.status == "succeeded" and paid.wallet_phone == "+84909000001"
    assert paid.amount_refundable == 85000


def test_it_gets_the_same_payment_back_on_an_idempotent_replay(client):
    first = _create(client, idempotency_key="order-42")
    again = _create(client, idempotency_key="order-42")
    assert again.id == first.id
    assert first.last_response is not None and not first.last_response.idempotent_replayed
    assert again.last_response is not None and again.last_response.idempotent_replayed
    assert again.last_response.original_request_id == first.last_response.request_id
    assert [p.id for p in client.payments.list(merchant_reference="CS7K4PX")] == [first.id]


def test_it_lets_the_wallet_default_the_merchant_name(client):
    payment = client.payments.create(amount=1000, merchant_reference="NONAME")
    assert payment.merchant_name == "Hải sản Hùng"  # the API key's account name
    assert payment.description == "" and payment.metadata == {}


def test_it_raises_idempotency_error_for_a_key_reused_with_another_body(client):
    _create(client, idempotency_key="order-43")
    with pytest.raises(sdk.IdempotencyError) as info:
        client.payments.create(
            amount=90000, merchant_reference="CS7K4PX", idempotency_key="order-43"
        )
    assert info.value.http_status == 400 and info.value.code == "idempotency_key_reused"
    assert info.value.request_id and info.value.request_id in str(info.value)


def test_it_raises_authentication_error_for_a_wrong_key(sandbox):
    with (
        sdk.Client("sk_test_wrong", sandbox.url) as c,
        pytest.raises(sdk.AuthenticationError) as info,
    ):
        c.payments.list()
    assert info.value.http_status == 401 and info.value.request_id


def test_it_raises_permission_denied_for_another_merchants_payment(sandbox, client):
    theirs = _create(sdk.Client(OTHER_KEY, sandbox.url), reference="LAN1")
    with pytest.raises(sdk.PermissionDeniedError) as info:
        client.payments.retrieve(theirs.id)
    assert info.value.http_status == 403


def test_it_raises_invalid_request_error_for_a_bad_parameter_and_an_unknown_id(client, sleeps):
    with pytest.raises(sdk.InvalidRequestError) as info:
        client.payments.create(amount=5, merchant_reference="CS7K4PX")
    assert info.value.param == "amount" and info.value.http_status == 400
    with pytest.raises(sdk.InvalidRequestError) as info:
        client.payments.retrieve("pay_000000000000000000000000")
    assert info.value.http_status == 404 and info.value.code == "resource_missing"
    assert sleeps == []  # 4xx are not retried


def test_it_refuses_a_refund_larger_than_what_is_left(sandbox, client):
    payment = _create(client)
    sandbox.approve(payment.id)
    client.refunds.create(payment=payment, amount=80000, reason="thiếu hàng")
    with pytest.raises(sdk.InvalidRequestError) as info:
        client.refunds.create(payment=payment.id, amount=5001)
    assert info.value.code == "amount_too_large" and info.value.param == "amount"

    refund = client.refunds.create(payment=payment.id, amount=5000)
    assert refund.status == "succeeded" and refund.payment == payment.id
    assert client.refunds.retrieve(refund.id) == refund
    assert client.payments.retrieve(payment.id).status == "refunded"


def test_it_cancels_a_pending_payment_once(client):
    payment = _create(client)
    assert client.payments.cancel(payment.id).status == "canceled"
    with pytest.raises(sdk.InvalidRequestError) as info:
        client.payments.cancel(payment.id)
    assert info.value.code == "payment_not_cancelable"


def test_it_succeeds_after_three_attempts_when_the_wallet_fails_twice(sandbox, client, sleeps):
    sandbox.set_knobs(fail_next=2)
    payment = _create(client, reference="RETRY1")
    assert payment.last_response is not None and payment.last_response.attempts == 3
    assert len(sleeps) == 2
    assert [p.id for p in client.payments.list(merchant_reference="RETRY1")] == [payment.id]


def test_it_retries_a_429_that_says_so_and_every_500(sandbox, client, sleeps):
    sandbox.set_knobs(fail_next=1, fail_next_status=429)  # answered with Should-Retry: true
    payment = _create(client, reference="RATE1")
    assert payment.last_response is not None and payment.last_response.attempts == 2

    sandbox.set_knobs(error_rate=1.0)  # 500 without Should-Retry: the 5xx rule applies
    with pytest.raises(sdk.APIError) as info:
        client.payments.retrieve(payment.id)
    assert info.value.http_status == 500 and info.value.code == "internal_error"
    assert len(sleeps) == 1 + 2


def test_it_gives_up_after_three_failures_and_the_key_makes_a_later_retry_safe(sandbox, client):
    sandbox.set_knobs(fail_next=3)
    with pytest.raises(sdk.APIError) as info:
        _create(client, reference="RETRY2")
    assert info.value.http_status == 503
    key = info.value.idempotency_key
    assert key
    payment = _create(client, reference="RETRY2", idempotency_key=key)
    assert payment.last_response is not None and payment.last_response.attempts == 1
    assert len(client.payments.list(merchant_reference="RETRY2")) == 1


def test_it_retries_a_timed_out_create_through_409_into_the_replay(sandbox, caplog):
    # The first attempt takes the wallet 0.6 s; the client gives up after 0.3 s and retries
    # at once: the first request is still in flight (409, retried); the third attempt, after
    # it finished, gets its saved answer. Only the first request is slow.
    sandbox.set_knobs(latency_ms=600)
    delays = iter([0.0, 0.8])

    def sleep(_: float) -> None:
        sandbox.set_knobs(latency_ms=0)
        time.sleep(next(delays))

    caplog.set_level(logging.INFO, logger="choso_wallet")
    with sdk.Client(API_KEY, sandbox.url, timeout=0.3, sleep=sleep) as c:
        payment = _create(c, reference="SLOW1")
        outcomes = [
            getattr(r, "wallet_status", "?")
            for r in caplog.records
            if r.name == "choso_wallet" and hasattr(r, "wallet_attempt")
        ]
        assert outcomes == [None, 409, 201]  # timeout, in flight, replay
        assert payment.last_response is not None and payment.last_response.attempts == 3
        assert payment.last_response.idempotent_replayed
        assert [p.id for p in c.payments.list(merchant_reference="SLOW1")] == [payment.id]


def test_it_walks_every_page_of_the_list(client):
    ids = [_create(client, reference=f"PAGE{i}").id for i in range(5)]
    page = client.payments.list(limit=2)
    assert len(page) == 2 and page.has_more
    assert [p.id for p in page.auto_paging_iter()] == ids[::-1]


def test_it_verifies_the_sandboxs_real_webhooks(sandbox, client, receiver):
    paid = _create(client, reference="HOOK1")
    declined = _create(client, reference="HOOK2")
    sandbox.approve(paid.id)
    sandbox.decline(declined.id)
    refund = client.refunds.create(payment=paid.id, amount=20000, reason="trả lại")
    deliveries = receiver.wait_for(3)

    events = [webhooks.construct_event(d.body, d.signature or "", SECRET) for d in deliveries]
    by_type = {e.type: e for e in events}
    assert set(by_type) == {"payment.succeeded", "payment.failed", "refund.succeeded"}
    succeeded = by_type["payment.succeeded"].data.object
    assert isinstance(succeeded, sdk.Payment)
    assert succeeded.id == paid.id and succeeded.status == "succeeded"
    failed = by_type["payment.failed"].data.object
    assert isinstance(failed, sdk.Payment) and failed.failure_reason == "declined_by_shopper"
    refunded = by_type["refund.succeeded"].data_object
    assert isinstance(refunded, sdk.Refund) and refunded.id == refund.id
    assert all(e.id.startswith("evt_") for e in events)
    assert all((d.content_type or "").startswith("application/json") for d in deliveries)

    delivery = deliveries[0]
    with pytest.raises(sdk.SignatureVerificationError):
        webhooks.construct_event(delivery.body, delivery.signature or "", "whsec_wrong")
    with pytest.raises(sdk.SignatureVerificationError):
        webhooks.construct_event(delivery.body + b" ", delivery.signature or "", SECRET)
    with pytest.raises(sdk.SignatureVerificationError):  # replayed ten minutes later
        webhooks.construct_event(
            delivery.body, delivery.signature or "", SECRET, now=time.time() + 600
        )


def test_it_verifies_a_redelivery_signed_afresh(sandbox, client, receiver):
    receiver.statuses = [500]  # the platform fails once; the wallet retries
    payment = _create(client, reference="HOOK3")
    sandbox.approve(payment.id)
    first, second = receiver.wait_for(2)
    a = webhooks.construct_event(first.body, first.signature or "", SECRET)
    b = webhooks.construct_event(second.body, second.signature or "", SECRET)
    assert a.id == b.id and a.type == b.type == "payment.succeeded"
    assert sandbox.wait_idle(5)
