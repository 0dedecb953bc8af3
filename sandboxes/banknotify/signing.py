"""Signing of notifications: ``X-Banknotify-Signature: t=<unix seconds>,v1=<hex>``.

``v1`` is the hex HMAC-SHA256 of ``f"{t}.{raw_body}"`` keyed with the webhook secret (the scheme
Stripe uses for its webhooks). The sandbox signs every delivery attempt afresh, so a retry sent
minutes after the first attempt still falls inside the receiver's 300-second window.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Banknotify-Signature"
DEFAULT_TOLERANCE = 300


def signature(body: bytes, secret: str, timestamp: int) -> str:
    """The hex ``v1`` value for ``body`` signed at ``timestamp``."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The full header value, ``t=<timestamp>,v1=<hex>``; ``timestamp`` defaults to now."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={signature(body, secret, t)}"


def verify(
    body: bytes,
    header: str | None,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds of now.

    A receiver-side helper for tests and demos; the platform has its own in
    ``payments/providers/banknotify.py``.
    """
    if not header:
        return False
    timestamps: list[str] = []
    candidates: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep and key == "t":
            timestamps.append(value)
        elif sep and key == "v1":
            candidates.append(value)
    if len(timestamps) != 1 or not timestamps[0].isdigit():
        return False
    t = int(timestamps[0])
    current = time.time() if now is None else now
    if abs(current - t) > tolerance:
        return False
    expected = signature(body, secret, t)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)
