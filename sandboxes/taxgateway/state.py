"""State of the sandbox tax gateway: errors, records, counters, fault knobs, parameter checks."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .validation import Facts, Reason

MAX_XML_CHARS = 512 * 1024


class GatewayError(Exception):
    """A refusal, answered ``{"error": {"type", "code", "message", "param"}}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        param: str | None = None,
        *,
        type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.type = type or (
            "api_error"
            if status >= 500
            else "authentication_error"
            if status == 401
            else "invalid_request_error"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "type": self.type,
                "code": self.code,
                "message": self.message,
                "param": self.param,
            }
        }


def invalid(code: str, message: str, param: str | None = None, status: int = 400) -> GatewayError:
    return GatewayError(status, code, message, param)


# --------------------------------------------------------------------------- #
# State
# --------------------------------------------------------------------------- #


@dataclass
class Registration:
    id: str
    tax_code: str
    form: str
    series: str
    register_prefix: str
    created: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "object": "registration",
            "id": self.id,
            "tax_code": self.tax_code,
            "form": self.form,
            "series": self.series,
            "register_prefix": self.register_prefix,
            "status": "accepted",
            "created": round(self.created, 3),
        }


@dataclass
class Record:
    """One invoice as the gateway knows it: made once per UUID, never replaced."""

    uuid: str
    owner: str
    sha256: str
    facts: Facts
    received_at: float
    ready_at: float  # the answer is decided no earlier than this
    gap_deadline: float  # waiting for the previous number ends here (number_gap)
    batch: str | None = None
    holds_number: bool = False
    status: str = "processing"  # processing | accepted | rejected
    reasons: list[Reason] = field(default_factory=list)
    authority_code: str | None = None
    answered_at: float | None = None
    canceled_at: float | None = None
    cancel_reason: str | None = None
    xml: str = ""  # as received
    document: str | None = None  # a coded invoice once accepted: with MCCQT and DSCKS/CQT

    @property
    def series_key(self) -> tuple[str, str, str, int] | None:
        f = self.facts
        if f.tax_code and f.form and f.series and f.year is not None:
            return (f.tax_code, f.form, f.series, f.year)
        return None

    def as_dict(self) -> dict[str, Any]:
        f = self.facts
        return {
            "object": "invoice",
            "uuid": self.uuid,
            "status": self.status,
            "kind": f.kind,
            "tax_code": f.tax_code,
            "form": f.form,
            "series": f.series,
            "number": f.number,
            "issued_on": f.issued_on.isoformat() if f.issued_on else None,
            "authority_code": self.authority_code,
            "xml": self.document,
            "reasons": list(self.reasons) if self.status == "rejected" else [],
            "batch": self.batch,
            "sha256": self.sha256,
            "received_at": round(self.received_at, 3),
            "answered_at": None if self.answered_at is None else round(self.answered_at, 3),
            "canceled_at": None if self.canceled_at is None else round(self.canceled_at, 3),
            "cancel_reason": self.cancel_reason,
        }


@dataclass
class Counter:
    """Per-UUID counters for tests: how often it came, and how often it was decided."""

    submissions: int = 0
    duplicates: int = 0
    conflicts: int = 0
    records: int = 0
    accepted: int = 0
    rejected: int = 0
    cancellations: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


FAULT_MODES = ("error", "error_after", "timeout")


@dataclass
class Faults:
    """Fault injection (``POST /v1/_sandbox/faults``); see PROTOCOL.md §Faults."""

    error_rate: float = 0.0  # 503 before doing anything
    error_after_rate: float = 0.0  # do the work, then answer 500 anyway
    timeout_rate: float = 0.0  # do the work, then hang for hang_seconds before answering
    hang_seconds: float = 15.0
    latency_ms: int = 0  # every API answer is this much slower
    fail_next: int = 0  # the next n API requests fail as fail_next_mode
    fail_next_mode: str = "error"
    answer_delay: float = 1.0  # seconds between receipt and the answer (async validation)
    gap_timeout: float = 86_400.0  # seconds an invoice waits for its predecessor number
    seed: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def update(self, changes: object) -> bool:
        """Apply a partial update, all or nothing; true when ``seed`` was given."""
        if not isinstance(changes, Mapping):
            raise invalid("invalid_json", "Nội dung phải là một đối tượng JSON.")
        checked = {str(k): _check_fault(str(k), v) for k, v in changes.items()}
        for name, value in checked.items():
            setattr(self, name, value)
        return "seed" in checked


def _check_fault(name: str, value: object) -> Any:
    def number(low: float, high: float) -> float:
        bad_type = isinstance(value, bool) or not isinstance(value, int | float)
        if bad_type or not low <= value <= high:  # type: ignore[operator]
            raise invalid("parameter_invalid", f"{name} phải là số từ {low:g} đến {high:g}.", name)
        return float(value)  # type: ignore[arg-type]

    if name in ("error_rate", "error_after_rate", "timeout_rate"):
        return number(0, 1)
    if name in ("hang_seconds", "answer_delay"):
        return number(0, 600)
    if name == "gap_timeout":
        return number(0, 86_400)
    if name in ("latency_ms", "fail_next"):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 600_000:
            raise invalid("parameter_invalid", f"{name} phải là số nguyên từ 0 đến 600000.", name)
        return value
    if name == "fail_next_mode":
        if value not in FAULT_MODES:
            raise invalid("parameter_invalid", f"{name}: một trong {', '.join(FAULT_MODES)}.", name)
        return value
    if name == "seed":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise invalid("parameter_invalid", "seed phải là số nguyên hoặc null.", name)
        return value
    raise invalid("parameter_unknown", f"Không có tuỳ chọn {name}.", name)


@dataclass(frozen=True)
class Fault:
    """The knobs' verdict for one request."""

    mode: str | None  # None | "error" | "error_after" | "timeout"
    latency: float
    hang: float


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuidlib.uuid4().hex[:24]}"


def canonical_uuid(value: object) -> str:
    if not isinstance(value, str):
        raise invalid("parameter_missing", "Thiếu uuid của hoá đơn.", "uuid")
    try:
        return str(uuidlib.UUID(value.strip()))
    except ValueError:
        raise invalid("parameter_invalid", f"uuid không hợp lệ: {value!r}.", "uuid") from None


def xml_param(value: object, param: str = "xml") -> str:
    if not isinstance(value, str) or not value.strip():
        raise invalid("parameter_missing", "Thiếu nội dung XML của hoá đơn.", param)
    if len(value) > MAX_XML_CHARS:
        raise invalid("xml_too_large", "XML hoá đơn quá lớn.", param, status=413)
    return value


def only_params(data: object, allowed: Iterable[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise invalid("invalid_json", "Nội dung yêu cầu phải là một đối tượng JSON.")
    for key in data:
        if key not in allowed:
            raise invalid("parameter_unknown", f"Không có tham số {key}.", str(key))
    return data
