"""Live payment events for the trader's screen: per-merchant channels.

With REDIS_URL: Redis pub/sub, so any web process can publish and the process holding the
trader's SSE connection relays. Without it (the embedded default): an in-process bus.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Generator
from typing import Any

from django.conf import settings


def _channel(merchant_id: int) -> str:
    return f"choso:payments:merchant:{merchant_id}"


class _LocalBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[str, list[queue.Queue[dict[str, Any]]]] = {}

    def publish(self, channel: str, event: dict[str, Any]) -> None:
        with self._lock:
            targets = list(self._subscribers.get(channel, []))
        for q in targets:
            q.put(event)

    def subscribe(self, channel: str) -> queue.Queue[dict[str, Any]]:
        q: queue.Queue[dict[str, Any]] = queue.Queue()
        with self._lock:
            self._subscribers.setdefault(channel, []).append(q)
        return q

    def unsubscribe(self, channel: str, q: queue.Queue[dict[str, Any]]) -> None:
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
    merchant_id: int, *, timeout: float = 15.0
) -> Generator[dict[str, Any] | None, None, None]:
    """Subscribe to one merchant's events; the generator yields them, and None every `timeout`
    seconds as a keep-alive. close() it to unsubscribe.

    The subscription is in place when listen() returns, before the first item is asked for: a
    caller that tells its client "listening" only after this call misses nothing published from
    then on (the SSE view sends its first bytes after it).
    """
    channel = _channel(merchant_id)
    if settings.REDIS_URL:
        client = _redis()
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(channel)
            # Redis's confirmation: from here on every PUBLISH to the channel reaches us.
            pubsub.get_message(timeout=5)
        except BaseException:
            pubsub.close()
            client.close()
            raise
        relay = _relay_redis(client, pubsub, timeout)
    else:
        relay = _relay_local(channel, _local.subscribe(channel), timeout)
    next(relay)  # into its try block, so that close() unsubscribes even if never iterated
    return relay


def _relay_redis(client, pubsub, timeout: float) -> Generator[dict[str, Any] | None, None, None]:
    try:
        yield None  # primed by listen(), never seen by the caller
        while True:
            message = pubsub.get_message(timeout=timeout)
            if message is None:
                yield None
            elif message.get("type") == "message":
                yield json.loads(message["data"])
    finally:
        pubsub.close()
        client.close()


def _relay_local(
    channel: str, q: queue.Queue[dict[str, Any]], timeout: float
) -> Generator[dict[str, Any] | None, None, None]:
    try:
        yield None  # primed by listen(), never seen by the caller
        while True:
            try:
                yield q.get(timeout=timeout)
            except queue.Empty:
                yield None
    finally:
        _local.unsubscribe(channel, q)
