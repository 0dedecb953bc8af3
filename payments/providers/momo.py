"""Adapter for MoMo's payment gateway v2 (captureWallet): the one module that knows its protocol.

Everything MoMo-specific lives here: the alphabetical raw strings that are signed, the request
builders, parsing of answers and IPNs (amounts as integer VND), and the mapping of MoMo's
``resultCode`` to our outcomes. ``payments/momo.py`` turns those into intents and ledger rows;
``sandboxes/momo`` speaks the same wire protocol (its PROTOCOL.md).

Protocol, as MoMo documents it (developers.momo.vn, "One-time payment", "Query", "Refund",
"Result codes"):

- ``POST {endpoint}/v2/gateway/api/create``, JSON; ``signature`` is the hex HMAC-SHA256, keyed
  with the secret key, of ``accessKey=…&amount=…&extraData=…&ipnUrl=…&orderId=…&orderInfo=…&
  partnerCode=…&redirectUrl=…&requestId=…&requestType=…`` (values raw, not URL-encoded).
- IPN: MoMo POSTs JSON to ``ipnUrl``; its ``signature`` covers ``accessKey, amount, extraData,
  message, orderId, orderInfo, orderType, partnerCode, payType, requestId, responseTime,
  resultCode, transId`` in that (alphabetical) order. The merchant answers HTTP 204.
- ``/v2/gateway/api/query``: signed over ``accessKey, orderId, partnerCode, requestId``.
- ``/v2/gateway/api/refund``: signed over ``accessKey, amount, description, orderId,
  partnerCode, requestId, transId``.
- captureWallet amounts: 1.000 đ to 50.000.000 đ per payment.

Not confirmed from MoMo's public pages (kept as our assumptions, docs/ewallet-momo.md):
whether the create/query/refund *answers* carry a signature of their own (we do not rely on
one; the IPN is always verified); the exact result code MoMo uses for a refund larger than what
is left (the sandbox answers 21); the IPN retry schedule (the sandbox retries with backoff).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

log = logging.getLogger(__name__)

CREATE_PATH = "/v2/gateway/api/create"
QUERY_PATH = "/v2/gateway/api/query"
REFUND_PATH = "/v2/gateway/api/refund"
REQUEST_TYPE = "captureWallet"
MIN_AMOUNT = 1_000
MAX_AMOUNT = 50_000_000
# Our orderId: "CSMOMO-<intent id>-<reference code>". MoMo allows [0-9a-zA-Z] joined by -_. .
ORDER_PREFIX = "CSMOMO-"

CREATE_FIELDS = (
    "accessKey",
    "amount",
    "extraData",
    "ipnUrl",
    "orderId",
    "orderInfo",
    "partnerCode",
    "redirectUrl",
    "requestId",
    "requestType",
)
IPN_FIELDS = (
    "accessKey",
    "amount",
    "extraData",
    "message",
    "orderId",
    "orderInfo",
    "orderType",
    "partnerCode",
    "payType",
    "requestId",
    "responseTime",
    "resultCode",
    "transId",
)
QUERY_FIELDS = ("accessKey", "orderId", "partnerCode", "requestId")
REFUND_FIELDS = (
    "accessKey",
    "amount",
    "description",
    "orderId",
    "partnerCode",
    "requestId",
    "transId",
)

# resultCode → our outcome. "succeeded"/"pending"/"failed" describe a payment; "rejected" is a
# request MoMo refused (tell the person why); "unavailable" is try-again-later.
SUCCEEDED = frozenset({0, 9000})
PENDING = frozenset({1000, 7000, 7002, 8000})
FAILED = {
    1001: "insufficient_funds",
    1002: "rejected_by_issuer",
    1003: "canceled",
    1004: "over_daily_limit",
    1005: "expired",
    1006: "declined_by_shopper",
    1007: "wallet_inactive",
    1017: "canceled_by_partner",
    1026: "promotion_restricted",
    4001: "account_restricted",
    4100: "login_failed",
}
UNAVAILABLE = frozenset({10, 99, 7000, 7002})
REJECTED = {
    11: "access_denied",
    12: "unsupported_api_version",
    13: "merchant_authentication_failed",
    20: "bad_request",
    21: "invalid_amount",
    22: "amount_out_of_range",
    40: "duplicate_request_id",
    41: "duplicate_order_id",
    42: "order_not_found",
    43: "conflicting_transaction",
    1080: "refund_failed",
    1081: "refund_rejected",
    1088: "refund_not_allowed",
}


class MomoUnavailable(Exception):
    """MoMo could not be reached, answered 5xx, or said try later (10, 99, 7000…)."""


class MomoRejected(Exception):
    """MoMo refused the request; ``code`` is our name for its resultCode."""

    def __init__(self, message: str, code: str = "", result_code: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.result_code = result_code


class MomoSignatureError(Exception):
    pass


class MomoPayloadError(ValueError):
    pass


@dataclass(frozen=True)
class MomoPayment:
    order_id: str
    request_id: str
    amount: int
    result_code: int
    message: str
    trans_id: str  # MoMo's transaction id ("" until paid)
    pay_url: str = ""
    pay_type: str = ""

    @property
    def status(self) -> str:
        """succeeded | pending | failed"""
        return payment_status(self.result_code)

    @property
    def failure_reason(self) -> str:
        return FAILED.get(self.result_code, f"momo_{self.result_code}")


@dataclass(frozen=True)
class MomoRefund:
    order_id: str
    request_id: str
    amount: int
    trans_id: str
    result_code: int


def payment_status(result_code: int) -> str:
    if result_code in SUCCEEDED:
        return "succeeded"
    if result_code in PENDING:
        return "pending"
    return "failed"


# --- signing ----------------------------------------------------------------------------------


def raw_string(fields: tuple[str, ...], values: dict[str, Any]) -> str:
    """``key=value&…`` in the documented (alphabetical) order, values as sent, not encoded."""
    return "&".join(f"{name}={_text(values.get(name, ''))}" for name in fields)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        raise MomoPayloadError("a boolean is not a MoMo field value")
    return "" if value is None else str(value)


def sign(fields: tuple[str, ...], values: dict[str, Any], secret_key: str) -> str:
    raw = raw_string(fields, values)
    return hmac.new(secret_key.encode(), raw.encode(), hashlib.sha256).hexdigest()


def verify(fields: tuple[str, ...], values: dict[str, Any], secret_key: str) -> None:
    """Raise MomoSignatureError unless ``values["signature"]`` signs ``fields`` (constant time)."""
    if not secret_key or not secret_key.strip():
        raise MomoSignatureError("no MoMo secret key is configured")
    given = values.get("signature")
    if not isinstance(given, str) or not given:
        raise MomoSignatureError("no signature")
    expected = sign(fields, values, secret_key)
    if not hmac.compare_digest(expected.encode(), given.lower().encode()):
        raise MomoSignatureError("signature does not match")


# --- requests ---------------------------------------------------------------------------------


def order_id_for(*, intent_id: int, reference_code: str) -> str:
    return f"{ORDER_PREFIX}{intent_id}-{reference_code}"


def is_momo_order(provider_payment_id: str | None) -> bool:
    return bool(provider_payment_id) and str(provider_payment_id).startswith(ORDER_PREFIX)


def check_amount(amount: int) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise MomoRejected("amount is not whole đồng", "invalid_amount", 21)
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        raise MomoRejected("amount out of MoMo's range", "amount_out_of_range", 22)


def create_body(
    *,
    order_id: str,
    amount: int,
    order_info: str,
    ipn_url: str,
    redirect_url: str,
    partner_code: str,
    access_key: str,
    secret_key: str,
    request_id: str,
    extra_data: str = "",
    lang: str = "vi",
) -> dict[str, Any]:
    check_amount(amount)
    values: dict[str, Any] = {
        "accessKey": access_key,
        "amount": amount,
        "extraData": extra_data,
        "ipnUrl": ipn_url,
        "orderId": order_id,
        "orderInfo": order_info,
        "partnerCode": partner_code,
        "redirectUrl": redirect_url,
        "requestId": request_id,
        "requestType": REQUEST_TYPE,
    }
    body = {k: v for k, v in values.items() if k != "accessKey"}
    body["lang"] = lang
    body["signature"] = sign(CREATE_FIELDS, values, secret_key)
    return body


def query_body(
    *, order_id: str, request_id: str, partner_code: str, access_key: str, secret_key: str
) -> dict[str, Any]:
    values = {
        "accessKey": access_key,
        "orderId": order_id,
        "partnerCode": partner_code,
        "requestId": request_id,
    }
    return {
        "partnerCode": partner_code,
        "requestId": request_id,
        "orderId": order_id,
        "lang": "vi",
        "signature": sign(QUERY_FIELDS, values, secret_key),
    }


def refund_body(
    *,
    order_id: str,
    request_id: str,
    amount: int,
    trans_id: str,
    description: str,
    partner_code: str,
    access_key: str,
    secret_key: str,
) -> dict[str, Any]:
    values = {
        "accessKey": access_key,
        "amount": amount,
        "description": description,
        "orderId": order_id,
        "partnerCode": partner_code,
        "requestId": request_id,
        "transId": trans_id,
    }
    return {
        "partnerCode": partner_code,
        "orderId": order_id,
        "requestId": request_id,
        "amount": amount,
        "transId": int(trans_id) if str(trans_id).isdigit() else trans_id,
        "lang": "vi",
        "description": description,
        "signature": sign(REFUND_FIELDS, values, secret_key),
    }


# --- parsing ----------------------------------------------------------------------------------


def _amount(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MomoPayloadError("amount must be a whole number of đồng")
    return value


def _code(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise MomoPayloadError("resultCode must be a number")
    return value


def parse_ipn(body: bytes) -> dict[str, Any]:
    """The IPN as a dict, signature verified with MOMO_SECRET_KEY (MomoSignatureError if not)."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MomoPayloadError("the IPN is not JSON") from exc
    if not isinstance(data, dict):
        raise MomoPayloadError("the IPN is not a JSON object")
    values = {**data, "accessKey": settings.MOMO_ACCESS_KEY}
    verify(IPN_FIELDS, values, settings.MOMO_SECRET_KEY)
    if data.get("partnerCode") != settings.MOMO_PARTNER_CODE:
        raise MomoSignatureError("the IPN is for another partner")
    _amount(data.get("amount"))
    _code(data.get("resultCode"))
    if not isinstance(data.get("orderId"), str):
        raise MomoPayloadError("orderId is missing")
    return data


