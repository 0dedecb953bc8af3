"""Verify (and, for tests and sandboxes, produce) the ``Wallet-Signature`` of a webhook.

The header is ``t=<unix seconds>,v1=<hex>`` where ``v1 = HMAC-SHA256(secret, f"{t}.{body}")``
over the raw body bytes, as Stripe's ``Stripe-Signature``. Several ``v1`` entries may be present
(e.g. while the provider rolls the secret): one matching is enough. Unlike stripe-python, a
timestamp too far in the *future* is rejected as well as a stale one.

Always verify the raw bytes as received (``request.body`` in Django), never a re-serialised
JSON document.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from ._errors import SignatureVerificationError
from ._objects import Event

__all__ = [
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "SIGNATURE_SCHEME",
    "compute_signature",
    "construct_event",
    "sign",
    "verify_header",
]

SIGNATURE_HEADER = "Wallet-Signature"
SIGNATURE_SCHEME = "v1"
DEFAULT_TOLERANCE = 300  # seconds
MAX_HEADER_LENGTH = 4096


def _to_bytes(payload: bytes | str) -> bytes:
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    raise TypeError(f"payload must be bytes or str, not {type(payload).__name__}")


def compute_signature(payload: bytes | str, secret: str, timestamp: int) -> str:
    """The hex ``v1`` value for ``payload`` signed at ``timestamp``."""
    message = str(int(timestamp)).encode("ascii") + b"." + _to_bytes(payload)
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """A ``Wallet-Signature`` header value for ``payload`` (now, unless ``timestamp`` is given).

    For tests and sandboxes: ``requests.post(url, data=body, headers={SIGNATURE_HEADER:
    sign(body, secret)})``.
    """
    if not secret:
        raise ValueError("secret must not be empty")
    t = int(time.time()) if timestamp is None else int(timestamp)
    return f"t={t},{SIGNATURE_SCHEME}={compute_signature(payload, secret, t)}"


def _parse_header(header: str) -> tuple[int, list[str]]:
    """``(timestamp, [v1 signatures])``; raises ValueError when malformed."""
    if len(header) > MAX_HEADER_LENGTH:
        raise ValueError("header too long")
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise ValueError(f"item {item.strip()[:20]!r} is not key=value")
        key, value = key.strip(), value.strip()
        if key == "t":
            if timestamp is not None:
                raise ValueError("more than one timestamp")
            if not value.isascii() or not value.isdigit():
                raise ValueError("the timestamp is not a whole number of seconds")
            timestamp = int(value)
        elif key == SIGNATURE_SCHEME:
            signatures.append(value)
        # Other schemes (v0, a future v2, …) are ignored, as Stripe does.
    if timestamp is None:
        raise ValueError("no timestamp (t=…)")
    if not signatures:
        raise ValueError(f"no {SIGNATURE_SCHEME}=… signature")
    return timestamp, signatures


def verify_header(
    payload: bytes | str,
    signature_header: str | None,
    secret: str,
    tolerance: int | None = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> int:
    """Check the signature; return its timestamp or raise :class:`SignatureVerificationError`.

    ``tolerance`` (seconds) bounds ``|now - t|``; ``None`` switches the time check off (only to
    replay recorded fixtures). ``now`` (unix seconds) defaults to the current time.
    """
    if not secret:
        raise ValueError("secret must not be empty: configure the webhook signing secret")
    raw = _to_bytes(payload)
    if not signature_header or not isinstance(signature_header, str):
        raise SignatureVerificationError(
            f"No {SIGNATURE_HEADER} header: is this request from the wallet?",
            signature_header,
            raw,
        )
    try:
        timestamp, signatures = _parse_header(signature_header)
    except ValueError as exc:
        raise SignatureVerificationError(
            f"Malformed {SIGNATURE_HEADER} header ({exc}); expected t=<unix seconds>,v1=<hex>",
            signature_header,
            raw,
        ) from None
    expected = compute_signature(raw, secret, timestamp).encode("ascii")
    # compare_digest on bytes: a str with non-ASCII characters would raise TypeError.
    if not any(
        hmac.compare_digest(expected, candidate.lower().encode("utf-8", "replace"))
        for candidate in signatures
    ):
        raise SignatureVerificationError(
            "No signature matches the expected signature for the payload: wrong secret, or "
            "the body was altered (verify the raw bytes as received)",
            signature_header,
            raw,
        )
    if tolerance is not None:
        current = time.time() if now is None else now
        if timestamp < current - tolerance:
            raise SignatureVerificationError(
                f"Timestamp outside the tolerance zone: signed {int(current - timestamp)} s ago "
                f"(more than {tolerance} s): a replayed or badly delayed webhook",
                signature_header,
                raw,
            )
        if timestamp > current + tolerance:
            raise SignatureVerificationError(
                f"Timestamp outside the tolerance zone: signed {int(timestamp - current)} s in "
                f"the future (more than {tolerance} s): check the server clocks",
                signature_header,
                raw,
            )
    return timestamp


def construct_event(
    payload: bytes | str,
    signature_header: str,
    secret: str,
    tolerance: int | None = DEFAULT_TOLERANCE,
    *,
    now: float | None = None,
) -> Event:
    """Verify a webhook and return its :class:`Event` (``event.data.object`` is typed).

    Raises :class:`SignatureVerificationError` when the signature does not hold (answer 400),
    and :class:`ValueError` when a correctly signed body is not a valid event (also answer 400;
    the provider will retry, so log it).
    """
    raw = _to_bytes(payload)
    verify_header(raw, signature_header, secret, tolerance, now=now)
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError as exc:
        raise ValueError(f"The webhook body is not valid UTF-8 JSON: {exc}") from None
    try:
        return Event.from_dict(data)
    except ValueError as exc:
        raise ValueError(f"The webhook body is not a valid event: {exc}") from None
