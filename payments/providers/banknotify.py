"""Adapter for the bank-notification provider (the only module that speaks its wire protocol).

The provider watches merchants' bank accounts and POSTs one signed JSON notification per
transfer; it also lists transactions for reconciliation. Protocol: sandboxes/banknotify/README.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

log = logging.getLogger(__name__)

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
    # Which adapter read it (BankNotification.source): "banknotify", "sepay".
    source: str = "banknotify"


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
    """Raise SignatureError unless the header signs this body with our secret, recently.

    An empty secret refuses every notification: anyone can compute an HMAC with an empty key.
    """
    if not secret or not secret.strip():
        log.error("bank notification refused: BANKNOTIFY_WEBHOOK_SECRET is not configured")
        raise SignatureError("no webhook secret is configured")
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


# Column sizes of BankNotification: a longer value is refused here, never cut or left to the
# database (PostgreSQL would answer a DataError, i.e. a 500, and the provider would retry forever).
MAX_ID_LENGTH = 64
MAX_ACCOUNT_LENGTH = 19
# Far above any bank transfer, far below BigIntegerField's limit.
MAX_AMOUNT = 10**15
TRANSFER_TYPES = ("in", "out")


def _text(data: dict[str, Any], key: str, limit: int) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise PayloadError(f"{key} must be a string")
    return str(value)[:limit]


def _storable(value: Any) -> bool:
    """No NUL character and no lone surrogate anywhere: PostgreSQL cannot store either."""
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    if isinstance(value, str):
        if "\x00" in value:
            return False
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return True


def parse_transaction(data: Any) -> BankTransaction:
    if not isinstance(data, dict):
        raise PayloadError("notification must be a JSON object")
    if not _storable(data):
        raise PayloadError("notification contains characters that cannot be stored")
    try:
        provider_id = data["id"]
        if not isinstance(provider_id, str | int) or isinstance(provider_id, bool):
            raise PayloadError("id must be a string or an integer")
        provider_id = str(provider_id)
        if not provider_id or len(provider_id) > MAX_ID_LENGTH:
            raise PayloadError(f"id must have 1 to {MAX_ID_LENGTH} characters")
        bank_bin = data["bin"]
        if not isinstance(bank_bin, str) or len(bank_bin) != 6 or not bank_bin.isdigit():
            raise PayloadError("bin must be 6 digits")
        account_number = data["account_number"]
        if (
            not isinstance(account_number, str)
            or not account_number
            or len(account_number) > MAX_ACCOUNT_LENGTH
        ):
            raise PayloadError(f"account_number must have 1 to {MAX_ACCOUNT_LENGTH} characters")
        transfer_type = data.get("transfer_type", "in")
        if transfer_type not in TRANSFER_TYPES:
            raise PayloadError("transfer_type must be 'in' or 'out'")
        amount = data["amount"]
        if not isinstance(amount, int) or isinstance(amount, bool) or not 0 < amount <= MAX_AMOUNT:
            raise PayloadError("amount must be a positive integer")
        when = datetime.fromisoformat(str(data["transaction_date"]))
        if when.tzinfo is None:
            raise PayloadError("transaction_date must carry a UTC offset")
        when = when.astimezone(UTC)
        return BankTransaction(
            provider_id=provider_id,
            bank_bin=bank_bin,
            account_number=account_number,
            transfer_type=transfer_type,
            amount=amount,
            description=_text(data, "description", 255),
            bank_reference=_text(data, "reference", 64),
            counter_name=_text(data, "counter_name", 120),
            transaction_date=when,
            raw=data,
        )
    except KeyError as exc:
        raise PayloadError(f"missing field {exc.args[0]}") from None
    except (ValueError, OverflowError) as exc:
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
        transactions = []
        for item in response.json()["transactions"]:
            try:
                transactions.append(parse_transaction(item))
            except PayloadError as exc:
                # One malformed row must not block reconciling the others; it is logged loudly.
                item_id = item.get("id") if isinstance(item, dict) else None
                log.error("banknotify listed a transaction we cannot read (%r): %s", item_id, exc)
        return transactions
