"""What the sandbox bank knows: transfers, their validation, and the fault knobs.

Nothing here does I/O; :mod:`sandboxes.banknotify.server` holds the state under a lock and
:mod:`sandboxes.banknotify.delivery` sends the notifications.

Vocabulary: the *beneficiary* is the merchant whose account receives the money (``bin`` +
``account_number``); the *counter* account is the payer's ("tài khoản đối ứng" on a bank
statement). A transfer's *description* ("nội dung chuyển khoản") is the text as the payer's bank
passed it on, which is where the platform looks for its order reference.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .._common import dumps, format_vnd
from . import napas

# Vietnam has used UTC+7 all year since 1975; the bank reports local time.
VIETNAM_TZ = timezone(timedelta(hours=7))

MAX_DESCRIPTION_LENGTH = 255
MAX_COUNTER_ACCOUNT_LENGTH = 32
MAX_COUNTER_NAME_LENGTH = 120
DEFAULT_REORDER_BATCH = 2
FAIL_MODES = ("request", "response")

_ACCOUNT_RE = re.compile(r"[A-Za-z0-9]{1,19}")
_COUNTER_ACCOUNT_RE = re.compile(r"[A-Za-z0-9]*")
_REFERENCE_ALPHABET = string.ascii_uppercase + string.digits
# Fields that a QR payload decides; a body with a payload must not also give them.
_QR_DECIDED = ("bin", "account_number", "description")


class TransferError(ValueError):
    """A request the bank refuses; answered ``400 {"error": {"code", "message", "fields"}}``.

    Messages are Vietnamese, like the platform's own API errors, so the shopper page can show
    them as they are.
    """

    def __init__(
        self, code: str, message: str, *, field: str | None = None, detail: str = ""
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
        self.detail = detail  # technical, English (e.g. the VietQR decoder's words)

    @property
    def full_message(self) -> str:
        return f"{self.message} ({self.detail})" if self.detail else self.message

    def as_dict(self) -> dict[str, Any]:
        fields = {self.field: [self.full_message]} if self.field else {}
        return {"error": {"code": self.code, "message": self.full_message, "fields": fields}}


@dataclass(frozen=True)
class TransferRequest:
    """A validated incoming transfer, before the bank gives it an id and a date."""

    bin: str
    account_number: str
    amount: int
    description: str
    counter_account: str = ""
    counter_name: str = ""


@dataclass(frozen=True)
class Transaction:
    """One incoming transfer as the provider reports it (the notification object)."""

    id: str
    gateway: str
    bin: str
    account_number: str
    amount: int
    description: str
    reference: str
    booked_at: datetime  # full precision, aware; ``transaction_date`` is it to the second
    counter_account: str = ""
    counter_name: str = ""
    transfer_type: str = "in"

    @property
    def transaction_date(self) -> str:
        return self.booked_at.astimezone(VIETNAM_TZ).replace(microsecond=0).isoformat()

    def as_dict(self) -> dict[str, Any]:
        """The wire object, keys in the documented order."""
        return {
            "id": self.id,
            "gateway": self.gateway,
            "bin": self.bin,
            "account_number": self.account_number,
            "transfer_type": self.transfer_type,
            "amount": self.amount,
            "description": self.description,
            "reference": self.reference,
            "transaction_date": self.transaction_date,
            "counter_account": self.counter_account,
            "counter_name": self.counter_name,
        }

    def body(self) -> bytes:
        """The notification body: compact UTF-8 JSON."""
        return dumps(self.as_dict())


def new_transaction_id() -> str:
    return "bn_" + secrets.token_hex(12)


def new_reference(when: datetime) -> str:
    """A bank reference like Vietcombank's ``FT26327K3X9QZ2``: FT, yy, day of year, 7 chars."""
    local = when.astimezone(VIETNAM_TZ)
    tail = "".join(secrets.choice(_REFERENCE_ALPHABET) for _ in range(7))
    return f"FT{local:%y}{local.timetuple().tm_yday:03d}{tail}"


