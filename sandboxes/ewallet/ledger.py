"""What the sandbox wallet knows: payments, refunds, events, their validation, and the knobs.

Nothing here does I/O; :mod:`sandboxes.ewallet.server` holds the state under a lock, the
handler speaks HTTP and :mod:`sandboxes._common` delivers the webhooks. The wire shapes are
those of PROTOCOL.md beside this file (keys in the documented order).

Error messages are Vietnamese, like the platform's own API errors, so they can be shown as they
are; ``code`` and ``param`` are for programs.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._common import dumps, format_vnd

PAYMENT_STATUSES = ("pending", "succeeded", "failed", "canceled", "partially_refunded", "refunded")
REFUNDABLE = ("succeeded", "partially_refunded")
MIN_AMOUNT = 1_000
MAX_AMOUNT = 50_000_000
MIN_EXPIRES_IN = 60
MAX_EXPIRES_IN = 86_400
DEFAULT_EXPIRES_IN = 900
MAX_MERCHANT_NAME = 80
MAX_TEXT = 140  # description, reason
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY = 40
MAX_METADATA_VALUE = 500
MAX_IDEMPOTENCY_KEY = 255
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
DEFAULT_ACCOUNT_NAME = "Cửa hàng thử nghiệm"

OPENING_BALANCE = 5_000_000
DEMO_WALLETS = tuple(f"+8490900000{n}" for n in range(1, 10))  # 0909 000 001 … 009

_REFERENCE_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_PHONE_RE = re.compile(r"0[35789]\d{8}")
_ID_RE = {prefix: re.compile(rf"{prefix}_[0-9a-f]{{24}}") for prefix in ("pay", "re", "evt")}


def new_id(prefix: str) -> str:
    """``pay_`` / ``re_`` / ``evt_`` / ``req_`` + 24 hex digits."""
    return f"{prefix}_{secrets.token_hex(12)}"


def looks_like(prefix: str, value: str) -> bool:
    return bool(_ID_RE[prefix].fullmatch(value))


class EWalletError(Exception):
    """A refusal, answered ``{"error": {"type", "code", "message", "param"}}`` (PROTOCOL.md).

    ``should_retry`` becomes the ``Should-Retry`` header (``None``: no header).
    """

    def __init__(
        self,
        status: int,
        type: str,
        code: str,
        message: str,
        param: str | None = None,
        *,
        should_retry: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.code = code
        self.message = message
        self.param = param
        if should_retry is None and 400 <= status < 500 and status not in (409, 429):
            should_retry = False
        self.should_retry = should_retry

    def as_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "type": self.type,
                "code": self.code,
                "message": self.message,
                "param": self.param,
            }
        }


def invalid(code: str, message: str, param: str | None = None, status: int = 400) -> EWalletError:
    return EWalletError(status, "invalid_request_error", code, message, param)


def missing(what: str, param: str = "id") -> EWalletError:
    return invalid("resource_missing", f"Không tìm thấy {what}.", param, status=404)


def forbidden(what: str) -> EWalletError:
    return EWalletError(
        403,
        "permission_error",
        "permission_denied",
        f"API key này không được thao tác trên {what} của API key khác.",
    )


# --------------------------------------------------------------------------- #
# Objects
# --------------------------------------------------------------------------- #


@dataclass
class Payment:
    id: str
    owner: str  # the API key that created it (not on the wire)
    amount: int
    merchant_reference: str
    merchant_name: str
    description: str
    metadata: dict[str, str]
    pay_url: str
    created: int
    expires_at: int
    currency: str = "vnd"
    status: str = "pending"
    amount_refunded: int = 0
    failure_reason: str | None = None
    wallet_phone: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "payment",
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status,
            "amount_refunded": self.amount_refunded,
            "merchant_reference": self.merchant_reference,
            "merchant_name": self.merchant_name,
            "description": self.description,
            "pay_url": self.pay_url,
            "qr_payload": self.pay_url,
            "failure_reason": self.failure_reason,
            "wallet_phone": self.wallet_phone,
            "created": self.created,
            "expires_at": self.expires_at,
            "metadata": dict(self.metadata),
        }


@dataclass(frozen=True)
class Refund:
    id: str
    owner: str
    payment: str
    amount: int
    reason: str
    created: int
    status: str = "succeeded"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "refund",
            "payment": self.payment,
            "amount": self.amount,
            "status": self.status,
            "reason": self.reason,
            "created": self.created,
        }


@dataclass(frozen=True)
class Event:
    id: str
    type: str
    created: int
    object: dict[str, Any]  # a snapshot of the payment or refund when it happened

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "event",
            "type": self.type,
            "created": self.created,
            "data": {"object": self.object},
        }

    def body(self) -> bytes:
        """The webhook body: compact UTF-8 JSON, the same bytes for every attempt and copy."""
        return dumps(self.as_dict())


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _object(data: object) -> Mapping[str, Any]:
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise invalid("invalid_json", "Nội dung yêu cầu phải là một đối tượng JSON.")
    return data


def _known(data: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for name in data:
        if name not in allowed:
            raise invalid("parameter_unknown", f"Tham số không được hỗ trợ: {name}.", name)


def _int_in(data: Mapping[str, Any], name: str, low: int, high: int) -> int:
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise invalid(
            "parameter_invalid",
            f"{name} phải là số nguyên từ {low:,} đến {high:,}.".replace(",", "."),
            name,
        )
    return value


def _text(data: Mapping[str, Any], name: str, limit: int, default: str = "") -> str:
    value = data.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str) or len(value) > limit:
        raise invalid("parameter_invalid", f"{name} phải là chuỗi tối đa {limit} ký tự.", name)
    return value


def _require(data: Mapping[str, Any], name: str) -> None:
    if data.get(name) is None:
        raise invalid("parameter_missing", f"Thiếu tham số {name}.", name)


def _metadata(value: object) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise invalid("parameter_invalid", "metadata phải là một đối tượng JSON.", "metadata")
    if len(value) > MAX_METADATA_KEYS:
        raise invalid(
            "parameter_invalid", f"metadata có tối đa {MAX_METADATA_KEYS} khoá.", "metadata"
        )
    result: dict[str, str] = {}
    for key, item in value.items():
        param = f"metadata[{key}]"
        if not 1 <= len(key) <= MAX_METADATA_KEY:
            raise invalid(
                "parameter_invalid", f"Khoá metadata dài 1–{MAX_METADATA_KEY} ký tự.", param
            )
        if not isinstance(item, str) or len(item) > MAX_METADATA_VALUE:
            raise invalid(
                "parameter_invalid",
                f"Giá trị metadata phải là chuỗi tối đa {MAX_METADATA_VALUE} ký tự.",
                param,
            )
        result[key] = item
    return result


_CREATE_FIELDS = (
    "amount",
    "currency",
    "merchant_reference",
    "merchant_name",
    "description",
    "expires_in",
    "metadata",
)


def payment_params(data: object, *, default_merchant_name: str) -> dict[str, Any]:
    """Validate a ``POST /v1/payments`` body; the first bad parameter is reported."""
    body = _object(data)
    _known(body, _CREATE_FIELDS)
    _require(body, "amount")
    amount = _int_in(body, "amount", MIN_AMOUNT, MAX_AMOUNT)
    currency = body.get("currency", "vnd")
    if not isinstance(currency, str) or currency.lower() != "vnd":
        raise invalid("parameter_invalid", 'currency chỉ nhận "vnd".', "currency")
    _require(body, "merchant_reference")
    reference = body["merchant_reference"]
    if not isinstance(reference, str) or not _REFERENCE_RE.fullmatch(reference):
        raise invalid(
            "parameter_invalid",
            "merchant_reference gồm 1–64 ký tự chữ, số, '_', '.', '-'.",
            "merchant_reference",
        )
    name = _text(body, "merchant_name", MAX_MERCHANT_NAME).strip() or default_merchant_name
    expires_in = DEFAULT_EXPIRES_IN
    if body.get("expires_in") is not None:
        expires_in = _int_in(body, "expires_in", MIN_EXPIRES_IN, MAX_EXPIRES_IN)
    return {
        "amount": amount,
        "merchant_reference": reference,
        "merchant_name": name,
        "description": _text(body, "description", MAX_TEXT),
        "expires_in": expires_in,
        "metadata": _metadata(body.get("metadata")),
    }


def refund_params(data: object) -> tuple[str, int | None, str]:
    """Validate a ``POST /v1/refunds`` body: (payment id, amount or ``None`` = the rest, reason).

    The amount's upper bound depends on the payment and is checked by the caller."""
    body = _object(data)
    _known(body, ("payment", "amount", "reason"))
    _require(body, "payment")
    payment = body["payment"]
    if not isinstance(payment, str):
        raise invalid("parameter_invalid", "payment phải là mã thanh toán pay_….", "payment")
    amount = body.get("amount")
    if amount is not None and (not _is_int(amount) or amount <= 0):
        raise invalid("parameter_invalid", "amount phải là số nguyên lớn hơn 0.", "amount")
    return payment, amount, _text(body, "reason", MAX_TEXT)