def payment_from(data: dict[str, Any], *, pay_url: str = "") -> MomoPayment:
    trans = data.get("transId")
    return MomoPayment(
        order_id=str(data.get("orderId", "")),
        request_id=str(data.get("requestId", "")),
        amount=_amount(data.get("amount")),
        result_code=_code(data.get("resultCode")),
        message=str(data.get("message", ""))[:200],
        trans_id="" if trans in (None, 0, "") else str(trans),
        pay_url=pay_url,
        pay_type=str(data.get("payType", "")),
    )


# --- client -----------------------------------------------------------------------------------


def _credentials() -> dict[str, str]:
    return {
        "partner_code": settings.MOMO_PARTNER_CODE,
        "access_key": settings.MOMO_ACCESS_KEY,
        "secret_key": settings.MOMO_SECRET_KEY,
    }


def _post(path: str, body: dict[str, Any]) -> dict[str, Any]:
    url = settings.MOMO_ENDPOINT.rstrip("/") + path
    try:
        answer = requests.post(url, json=body, timeout=float(settings.MOMO_TIMEOUT_SECONDS))
    except requests.RequestException as exc:
        raise MomoUnavailable(f"MoMo unreachable: {exc}") from exc
    if answer.status_code >= 500:
        raise MomoUnavailable(f"MoMo answered HTTP {answer.status_code}")
    try:
        data = answer.json()
    except ValueError as exc:
        raise MomoUnavailable(f"MoMo answered HTTP {answer.status_code} without JSON") from exc
    if not isinstance(data, dict) or "resultCode" not in data:
        raise MomoUnavailable(f"MoMo answered HTTP {answer.status_code} without a resultCode")
    return data