# --------------------------------------------------------------------------- #
# Validation
# --------------------------------------------------------------------------- #


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_amount(value: object, *, field: str = "amount") -> int:
    if value is None:
        raise TransferError("missing_amount", "Thiếu số tiền chuyển.", field=field)
    if not _is_int(value):
        raise TransferError(
            "invalid_amount", "Số tiền phải là số nguyên đồng (VND), ví dụ 150000.", field=field
        )
    assert isinstance(value, int)
    if value <= 0:
        raise TransferError("invalid_amount", "Số tiền phải lớn hơn 0.", field=field)
    if value > napas.MAX_AMOUNT:
        raise TransferError(
            "invalid_amount",
            f"Số tiền vượt quá mức tối đa {format_vnd(napas.MAX_AMOUNT)}.",
            field=field,
        )
    return value


def check_bin(value: object) -> str:
    if value is None or value == "":
        raise TransferError("missing_bin", "Thiếu mã ngân hàng nhận (BIN).", field="bin")
    if not isinstance(value, str) or napas.bank_by_bin(value) is None:
        raise TransferError(
            "unknown_bin",
            f"Ngân hàng nhận có mã BIN {value!s} không thuộc mạng NAPAS 247.",
            field="bin",
        )
    return value


def check_account(value: object) -> str:
    if value is None or value == "":
        raise TransferError("missing_account", "Thiếu số tài khoản nhận.", field="account_number")
    if not isinstance(value, str) or not _ACCOUNT_RE.fullmatch(value):
        raise TransferError(
            "invalid_account",
            "Số tài khoản nhận chỉ gồm chữ và số, tối đa 19 ký tự.",
            field="account_number",
        )
    return value