def cancel_params(data: object) -> None:
    _known(_object(data), ())


def list_params(query: Mapping[str, list[str]]) -> tuple[str | None, str | None, int, str | None]:
    """``GET /v1/payments`` query: (status, merchant_reference, limit, starting_after)."""
    _known(query, ("status", "merchant_reference", "limit", "starting_after"))

    def one(name: str) -> str | None:
        values = query.get(name)
        return values[0] if values else None

    status = one("status")
    if status is not None and status not in PAYMENT_STATUSES:
        raise invalid(
            "parameter_invalid",
            "status phải là một trong: " + ", ".join(PAYMENT_STATUSES),
            "status",
        )
    limit_text = one("limit")
    limit = DEFAULT_LIMIT
    if limit_text is not None:
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
            raise invalid(
                "parameter_invalid", f"limit phải là số nguyên từ 1 đến {MAX_LIMIT}.", "limit"
            )
        limit = int(limit_text)
    return status, one("merchant_reference"), limit, one("starting_after") or None


def check_refund_amount(payment: Payment, amount: int | None) -> int:
    """The refund's amount (``None`` = all that is left), refused above what is left."""
    left = payment.amount - payment.amount_refunded
    if amount is None:
        return left
    if amount > left:
        raise invalid(
            "amount_too_large",
            f"Số tiền hoàn {format_vnd(amount)} vượt quá số còn có thể hoàn {format_vnd(left)}.",
            "amount",
        )
    return amount


