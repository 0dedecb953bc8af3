"""Signing of notifications: ``X-Banknotify-Signature: t=<unix seconds>,v1=<hex>``.

``v1`` is the hex HMAC-SHA256 of ``f"{t}.{raw_body}"`` keyed with the webhook secret (the scheme
Stripe uses for its webhooks). The sandbox signs every delivery attempt afresh, so a retry sent
minutes after the first attempt still falls inside the receiver's 300-second window.

The functions live in :mod:`sandboxes._common` (the e-wallet sandbox signs the same way under
another header name); :func:`verify` is a receiver-side helper for tests and demos, the platform
has its own in ``payments/providers/banknotify.py``.
"""

from __future__ import annotations

from .._common import DEFAULT_TOLERANCE, sign, signature, verify

SIGNATURE_HEADER = "X-Banknotify-Signature"

__all__ = ["DEFAULT_TOLERANCE", "SIGNATURE_HEADER", "sign", "signature", "verify"]
