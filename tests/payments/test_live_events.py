"""Upward news after a settlement commits: the `payment_succeeded` signal and the live event bus
(in-process by default, Redis pub/sub with REDIS_URL) that the trader's screen listens to."""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any

import pytest

from core import live
from payments import services
from payments.models import BankNotification, PaymentIntent
from payments.signals import payment_succeeded, walk_in_received
from tests.factories import (
    MembershipFactory,
    UserFactory,
    banknotify_deliver,
    banknotify_payload,
    member_of,
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
    return services.intent_create(merchant=merchant, amount=150_000, reference="DH-42")


class Receiver:
    """Connects to a signal for the length of a test and keeps what it was sent."""

    def __init__(self, signal) -> None:
        self.signal = signal
        self.calls: list[dict[str, Any]] = []

    def __call__(self, sender, **kwargs) -> None:
        self.calls.append({"sender": sender, **kwargs})


@pytest.fixture
def succeeded():
    receiver = Receiver(payment_succeeded)
    payment_succeeded.connect(receiver, weak=False)
    yield receiver
    payment_succeeded.disconnect(receiver)


@pytest.fixture
def walk_ins():
    receiver = Receiver(walk_in_received)
    walk_in_received.connect(receiver, weak=False)
    yield receiver
    walk_in_received.disconnect(receiver)


# --- signals ----------------------------------------------------------------------------------


def test_it_sends_payment_succeeded_once_after_commit(
    client, account, intent, succeeded, django_capture_on_commit_callbacks
):
    payload = banknotify_payload(account=account, amount=150_000, description=intent.reference_code)

    with django_capture_on_commit_callbacks(execute=True):
        banknotify_deliver(client, payload)
        banknotify_deliver(client, payload)

    assert len(succeeded.calls) == 1
    call = succeeded.calls[0]
    assert call["sender"] is PaymentIntent
    assert (call["intent_id"], call["merchant_id"], call["amount"]) == (
        intent.pk,
        intent.merchant_id,
        150_000,
    )
    assert call["reference"] == "DH-42"


def test_it_sends_nothing_before_the_transaction_commits(
    client, account, intent, succeeded, django_capture_on_commit_callbacks
):
    payload = banknotify_payload(account=account, description=intent.reference_code)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        banknotify_deliver(client, payload)
        assert succeeded.calls == []

    assert callbacks  # the live event and the sale's news wait for the commit
    for callback in callbacks:
        callback()
    assert len(succeeded.calls) == 1


def test_it_sends_the_overpaid_amount_that_was_received(
    client, account, intent, succeeded, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        banknotify_deliver(
            client,
            banknotify_payload(account=account, amount=200_000, description=intent.reference_code),
        )

    assert succeeded.calls[0]["amount"] == 200_000


@pytest.mark.parametrize(
    ("amount", "describe"),
    [
        (149_000, lambda i: i.reference_code),  # underpaid
        (150_000, lambda i: "no code here"),  # walk-in
    ],
    ids=["underpaid", "walk-in"],
)
def test_it_does_not_send_payment_succeeded_without_a_settlement(
    client, account, intent, succeeded, django_capture_on_commit_callbacks, amount, describe
):
    with django_capture_on_commit_callbacks(execute=True):
        banknotify_deliver(
            client, banknotify_payload(account=account, amount=amount, description=describe(intent))
        )

    assert succeeded.calls == []


def test_it_sends_payment_succeeded_for_a_late_payment(
    client, account, intent, succeeded, django_capture_on_commit_callbacks
):
    services.intents_expire_due(now=intent.expires_at)

    with django_capture_on_commit_callbacks(execute=True):
        banknotify_deliver(
            client, banknotify_payload(account=account, description=intent.reference_code)
        )

    assert [c["intent_id"] for c in succeeded.calls] == [intent.pk]


def test_it_sends_walk_in_received_for_a_transfer_without_code(
    client, merchant, account, walk_ins, succeeded, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        banknotify_deliver(client, banknotify_payload(account=account, amount=30_000))

    row = BankNotification.objects.get()
    assert [(c["notification_id"], c["merchant_id"], c["amount"]) for c in walk_ins.calls] == [
        (row.pk, merchant.pk, 30_000)
    ]
    assert succeeded.calls == []


def test_it_settles_even_when_a_receiver_fails(
    client, account, intent, django_capture_on_commit_callbacks
):
    def broken(sender, **kwargs):
        raise RuntimeError("market/ is down")

    payment_succeeded.connect(broken)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = banknotify_deliver(
                client, banknotify_payload(account=account, description=intent.reference_code)
            )
    finally:
        payment_succeeded.disconnect(broken)

    assert response.status_code == 200
    intent.refresh_from_db()
    assert intent.status == PaymentIntent.Status.SUCCEEDED


def test_it_settles_even_when_the_event_bus_is_unreachable(
    client, account, intent, succeeded, settings, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # the discard port: nobody answers

    with django_capture_on_commit_callbacks(execute=True):
        response = banknotify_deliver(
            client, banknotify_payload(account=account, description=intent.reference_code)
        )

    assert response.json()["outcome"] == "settled"
    assert len(succeeded.calls) == 1


# --- the live event bus -----------------------------------------------------------------------


class Listener(threading.Thread):
    """Reads `live.listen` in a thread, as the SSE view does, until one event arrives."""

    def __init__(self, merchant_id: int | list[int], *, deadline: float = 10.0) -> None:
        super().__init__(daemon=True)
        self.merchant_id = merchant_id
        self.deadline = deadline
        self.subscribed = threading.Event()
        self.received: queue.Queue[dict[str, Any]] = queue.Queue()

    def run(self) -> None:
        stream = live.listen(self.merchant_id, timeout=0.05)
        stop_at = time.monotonic() + self.deadline
        try:
            for event in stream:
                if event is None:
                    # The first keep-alive proves the subscription is in place.
                    self.subscribed.set()
                elif event:
                    self.received.put(event)
                    return
                if time.monotonic() > stop_at:
                    return
        finally:
            stream.close()

    def __enter__(self) -> Listener:
        self.start()
        assert self.subscribed.wait(5), "listener never subscribed"
        return self

    def __exit__(self, *exc) -> None:
        self.join(self.deadline + 1)

    def next_event(self, timeout: float = 5.0) -> dict[str, Any]:
        return self.received.get(timeout=timeout)


def settle_and_hear(client, account, intent, capture) -> dict[str, Any]:
    payload = banknotify_payload(
        account=account, amount=150_000, description=intent.reference_code, reference="FT9"
    )
    with Listener(intent.merchant_id) as listener:
        with capture(execute=True):
            banknotify_deliver(client, payload)
        return listener.next_event()


def assert_payment_succeeded_event(event: dict[str, Any], intent: PaymentIntent) -> None:
    assert event["type"] == "payment_succeeded"
    assert event["intent_id"] == intent.pk
    assert event["reference_code"] == intent.reference_code
    assert (event["amount"], event["expected_amount"]) == (150_000, 150_000)
    assert (event["outcome"], event["bank_reference"]) == ("settled", "FT9")


def test_it_publishes_payment_succeeded_on_the_in_process_bus(
    client, account, intent, settings, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""

    event = settle_and_hear(client, account, intent, django_capture_on_commit_callbacks)

    assert_payment_succeeded_event(event, intent)


def test_it_publishes_only_to_the_receiving_merchant(
    client, account, intent, settings, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""
    other = merchant_with_account()

    with Listener(other.pk, deadline=0.5) as bystander:
        with django_capture_on_commit_callbacks(execute=True):
            banknotify_deliver(
                client, banknotify_payload(account=account, description=intent.reference_code)
            )
        with pytest.raises(queue.Empty):
            bystander.next_event(timeout=0.3)


def test_it_publishes_a_walk_in_as_payment_received(
    client, merchant, account, settings, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""

    with Listener(merchant.pk) as listener:
        with django_capture_on_commit_callbacks(execute=True):
            banknotify_deliver(client, banknotify_payload(account=account, amount=5_000))
        event = listener.next_event()

    assert (event["type"], event["outcome"], event["flag"]) == (
        "payment_received",
        "walk_in",
        "small",
    )
    assert event["intent_id"] is None


@pytest.mark.redis
def test_it_publishes_payment_succeeded_through_redis(
    client, account, intent, settings, django_capture_on_commit_callbacks
):
    import os

    settings.REDIS_URL = os.environ["REDIS_URL"]

    event = settle_and_hear(client, account, intent, django_capture_on_commit_callbacks)

    assert_payment_succeeded_event(event, intent)


@pytest.mark.redis
def test_it_relays_a_redis_event_published_by_another_process(merchant, settings):
    import os

    import redis

    settings.REDIS_URL = os.environ["REDIS_URL"]
    event = {"type": "payment_succeeded", "amount": 20_000, "reference_code": "CSAAAAA"}

    with Listener(merchant.pk) as listener:
        redis.Redis.from_url(settings.REDIS_URL).publish(
            f"choso:payments:merchant:{merchant.pk}", json.dumps(event)
        )
        assert listener.next_event() == event


@pytest.mark.redis
def test_a_trader_wide_listener_hears_each_of_its_shops_through_redis_and_no_other(settings):
    import os

    import redis

    settings.REDIS_URL = os.environ["REDIS_URL"]
    publisher = redis.Redis.from_url(settings.REDIS_URL)
    event = {"type": "payment_received", "amount": 20_000}

    with Listener([41, 42]) as listener:
        publisher.publish("choso:payments:merchant:43", json.dumps(event))  # not theirs
        publisher.publish("choso:payments:merchant:42", json.dumps(event))
        assert listener.next_event() == {**event, "merchant_id": 42}


# --- the SSE page relays the event ------------------------------------------------------------


def test_it_streams_the_settlement_to_the_traders_screen(
    client, merchant, account, intent, settings, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""
    client.force_login(member_of(merchant))
    response = client.get(f"/cua-hang/{merchant.pk}/su-kien/")
    chunks = iter(response.streaming_content)
    assert next(chunks) == b"retry: 2000\n\n"
    got: queue.Queue[bytes] = queue.Queue()
    reader = threading.Thread(target=lambda: got.put(next(chunks)), daemon=True)
    reader.start()
    channel = f"choso:payments:merchant:{merchant.pk}"
    deadline = time.monotonic() + 5
    while not live._local._subscribers.get(channel) and time.monotonic() < deadline:
        time.sleep(0.01)  # wait until the stream has subscribed (nothing public tells us)

    with django_capture_on_commit_callbacks(execute=True):
        banknotify_deliver(
            client, banknotify_payload(account=account, description=intent.reference_code)
        )
    chunk = got.get(timeout=5).decode()
    response.close()

    kind, data = chunk.strip().split("\n")
    assert kind == "event: payment_succeeded"
    event = json.loads(data.removeprefix("data: "))
    assert event["reference_code"] == intent.reference_code
    assert event["spoken"] == "Đã nhận một trăm năm mươi nghìn đồng"


# --- the trader-wide channel (every page of a trader's) -----------------------------------------


def _read_events(response, count: int, timeout: float = 5) -> list[tuple[str, dict[str, Any]]]:
    chunks = iter(response.streaming_content)
    assert next(chunks) == b"retry: 2000\n\n"
    got: queue.Queue[bytes] = queue.Queue()

    def read() -> None:
        for chunk in chunks:
            if chunk.startswith(b"event:"):
                got.put(chunk)

    threading.Thread(target=read, daemon=True).start()
    out = []
    for _ in range(count):
        kind, data = got.get(timeout=timeout).decode().strip().split("\n")
        out.append((kind.removeprefix("event: "), json.loads(data.removeprefix("data: "))))
    return out


def _wait_subscribed(*merchant_ids: int) -> None:
    deadline = time.monotonic() + 5
    for merchant_id in merchant_ids:
        channel = f"choso:payments:merchant:{merchant_id}"
        while not live._local._subscribers.get(channel) and time.monotonic() < deadline:
            time.sleep(0.01)


def test_the_trader_wide_stream_carries_every_shop_of_theirs_and_no_one_elses(
    client, merchant, account, settings, django_capture_on_commit_callbacks
):
    settings.REDIS_URL = ""
    second = merchant_with_account()
    stranger = merchant_with_account()
    trader = member_of(merchant)
    MembershipFactory(user=trader, merchant=second, role="cashier")
    client.force_login(trader)
    response = client.get("/cua-hang/su-kien/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    try:
        result: queue.Queue[list[tuple[str, dict[str, Any]]]] = queue.Queue()
        threading.Thread(target=lambda: result.put(_read_events(response, 2)), daemon=True).start()
        _wait_subscribed(merchant.pk, second.pk)
        # Another merchant's payment first: it must never come down this trader's stream.
        for shop, amount in ((stranger, 70_000), (merchant, 30_000), (second, 40_000)):
            with django_capture_on_commit_callbacks(execute=True):
                banknotify_deliver(
                    client, banknotify_payload(account=shop.bank_accounts.get(), amount=amount)
                )
        events_seen = result.get(timeout=10)
    finally:
        response.close()
    assert [(kind, e["merchant_id"], e["amount"]) for kind, e in events_seen] == [
        ("payment_received", merchant.pk, 30_000),
        ("payment_received", second.pk, 40_000),
    ]
    assert events_seen[0][1]["spoken"] == "Đã nhận ba mươi nghìn đồng"


def test_the_trader_wide_stream_needs_a_shop_and_a_login(client):
    assert client.get("/cua-hang/su-kien/").status_code == 302  # to sign in

    client.force_login(UserFactory())
    response = client.get("/cua-hang/su-kien/")
    assert response.status_code == 404
    assert not response.streaming