# --------------------------------------------------------------------------- #
# Wallet phones
# --------------------------------------------------------------------------- #


def normalize_phone(text: str) -> str | None:
    """A Vietnamese mobile number in any usual spelling → E.164 (``+84909000001``), or ``None``.

    Accepts ``0909 000 001``, ``0909.000.001``, ``+84 909 000 001``, ``84909000001``.
    """
    digits = re.sub(r"[\s.\-()]", "", text or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if not _PHONE_RE.fullmatch(digits):
        return None
    return "+84" + digits[1:]


def display_phone(e164: str) -> str:
    """``+84909000001`` → ``0909 000 001``."""
    local = "0" + e164.removeprefix("+84")
    return f"{local[:4]} {local[4:7]} {local[7:]}"


# --------------------------------------------------------------------------- #
# Knobs
# --------------------------------------------------------------------------- #

FAIL_STATUSES = (429, 500, 502, 503)


def injected_failure(status: int) -> EWalletError:
    """What ``fail_next`` answers: ``status`` with ``Should-Retry: true``."""
    if status == 429:
        return EWalletError(
            429,
            "rate_limit_error",
            "rate_limited",
            "Quá nhiều yêu cầu (giả lập). Vui lòng thử lại sau.",
            should_retry=True,
        )
    return EWalletError(
        status,
        "api_error",
        "service_unavailable",
        "Ví tạm thời không phục vụ được (giả lập). Vui lòng thử lại.",
        should_retry=True,
    )


def random_failure() -> EWalletError:
    """What ``error_rate`` answers: 500, no ``Should-Retry`` (the client's own rule applies)."""
    return EWalletError(500, "api_error", "internal_error", "Lỗi hệ thống của ví (giả lập).")


@dataclass
class Knobs:
    """Fault injection for tests and demos (``POST /v1/_knobs``)."""

    latency_ms: int = 0
    error_rate: float = 0.0
    fail_next: int = 0  # counts down as requests fail
    fail_next_status: int = 503
    drop_webhooks: bool = False
    duplicate_webhooks: bool = False

    def update(self, changes: object) -> None:
        """Apply a partial update, all or nothing."""
        if not isinstance(changes, Mapping):
            raise invalid("invalid_json", "Nội dung yêu cầu phải là một đối tượng JSON.")
        checked = {str(name): _check_knob(str(name), value) for name, value in changes.items()}
        for name, value in checked.items():
            setattr(self, name, value)

    def as_dict(self) -> dict[str, Any]:
        return {
            "latency_ms": self.latency_ms,
            "error_rate": self.error_rate,
            "fail_next": self.fail_next,
            "fail_next_status": self.fail_next_status,
            "drop_webhooks": self.drop_webhooks,
            "duplicate_webhooks": self.duplicate_webhooks,
        }


def _check_knob(name: str, value: object) -> Any:
    if name in ("drop_webhooks", "duplicate_webhooks"):
        if not isinstance(value, bool):
            raise invalid("parameter_invalid", f"{name} phải là true hoặc false.", name)
        return value
    if name in ("latency_ms", "fail_next"):
        if not _is_int(value) or not 0 <= value <= 60_000:  # type: ignore[operator]
            raise invalid("parameter_invalid", f"{name} phải là số nguyên từ 0 đến 60000.", name)
        return value
    if name == "error_rate":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise invalid("parameter_invalid", "error_rate phải là số từ 0.0 đến 1.0.", name)
        return float(value)
    if name == "fail_next_status":
        if value not in FAIL_STATUSES or isinstance(value, bool):
            raise invalid(
                "parameter_invalid",
                "fail_next_status phải là một trong: " + ", ".join(map(str, FAIL_STATUSES)),
                name,
            )
        return value
    raise invalid("parameter_unknown", f"Không có tuỳ chọn {name}.", name)