def _check_text(value: object, *, name: str, limit: int, code: str, label: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TransferError(code, f"{label} phải là chuỗi ký tự.", field=name)
    if len(value) > limit:
        raise TransferError(code, f"{label} dài quá {limit} ký tự.", field=name)
    return value


def check_counter(account: object, name: object) -> tuple[str, str]:
    counter_account = _check_text(
        account,
        name="counter_account",
        limit=MAX_COUNTER_ACCOUNT_LENGTH,
        code="invalid_counter_account",
        label="Tài khoản người chuyển",
    )
    if not _COUNTER_ACCOUNT_RE.fullmatch(counter_account):
        raise TransferError(
            "invalid_counter_account",
            "Tài khoản người chuyển chỉ gồm chữ và số.",
            field="counter_account",
        )
    counter_name = _check_text(
        name,
        name="counter_name",
        limit=MAX_COUNTER_NAME_LENGTH,
        code="invalid_counter_name",
        label="Tên người chuyển",
    )
    return counter_account, counter_name


def check_description(value: object) -> str:
    return _check_text(
        value,
        name="description",
        limit=MAX_DESCRIPTION_LENGTH,
        code="invalid_description",
        label="Nội dung chuyển khoản",
    )


def transfer_request(data: object) -> TransferRequest:
    """Validate a ``POST /api/transfers`` body (plain fields or a VietQR ``payload``)."""
    if not isinstance(data, Mapping):
        raise TransferError("invalid_json", "Nội dung yêu cầu phải là một đối tượng JSON.")
    counter_account, counter_name = check_counter(
        data.get("counter_account"), data.get("counter_name")
    )
    if "payload" in data:
        given = [name for name in _QR_DECIDED if name in data]
        if given:
            raise TransferError(
                "conflicting_fields",
                "Khi gửi mã VietQR (payload), không gửi kèm " + ", ".join(given) + ".",
                field=given[0],
            )
        return qr_transfer_request(
            data["payload"],
            amount=data.get("amount"),
            counter_account=counter_account,
            counter_name=counter_name,
        )
    return TransferRequest(
        bin=check_bin(data.get("bin")),
        account_number=check_account(data.get("account_number")),
        amount=check_amount(data.get("amount")),
        description=check_description(data.get("description")),
        counter_account=counter_account,
        counter_name=counter_name,
    )


def decode_qr(payload: object) -> napas.ReadQR:
    """Parse a VietQR payload, turning every failure into a :class:`TransferError`."""
    if not isinstance(payload, str) or not payload.strip():
        raise TransferError("invalid_qr", "Thiếu nội dung mã VietQR.", field="payload")
    try:
        qr = napas.read_vietqr(payload.strip())
    except napas.QRBadChecksum:
        raise TransferError(
            "invalid_qr",
            "Mã VietQR bị sai hoặc thiếu ký tự (mã kiểm tra CRC không khớp).",
            field="payload",
        ) from None
    except napas.QRUnreadable as error:
        raise TransferError(
            "invalid_qr", "Mã VietQR không hợp lệ.", field="payload", detail=str(error)
        ) from None
    check_bin(qr.bin)
    return qr


def qr_transfer_request(
    payload: object,
    *,
    amount: object = None,
    counter_account: str = "",
    counter_name: str = "",
    message: str = "",
) -> TransferRequest:
    """A transfer to the account in a VietQR payload.

    The QR's amount wins; a static QR (no amount) needs ``amount``. ``message`` is what the
    payer typed when the QR carries no purpose. The description is built the way a payer's bank
    passes it on (see :func:`bank_description`).
    """
    qr = decode_qr(payload)
    if qr.amount is None:
        value = check_amount(amount)
    else:
        if amount is not None and amount != qr.amount:
            raise TransferError(
                "amount_mismatch",
                f"Mã VietQR đã có số tiền {format_vnd(qr.amount)}; không thể chuyển số khác.",
                field="amount",
            )
        value = qr.amount
    purpose = qr.purpose or napas.plain_message(message)
    return TransferRequest(
        bin=qr.bin,
        account_number=qr.account,
        amount=value,
        description=bank_description(purpose, counter_account, counter_name),
        counter_account=counter_account,
        counter_name=counter_name,
    )


def bank_description(purpose: str, counter_account: str = "", counter_name: str = "") -> str:
    """The description as a payer's bank (here Vietcombank's app) passes it on.

    ``MBVCB.<7 digits>.<purpose>.CT tu <counter account>``, or ``....<purpose>.chuyen tien``
    without a counter account; an empty purpose becomes ``<NAME> chuyen tien``.
    """
    name = napas.plain_message(counter_name).upper()
    text = purpose or (f"{name} chuyen tien" if name else "chuyen tien")
    tail = f"CT tu {counter_account}" if counter_account else "chuyen tien"
    return f"MBVCB.{secrets.randbelow(10_000_000):07d}.{text}.{tail}"


# --------------------------------------------------------------------------- #
# Knobs
# --------------------------------------------------------------------------- #


@dataclass
class Knobs:
    """Fault injection for tests and demos (``POST /api/_knobs``)."""

    delay_ms: int = 0
    duplicate: bool = False
    reorder: bool = False
    reorder_batch: int = DEFAULT_REORDER_BATCH
    drop: bool = False
    fail_first: int = 0
    fail_mode: str = "request"
    # Deliveries still to lose out of ``fail_first``; reset whenever ``fail_first`` is set.
    fail_remaining: int = field(default=0, repr=False)

    def update(self, changes: object) -> None:
        """Apply a partial update, all or nothing."""
        if not isinstance(changes, Mapping):
            raise TransferError("invalid_json", "Nội dung yêu cầu phải là một đối tượng JSON.")
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            checked[str(name)] = _check_knob(str(name), value)
        for name, value in checked.items():
            setattr(self, name, value)
        if "fail_first" in checked:
            self.fail_remaining = checked["fail_first"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "delay_ms": self.delay_ms,
            "duplicate": self.duplicate,
            "reorder": self.reorder,
            "reorder_batch": self.reorder_batch,
            "drop": self.drop,
            "fail_first": self.fail_first,
            "fail_mode": self.fail_mode,
            "fail_remaining": self.fail_remaining,
        }


_BOOL_KNOBS = ("duplicate", "reorder", "drop")
_INT_KNOBS = {"delay_ms": 0, "reorder_batch": 1, "fail_first": 0}  # name -> minimum


def _check_knob(name: str, value: object) -> Any:
    if name in _BOOL_KNOBS:
        if not isinstance(value, bool):
            raise TransferError("invalid_knob", f"{name} phải là true hoặc false.", field=name)
        return value
    if name in _INT_KNOBS:
        minimum = _INT_KNOBS[name]
        if not _is_int(value) or value < minimum:  # type: ignore[operator]
            raise TransferError(
                "invalid_knob", f"{name} phải là số nguyên ≥ {minimum}.", field=name
            )
        return value
    if name == "fail_mode":
        if value not in FAIL_MODES:
            raise TransferError(
                "invalid_knob", "fail_mode phải là 'request' hoặc 'response'.", field=name
            )
        return value
    raise TransferError("unknown_knob", f"Không có tuỳ chọn {name}.", field=name)
