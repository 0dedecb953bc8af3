"""Stripe-like idempotency keys (PROTOCOL.md, "Transport" and "Decisions").

A key is scoped to the API key that sent it. The first request with a key reserves it (*in
flight*); when it ends, a 2xx answer is saved and replayed byte for byte to every later request
with the same key and the same method, path and JSON body; any other answer releases the key, so
a retry runs again. A different body → 400 ``idempotency_key_reused``; the first request still
in flight → 409 ``idempotency_key_in_use``. Saved answers are forgotten after 24 hours.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any

from .ledger import MAX_IDEMPOTENCY_KEY, EWalletError, invalid

RETENTION_SECONDS = 24 * 3600


@dataclass
class Entry:
    fingerprint: str
    request_id: str  # of the first request
    started: float
    status: int | None = None  # None while in flight
    body: bytes = b""


def fingerprint(method: str, path: str, body: Any) -> str:
    """What "the same request" means: method, path and the JSON body (key order and spacing
    do not matter; an empty body is ``{}``)."""
    canonical = json.dumps({} if body is None else body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


def check_key(value: str) -> str:
    if not value or len(value) > MAX_IDEMPOTENCY_KEY or not value.isprintable():
        raise invalid(
            "idempotency_key_invalid",
            f"Idempotency-Key phải dài 1–{MAX_IDEMPOTENCY_KEY} ký tự in được.",
        )
    return value


class IdempotencyStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], Entry] = {}

    def begin(
        self, scope: str, key: str, print_: str, request_id: str, now: float
    ) -> tuple[Entry, bool]:
        """Reserve ``key`` for a new request → ``(entry, False)``, or ``(saved entry, True)`` to
        replay; raises :class:`EWalletError` for a reused key or one in flight."""
        with self._lock:
            self._prune(now)
            entry = self._entries.get((scope, key))
            if entry is not None:
                if entry.fingerprint != print_:
                    raise EWalletError(
                        400,
                        "idempotency_error",
                        "idempotency_key_reused",
                        "Idempotency-Key này đã được dùng cho một yêu cầu khác "
                        "(khác phương thức, đường dẫn hoặc nội dung).",
                    )
                if entry.status is None:
                    raise EWalletError(
                        409,
                        "idempotency_error",
                        "idempotency_key_in_use",
                        "Yêu cầu đầu tiên với Idempotency-Key này vẫn đang được xử lý; "
                        "hãy thử lại sau giây lát.",
                        should_retry=True,
                    )
                return entry, True
            entry = Entry(fingerprint=print_, request_id=request_id, started=now)
            self._entries[(scope, key)] = entry
            return entry, False

    def finish(self, scope: str, key: str, entry: Entry, status: int, body: bytes) -> None:
        """Save a 2xx answer for replay; release the key after any other."""
        with self._lock:
            if self._entries.get((scope, key)) is not entry:
                return  # forgotten by a reset meanwhile
            if 200 <= status < 300:
                entry.status = status
                entry.body = body
            else:
                del self._entries[(scope, key)]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _prune(self, now: float) -> None:
        stale = [
            name
            for name, entry in self._entries.items()
            if entry.status is not None and now - entry.started > RETENTION_SECONDS
        ]
        for name in stale:
            del self._entries[name]
