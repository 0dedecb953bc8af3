"""Adapter for the bank-notification provider (the only module that speaks its wire protocol).

The provider watches merchants' bank accounts and POSTs one signed JSON notification per
transfer; it also lists transactions for reconciliation. Protocol: sandboxes/banknotify/README.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

SIGNATURE_HEADER = "X-Banknotify-Signature"
DEFAULT_TOLERANCE = 300


class SignatureError(Exception):
    pass


class PayloadError(Exception):
    pass


@dataclass(frozen=True)
class BankTransaction:
    provider_id: str
    bank_bin: str
    account_number: str
    transfer_type: str
    amount: int
    description: str
    bank_reference: str
    counter_name: str
    transaction_date: datetime
    raw: dict[str, Any]


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify_signature(
    body: bytes,
    header: str | None,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> None:
    """Raise SignatureError unless the header signs this body with our secret, recently."""
    if not header:
        raise SignatureError("missing signature header")
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        t = int(parts["t"][0])
    except (KeyError, ValueError):
        raise SignatureError("signature header has no valid timestamp") from None
    current = time.time() if now is None else now
    if abs(current - t) > tolerance:
        raise SignatureError("timestamp outside the tolerance")
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, v) for v in parts.get("v1", [])):
        raise SignatureError("signature does not match")


def parse_transaction(data: Any) -> BankTransaction:
    if not isinstance(data, dict):
        raise PayloadError("notification must be a JSON object")
    try:
        amount = data["amount"]
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise PayloadError("amount must be a positive integer")
        when = datetime.fromisoformat(str(data["transaction_date"]))
        if when.tzinfo is None:
            raise PayloadError("transaction_date must carry a UTC offset")
        return BankTransaction(
            provider_id=str(data["id"])[:64],
            bank_bin=str(data["bin"]),
            account_number=str(data["account_number"]),
            transfer_type=str(data.get("transfer_type", "in")),
            amount=amount,
            description=str(data.get("description", ""))[:255],
            bank_reference=str(data.get("reference", ""))[:64],
            counter_name=str(data.get("counter_name", ""))[:120],
            transaction_date=when,
            raw=data,
        )
    except KeyError as exc:
        raise PayloadError(f"missing field {exc.args[0]}") from None
    except ValueError as exc:
        raise PayloadError(str(exc)) from None


def parse_notification(body: bytes) -> BankTransaction:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PayloadError("body is not JSON") from None
    return parse_transaction(data)


class BankNotifyClient:
    """Pulls the provider's transaction list (reconciliation after lost webhooks)."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        retry = Retry(total=3, backoff_factor=0.5, status_forcelist=(429, 500, 502, 503, 504))
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))
        self.session.headers["Authorization"] = f"Apikey {api_key}"
        self.timeout = timeout

    def list_transactions(self, *, since: datetime) -> list[BankTransaction]:
        response = self.session.get(
            f"{self.base_url}/api/transactions",
            params={"since": since.isoformat()},
            timeout=self.timeout,
        )
        response.raise_for_status()
        return [parse_transaction(item) for item in response.json()["transactions"]]