def _raise_for(data: dict[str, Any], *, accept: frozenset[int]) -> None:
    code = _code(data.get("resultCode"))
    if code in accept:
        return
    message = str(data.get("message") or f"resultCode {code}")
    if code in UNAVAILABLE:
        raise MomoUnavailable(message)
    raise MomoRejected(message, REJECTED.get(code) or FAILED.get(code, f"momo_{code}"), code)


def create_payment(*, intent_id: int, reference_code: str, amount: int, info: str) -> MomoPayment:
    """One MoMo order per intent; the requestId is fixed per intent, so a retry is the same
    request and MoMo (2.1+) answers it as the first time."""
    order_id = order_id_for(intent_id=intent_id, reference_code=reference_code)
    body = create_body(
        order_id=order_id,
        amount=amount,
        order_info=info[:200],
        ipn_url=settings.MOMO_IPN_URL,
        redirect_url=settings.MOMO_REDIRECT_URL,
        request_id=order_id,
        **_credentials(),
    )
    data = _post(CREATE_PATH, body)
    _raise_for(data, accept=frozenset({0}))
    pay_url = str(data.get("payUrl") or "")
    if not pay_url:
        raise MomoUnavailable("MoMo gave no payUrl")
    return MomoPayment(
        order_id=order_id,
        request_id=order_id,
        amount=_amount(data.get("amount", amount)),
        result_code=1000,  # created: waiting for the shopper
        message=str(data.get("message", "")),
        trans_id="",
        pay_url=pay_url,
    )


def query_payment(order_id: str) -> MomoPayment:
    body = query_body(order_id=order_id, request_id=f"q-{uuid.uuid4().hex}", **_credentials())
    data = _post(QUERY_PATH, body)
    code = _code(data.get("resultCode"))
    if code in REJECTED or code in (10, 99):
        _raise_for(data, accept=frozenset())
    return payment_from(data)


def refund(*, refund_id: int, trans_id: str, amount: int, reason: str) -> MomoRefund:
    # MoMo's refund has an orderId of its own (ours, new per refund) and the payment's transId;
    # both ids are fixed per refund, so a retry is the same request.
    request_id = f"CSREFUND-{refund_id}"
    body = refund_body(
        order_id=request_id,
        request_id=request_id,
        amount=amount,
        trans_id=trans_id,
        description=reason[:200],
        **_credentials(),
    )
    data = _post(REFUND_PATH, body)
    _raise_for(data, accept=frozenset({0}))
    return MomoRefund(
        order_id=str(data.get("orderId", "")),
        request_id=request_id,
        amount=_amount(data.get("amount", amount)),
        trans_id=str(data.get("transId", "")),
        result_code=0,
    )
