"""Secrets sealed with a key derived from a settings secret (Fernet: AES-128-CBC + HMAC-SHA256).

One derivation for every use: HKDF-SHA256 over the setting's value, with a ``salt`` and an
``info`` naming the use, so each use has a key of its own and a token of one use never opens
with another's. Used for what must not sit readable where it is kept: a trader's bank-alert key
and a signing key at rest (payments/bankalerts.py, einvoice/signing.py), an SMS in the task queue
(core/sms.py: a one-time code and a phone number pass through Redis).
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

__all__ = ["InvalidToken", "fernet"]


@functools.lru_cache(maxsize=16)
def fernet(secret: str, *, salt: bytes, info: bytes) -> Fernet:
    """The Fernet of this use (``salt``, ``info``) under ``secret``."""
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))
