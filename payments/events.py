"""Live payment events for the trader's screen: per-merchant channels.

With REDIS_URL: Redis pub/sub, so any web process can publish and the process holding the
trader's SSE connection relays. Without it (the embedded default): an in-process bus.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
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


def publish(merchant_id: int, event: dict[str, Any]) -> None:
    if settings.REDIS_URL:
        _redis().publish(_channel(merchant_id), json.dumps(event, ensure_ascii=False))
    else:
        _local.publish(_channel(merchant_id), event)


def listen(merchant_id: int, *, timeout: float = 15.0) -> Iterator[dict[str, Any] | None]:
    """Yield events for one merchant; yields None every `timeout` seconds as a keep-alive."""
    channel = _channel(merchant_id)
    if settings.REDIS_URL:
        client = _redis()
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(channel)
        try:
            while True:
                message = pubsub.get_message(timeout=timeout)
                if message is None:
                    yield None
                elif message.get("type") == "message":
                    yield json.loads(message["data"])
        finally:
            pubsub.close()
            client.close()
    else:
        q = _local.subscribe(channel)
        try:
            while True:
                try:
                    yield q.get(timeout=timeout)
                except queue.Empty:
                    yield None
        finally:
            _local.unsubscribe(channel, q)
