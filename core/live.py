"""The live event bus: per-merchant channels for the trader's screens (Server-Sent Events).

payments publishes a payment's news here, market a web-shop order's, virtual_expo an
exhibition inquiry's; the SSE views (payments.views) relay a merchant's channel to its screens.

With REDIS_URL: Redis pub/sub, so any web process can publish and the process holding the
trader's SSE connection relays. Without it (the embedded default): an in-process bus.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Generator, Sequence
from typing import Any

from django.conf import settings


def _channel(merchant_id: int) -> str:
    return f"choso:payments:merchant:{merchant_id}"


def _merchant_of(channel: str | bytes) -> int:
    if isinstance(channel, bytes):
        channel = channel.decode()
    return int(channel.rsplit(":", 1)[1])


_Item = tuple[str, dict[str, Any]]  # (channel, event)


class _LocalBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, list[queue.Queue[_Item]]] = {}

    def publish(self, channel: str, event: dict[str, Any]) -> None:
        with self._lock:
            targets = list(self._subscribers.get(channel, []))
        for q in targets:
            q.put((channel, event))

    def subscribe(self, channel: str, q: queue.Queue[_Item]) -> None:
        with self._lock:
            self._subscribers.setdefault(channel, []).append(q)

    def unsubscribe(self, channel: str, q: queue.Queue[_Item]) -> None:
        with self._lock:
            if q in self._subscribers.get(channel, []):
                self._subscribers[channel].remove(q)


_local = _LocalBus()


def _redis():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


_publishers: dict[str, Any] = {}
_publishers_lock = threading.Lock()


def _publisher():
    """One client per process (and URL) for publishing: its pool keeps the connection open.

    A new client per event cost a TCP connection and redis-py's handshake each time (~0.7 ms of
    a ~7 ms settlement; found with bench/payments.sh). The pool is thread-safe and fork-aware.
    """
    url = settings.REDIS_URL
    with _publishers_lock:
        client = _publishers.get(url)
        if client is None:
            client = _publishers[url] = _redis()
    return client


def publish(merchant_id: int, event: dict[str, Any]) -> None:
    if settings.REDIS_URL:
        _publisher().publish(_channel(merchant_id), json.dumps(event, ensure_ascii=False))
    else:
        _local.publish(_channel(merchant_id), event)


def listen(
    merchant_id: int | Sequence[int], *, timeout: float = 15.0
) -> Generator[dict[str, Any] | None, None, None]:
    """Subscribe to one merchant's events; the generator yields them, and None every `timeout`
    seconds as a keep-alive. close() it to unsubscribe.

    Given several merchants (a trader's shops: the trader-wide stream), each event comes as a
    copy with its shop's ``merchant_id`` added, so the screen can tell the shops apart.

    The subscription is in place when listen() returns, before the first item is asked for: a
    caller that tells its client "listening" only after this call misses nothing published from
    then on (the SSE view sends its first bytes after it).
    """
    tag = not isinstance(merchant_id, int)
    ids = list(merchant_id) if not isinstance(merchant_id, int) else [merchant_id]
    channels = [_channel(i) for i in ids]
    if settings.REDIS_URL:
        client = _redis()
        pubsub = client.pubsub()
        try:
            pubsub.subscribe(*channels)
            # Redis's confirmations, one per channel: from here on every PUBLISH to them
            # reaches us.
            confirmed, deadline = 0, time.monotonic() + 5
            while confirmed < len(channels) and time.monotonic() < deadline:
                message = pubsub.get_message(timeout=max(0.0, deadline - time.monotonic()))
                if message is not None and message.get("type") == "subscribe":
                    confirmed += 1
        except BaseException:
            pubsub.close()
            client.close()
            raise
        relay = _relay_redis(client, pubsub, timeout, tag)
    else:
        q: queue.Queue[_Item] = queue.Queue()
        for channel in channels:
            _local.subscribe(channel, q)
        relay = _relay_local(channels, q, timeout, tag)
    next(relay)  # into its try block, so that close() unsubscribes even if never iterated
    return relay


def _tagged(channel: str | bytes, event: dict[str, Any], tag: bool) -> dict[str, Any]:
    return {**event, "merchant_id": _merchant_of(channel)} if tag else event


def _relay_redis(
    client, pubsub, timeout: float, tag: bool = False
) -> Generator[dict[str, Any] | None, None, None]:
    try:
        yield None  # primed by listen(), never seen by the caller
        while True:
            message = pubsub.get_message(timeout=timeout)
            if message is None:
                yield None
            elif message.get("type") == "message":
                yield _tagged(message["channel"], json.loads(message["data"]), tag)
    finally:
        pubsub.close()
        client.close()


def _relay_local(
    channels: list[str], q: queue.Queue[_Item], timeout: float, tag: bool = False
) -> Generator[dict[str, Any] | None, None, None]:
    try:
        yield None  # primed by listen(), never seen by the caller
        while True:
            try:
                channel, event = q.get(timeout=timeout)
            except queue.Empty:
                yield None
            else:
                yield _tagged(channel, event, tag)
    finally:
        for channel in channels:
            _local.unsubscribe(channel, q)
