"""Adapter for SePay bank alerts (the only module that speaks SePay's wire protocol).

SePay (sepay.vn) watches a trader's bank account and POSTs one JSON object per transaction to
the webhook URL the trader configured in SePay's dashboard; it also lists transactions through
its user API. Each trader connects their own SePay account (payments.models.BankAlertConnection),
so the key or secret that authenticates a webhook is the connection's, never a platform-wide one.
Protocol as our sandbox speaks it: sandboxes/sepay/PROTOCOL.md.

What SePay documents (developer.sepay.vn, read December 2026), and what we are unsure of, is
kept here in one place:

- Webhook body: ``id`` (integer, the deduplication key), ``gateway`` (bank name, e.g.
  "Vietcombank"), ``transactionDate`` ("YYYY-MM-DD HH:MM:SS", Vietnam time, no offset),
  ``accountNumber``, ``subAccount`` (virtual account or null), ``code`` (payment code found by
  the pattern set in SePay's dashboard, or null), ``content``, ``transferType`` ("in"/"out"),
  ``transferAmount`` (whole đồng), ``accumulated`` (balance after), ``referenceCode``,
  ``description`` (the bank's full SMS text; optional).
- Authentication, chosen per webhook in SePay's dashboard: ``Authorization: Apikey <key>``, or
  HMAC-SHA256 with a timestamp header ``X-SePay-Timestamp`` (reject a drift over 5 minutes).
  **Unsure**: the HMAC signature header's name and the exact signed string are not in the
  pages we could read; we take ``X-SePay-Signature: sha256=<hex>`` over ``f"{timestamp}.{raw
  body}"`` (HMAC_HEADER, HMAC_PREFIX, signed_string below). "None" and OAuth 2.0 are refused.
- Success answer: HTTP 200 or 201 with ``{"success": true}`` within 5 seconds; anything else is
  retried up to 7 times at Fibonacci-spaced intervals (about 33 minutes in all).
- Transaction list: ``GET /userapi/transactions/list`` with ``Authorization: Bearer <API
  token>`` and ``account_number``, ``transaction_date_min``/``_max`` ("YYYY-MM-DD HH:MM:SS"),
  ``since_id``, ``limit``; answers ``{"status": 200, "error": null, "messages": {"success":
  true}, "transactions": [...]}`` whose rows have ``id``, ``bank_brand_name``,
  ``account_number``, ``transaction_date``, ``amount_in``/``amount_out`` (decimal strings such
  as "150000.00"), ``accumulated``, ``transaction_content``, ``reference_number``, ``code``,
  ``sub_account``. **Unsure**: whether ``limit`` caps at 5000 and whether ``since_id`` is
  honoured together with the dates; we page by ``since_id`` and stop at a short page.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from .banknotify import (
    MAX_ACCOUNT_LENGTH,
    MAX_AMOUNT,
    BankTransaction,
    PayloadError,
    SignatureError,
    _storable,
)

log = logging.getLogger(__name__)

SOURCE = "sepay"
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

AUTH_APIKEY = "apikey"
AUTH_HMAC = "hmac"
AUTH_MODES = (AUTH_APIKEY, AUTH_HMAC)
APIKEY_SCHEME = "Apikey "
HMAC_HEADER = "X-SePay-Signature"  # unsure of the name: see the module docstring
HMAC_PREFIX = "sha256="
TIMESTAMP_HEADER = "X-SePay-Timestamp"
TOLERANCE_SECONDS = 300

# What SePay needs back to stop retrying.
SUCCESS_ANSWER = {"success": True}

LIST_PATH = "/userapi/transactions/list"
LIST_PAGE = 200

# Our test notification (the "Gửi thử" button): a zero-amount delivery whose content carries the
# connection's pending test code. SePay never sends a transfer of 0 đ.
TEST_PATH = "/sandbox/test-webhook"


__all__ = [
    "AUTH_APIKEY",
    "AUTH_HMAC",
    "SUCCESS_ANSWER",
    "Alert",
    "PayloadError",
    "SePayClient",
    "SignatureError",
    "parse_alert",
    "sign",
    "verify",
]


@dataclass(frozen=True)
class Alert:
    """One SePay webhook, read: the transaction (``tx``, or None for a zero-amount test) with the
    fields only SePay has."""

    sepay_id: str
    gateway: str
    account_number: str
    sub_account: str
    code: str
    content: str
    transfer_type: str
    amount: int
    transaction_date: datetime
    raw: dict[str, Any]

    @property
    def is_test(self) -> bool:
        return self.amount == 0

    def transaction(
        self, *, connection_id: int, bank_bin: str, account_number: str = ""
    ) -> BankTransaction:
        """The bank transaction our settlement path takes, deduplicated per connection: SePay's
        ids are its own sequence, so one connection's id 42 is not another's. ``account_number``:
        our account it was matched to (a virtual account's transfer names the main one)."""
        return BankTransaction(
            provider_id=f"{SOURCE}:{connection_id}:{self.sepay_id}",
            bank_bin=bank_bin,
            account_number=account_number or self.account_number,
            transfer_type=self.transfer_type,
            amount=self.amount,
            description=self.message[:255],
            bank_reference=self.raw_reference[:64],
            counter_name="",
            transaction_date=self.transaction_date,
            raw=self.raw,
            source=SOURCE,
        )

    @property
    def message(self) -> str:
        """The transfer message our reference code is looked for in: the content, preceded by
        SePay's ``code`` when SePay found one the bank's text no longer shows as such."""
        if self.code and self.code.upper() not in self.content.upper().replace(" ", ""):
            return f"{self.code} {self.content}"
        return self.content

    @property
    def raw_reference(self) -> str:
        value = self.raw.get("referenceCode")
        return "" if value is None else str(value)


# --- authentication ---------------------------------------------------------------------------


def signed_string(body: bytes, timestamp: str) -> bytes:
    return timestamp.encode() + b"." + body


def sign(body: bytes, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers of an HMAC-authenticated delivery (the sandbox and tests use this)."""
    t = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(secret.encode(), signed_string(body, t), hashlib.sha256).hexdigest()
    return {HMAC_HEADER: HMAC_PREFIX + mac, TIMESTAMP_HEADER: t}


def verify(
    body: bytes,
    headers: Any,
    *,
    mode: str,
    secret: str,
    tolerance: int = TOLERANCE_SECONDS,
    now: float | None = None,
) -> None:
    """Raise SignatureError unless the request carries this connection's key (``apikey``) or a
    fresh HMAC of this body with its secret (``hmac``). An empty secret refuses everything."""
    if not secret or not secret.strip():
        raise SignatureError("the connection has no secret")
    if mode == AUTH_APIKEY:
        given = headers.get("Authorization") or ""
        if not given.startswith(APIKEY_SCHEME):
            raise SignatureError("missing Authorization: Apikey header")
        if not hmac.compare_digest(given[len(APIKEY_SCHEME) :].strip().encode(), secret.encode()):
            raise SignatureError("API key does not match")
        return
    if mode != AUTH_HMAC:
        raise SignatureError(f"unsupported authentication {mode!r}")
    stamp = headers.get(TIMESTAMP_HEADER) or ""
    given = headers.get(HMAC_HEADER) or ""
    if not stamp.isdigit() or not given:
        raise SignatureError("missing signature or timestamp header")
    current = time.time() if now is None else now
    if abs(current - int(stamp)) > tolerance:
        raise SignatureError("timestamp outside the tolerance")
    expected = (
        HMAC_PREFIX
        + hmac.new(secret.encode(), signed_string(body, stamp), hashlib.sha256).hexdigest()
    )
    if not hmac.compare_digest(expected.encode(), given.strip().lower().encode()):
        raise SignatureError("signature does not match")


# --- the webhook body -------------------------------------------------------------------------


def _text(data: dict[str, Any], key: str, limit: int) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise PayloadError(f"{key} must be a string")
    text = str(value)
    if len(text) > limit:
        raise PayloadError(f"{key} is longer than {limit} characters")
    return text


def _amount(value: Any, key: str, *, text: bool = False) -> int:
    """Whole đồng: an integer, or (``text``: the list API) a decimal string with no fraction."""
    if isinstance(value, bool):
        raise PayloadError(f"{key} must be a whole number of đồng")
    if isinstance(value, int):
        amount = value
    elif isinstance(value, str) and text:
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise PayloadError(f"{key} must be a number") from None
        if not number.is_finite() or number != number.to_integral_value():
            raise PayloadError(f"{key} must be a whole number of đồng")
        amount = int(number)
    else:
        raise PayloadError(f"{key} must be a whole number of đồng")
    if not 0 <= amount <= MAX_AMOUNT:
        raise PayloadError(f"{key} is out of range")
    return amount


def _when(value: Any) -> datetime:
    if not isinstance(value, str):
        raise PayloadError("transactionDate must be 'YYYY-MM-DD HH:MM:SS'")
    try:
        local = datetime.strptime(value, DATE_FORMAT)
    except ValueError:
        raise PayloadError("transactionDate must be 'YYYY-MM-DD HH:MM:SS'") from None
    return local.replace(tzinfo=VIETNAM).astimezone(UTC)


def _sepay_id(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PayloadError("id must be an integer")
    text = str(value)
    if not text.isdigit() or len(text) > 20:
        raise PayloadError("id must be an integer")
    return text


def parse_alert(data: Any) -> Alert:
    """A webhook body, checked: PayloadError names the first thing wrong."""
    if not isinstance(data, dict):
        raise PayloadError("notification must be a JSON object")
    if not _storable(data):
        raise PayloadError("notification contains characters that cannot be stored")
    for key in ("id", "accountNumber", "transferType", "transferAmount", "transactionDate"):
        if key not in data:
            raise PayloadError(f"missing field {key}")
    transfer_type = data["transferType"]
    if transfer_type not in ("in", "out"):
        raise PayloadError("transferType must be 'in' or 'out'")
    account = _text(data, "accountNumber", MAX_ACCOUNT_LENGTH)
    if not account:
        raise PayloadError("accountNumber is empty")
    return Alert(
        sepay_id=_sepay_id(data["id"]),
        gateway=_text(data, "gateway", 64),
        account_number=account,
        sub_account=_text(data, "subAccount", 32),
        code=_text(data, "code", 64),
        content=_text(data, "content", 1000),
        transfer_type=transfer_type,
        amount=_amount(data["transferAmount"], "transferAmount"),
        transaction_date=_when(data["transactionDate"]),
        raw=data,
    )


def parse_body(body: bytes) -> Alert:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise PayloadError("body is not JSON") from None
    return parse_alert(data)


def listed_alert(row: Any) -> Alert:
    """A row of the transaction list, read as the webhook it stands for."""
    if not isinstance(row, dict):
        raise PayloadError("transaction must be a JSON object")
    amount_in = _amount(row.get("amount_in") or "0", "amount_in", text=True)
    amount_out = _amount(row.get("amount_out") or "0", "amount_out", text=True)
    if (amount_in > 0) == (amount_out > 0):
        raise PayloadError("exactly one of amount_in and amount_out must be positive")
    alert = parse_alert(
        {
            "id": row.get("id"),
            "gateway": row.get("bank_brand_name"),
            "transactionDate": row.get("transaction_date"),
            "accountNumber": row.get("account_number"),
            "subAccount": row.get("sub_account"),
            "code": row.get("code"),
            "content": row.get("transaction_content"),
            "transferType": "in" if amount_in else "out",
            "transferAmount": amount_in or amount_out,
            "referenceCode": row.get("reference_number"),
        }
    )
    return replace(alert, raw=row)


# --- the user API -----------------------------------------------------------------------------


class SePayUnavailable(Exception):
    pass


class SePayClient:
    """SePay's user API with one connection's API token: the transaction list (reconciliation),
    and in the sandbox the test delivery."""

    def __init__(self, base_url: str, api_token: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        retry = Retry(
            total=3,
            backoff_factor=0.5,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
        )
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))
        self.session.headers["Authorization"] = f"Bearer {api_token}"
        self.timeout = timeout

    def list_transactions(self, *, account_number: str, since: datetime) -> list[Alert]:
        """Every transaction of the account since ``since``, oldest first, page by page."""
        alerts: list[Alert] = []
        since_id = 0
        start = since.astimezone(VIETNAM).strftime(DATE_FORMAT)
        while True:
            try:
                response = self.session.get(
                    f"{self.base_url}{LIST_PATH}",
                    params={
                        "account_number": account_number,
                        "transaction_date_min": start,
                        "since_id": str(since_id),
                        "limit": str(LIST_PAGE),
                    },
                    timeout=self.timeout,
                )
                response.raise_for_status()
                rows = response.json()["transactions"]
            except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
                raise SePayUnavailable(str(exc)) from exc
            for row in rows:
                try:
                    alert = listed_alert(row)
                except PayloadError as exc:
                    row_id = row.get("id") if isinstance(row, dict) else None
                    log.error("SePay listed a transaction we cannot read (%r): %s", row_id, exc)
                    continue
                alerts.append(alert)
                since_id = max(since_id, int(alert.sepay_id))
            if len(rows) < LIST_PAGE:
                return alerts

    def send_test(
        self,
        *,
        webhook_url: str,
        mode: str,
        secret: str,
        account_number: str,
        gateway: str,
        code: str,
    ) -> None:
        """Ask the sandbox to deliver a zero-amount test notification. Real SePay has no such
        call (its dashboard has a "send test" button): SePayUnavailable then."""
        try:
            response = requests.post(
                f"{self.base_url}{TEST_PATH}",
                json={
                    "webhook_url": webhook_url,
                    "auth": mode,
                    "secret": secret,
                    "account_number": account_number,
                    "gateway": gateway,
                    "content": code,
                },
                headers={"Authorization": self.session.headers["Authorization"]},
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise SePayUnavailable(str(exc)) from exc
        if response.status_code != 202:
            raise SePayUnavailable(f"test delivery refused: HTTP {response.status_code}")
