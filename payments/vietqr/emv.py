"""EMVCo merchant-presented QR building blocks of :mod:`payments.vietqr`.

Pure string work, no Django: the error types, the CRC, reading and writing TLV
fields, and the rules of the EMVCo additional data field template (tag 62).

A payload is a flat string of TLV fields: a 2-digit tag id, a 2-digit length
(in characters) and the value; template values are TLV strings themselves.

The additional data template (tag 62) holds these sub-fields (EMVCo MPM
v1.1 §4.8); we name 01 to 09 and keep every other one as it came:

====  ============================  =====================================
01    bill number                   ans, at most 25
02    mobile number                 ans, at most 25
03    store label                   ans, at most 25
04    loyalty number                ans, at most 25
05    reference label               ans, at most 25
06    customer label                ans, at most 25
07    terminal label                ans, at most 25
08    purpose of transaction        ans, at most 25 (VietQR: the transfer
                                    message, "nội dung chuyển khoản")
09    additional consumer data      ans, at most 3: any of ``A`` (address),
      request                       ``M`` (mobile), ``E`` (email), once each
10-   RFU for EMVCo (10-49) and     ans, any length the template allows
99    payment system templates
====  ============================  =====================================

The whole template value is at most 99 characters (a 2-digit length). A
value of ``***`` in 01-07 asks the payer's app to prompt for it (EMVCo), so
it is a valid value like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "ADDITIONAL_DATA_NAMES",
    "MAX_FIELD_LENGTH",
    "MAX_LABEL_LENGTH",
    "CRCMismatchError",
    "Field",
    "VietQRError",
    "check_additional_field",
    "check_ans",
    "check_tag",
    "crc16_ccitt_false",
    "split",
    "split_payload",
    "tlv",
]

MAX_FIELD_LENGTH = 99  # a 2-digit length
MAX_LABEL_LENGTH = 25  # EMVCo's limit for tag 62 sub-fields 01 to 08
MAX_CONSUMER_DATA_REQUEST_LENGTH = 3

# Tag 62 sub-fields with a name, as the JSON keys and keyword arguments call them.
ADDITIONAL_DATA_NAMES: dict[str, str] = {
    "01": "bill_number",
    "02": "mobile_number",
    "03": "store_label",
    "04": "loyalty_number",
    "05": "reference_label",
    "06": "customer_label",
    "07": "terminal_label",
    "08": "purpose",
    "09": "consumer_data_request",
}
_LABEL_TAGS = frozenset(("01", "02", "03", "04", "05", "06", "07", "08"))
_CONSUMER_DATA_REQUEST = "09"

_TAG_RE = re.compile(r"[0-9]{2}")
_DIGITS_RE = re.compile(r"[0-9]+")


class VietQRError(ValueError):
    """A VietQR payload or one of its fields is invalid."""


class CRCMismatchError(VietQRError):
    """The payload is well formed but its CRC (tag 63) does not match its content."""

    def __init__(self, declared: str, computed: str) -> None:
        self.declared = declared
        self.computed = computed
        super().__init__(f"CRC mismatch: payload says {declared}, computed {computed}")


# --------------------------------------------------------------------------- #
# Values
# --------------------------------------------------------------------------- #


def require_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise VietQRError(f"{what} must be a string, got {type(value).__name__} {value!r}")
    return value


def check_ans(value: object, what: str, *, max_length: int = MAX_FIELD_LENGTH) -> str:
    """An EMVCo "ans" value: 1 to ``max_length`` printable ASCII characters."""
    text = require_str(value, what)
    if not text:
        raise VietQRError(f"{what} must not be empty")
    for index, char in enumerate(text):
        if not " " <= char <= "~":
            raise VietQRError(
                f"{what} must be printable ASCII, got {char!r} at index {index} in {text!r}"
            )
    if len(text) > max_length:
        raise VietQRError(
            f"{what} must be at most {max_length} characters, got {len(text)} ({text!r})"
        )
    return text


def check_tag(value: object, what: str) -> str:
    text = require_str(value, what)
    if not _TAG_RE.fullmatch(text):
        raise VietQRError(f"{what} must be 2 digits, got {text!r}")
    return text


def additional_field_name(tag: str) -> str:
    """How errors and JSON name a tag 62 sub-field: ``reference_label`` or ``62.10``."""
    return ADDITIONAL_DATA_NAMES.get(tag, f"62.{tag}")


def check_additional_field(tag: str, value: object) -> None:
    """Validate one tag 62 sub-field value against EMVCo's rules for its id."""
    what = f"{additional_field_name(tag)} (tag 62.{tag})"
    if tag in _LABEL_TAGS:
        check_ans(value, what, max_length=MAX_LABEL_LENGTH)
    elif tag == _CONSUMER_DATA_REQUEST:
        text = check_ans(value, what, max_length=MAX_CONSUMER_DATA_REQUEST_LENGTH)
        if set(text) - set("AME") or len(set(text)) != len(text):
            raise VietQRError(
                f"{what} must be made of 'A' (address), 'M' (mobile) and 'E' (email), "
                f"each at most once, got {text!r}"
            )
    else:
        check_ans(value, what)


# --------------------------------------------------------------------------- #
# Writing
# --------------------------------------------------------------------------- #


def crc16_ccitt_false(data: str) -> str:
    """CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final XOR).

    Returns 4 uppercase hex digits. For a VietQR payload, ``data`` is everything
    up to and including the literal ``"6304"``.
    """
    crc = 0xFFFF
    for byte in data.encode("utf-8"):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return f"{crc:04X}"


def tlv(tag: str, value: str) -> str:
    if not 1 <= len(value) <= MAX_FIELD_LENGTH:
        raise VietQRError(
            f"tag {tag} value must be 1 to {MAX_FIELD_LENGTH} characters, got {len(value)}"
        )
    return f"{tag}{len(value):02d}{value}"


# --------------------------------------------------------------------------- #
# Reading
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Field:
    """One TLV field read from a payload."""

    path: str  # "54", or "38.01.00" inside templates
    value: str
    position: int  # absolute, 0-based index of the tag id in the payload

    @property
    def value_position(self) -> int:
        return self.position + 4

    @property
    def end(self) -> int:
        return self.value_position + len(self.value)

    @property
    def tag(self) -> str:
        return self.path.rsplit(".", 1)[-1]


def _remain(count: int) -> str:
    return "1 character remains" if count == 1 else f"{count} characters remain"


def is_digits(text: str) -> bool:
    return _DIGITS_RE.fullmatch(text) is not None


def _read_field(text: str, index: int, offset: int, parent: str) -> Field:
    """Read one TLV field starting at ``text[index]``; ``offset`` maps to payload positions."""
    position = offset + index
    inside = f" inside tag {parent}" if parent else ""
    header = text[index : index + 4]
    if len(header) < 4:
        raise VietQRError(
            f"truncated field at position {position}{inside}: need a 2-digit tag id and "
            f"a 2-digit length, only {_remain(len(header))} ({header!r})"
        )
    tag, length_text = header[:2], header[2:]
    if not is_digits(tag):
        raise VietQRError(f"tag id at position {position}{inside} must be 2 digits, got {tag!r}")
    path = f"{parent}.{tag}" if parent else tag
    if not is_digits(length_text):
        raise VietQRError(
            f"tag {path} at position {position} has a non-digit length {length_text!r}"
        )
    length = int(length_text)
    if length == 0:
        raise VietQRError(
            f"tag {path} at position {position} has length 00; fields must not be empty"
        )
    remaining = len(text) - index - 4
    if length > remaining:
        raise VietQRError(
            f"tag {path} at position {position} declares length {length} "
            f"but only {_remain(remaining)}"
        )
    return Field(path=path, value=text[index + 4 : index + 4 + length], position=position)


def split(text: str, offset: int = 0, parent: str = "") -> list[Field]:
    """Split a TLV string into fields, rejecting repeated tags."""
    fields: list[Field] = []
    index = 0
    while index < len(text):
        field = _read_field(text, index, offset, parent)
        _reject_repeat(fields, field)
        fields.append(field)
        index = field.end - offset
    return fields


def _reject_repeat(fields: list[Field], field: Field) -> None:
    for earlier in fields:
        if earlier.path == field.path:
            raise VietQRError(
                f"tag {field.path} at position {field.position} is repeated "
                f"(first at position {earlier.position})"
            )


def split_payload(payload: str) -> tuple[list[Field], Field]:
    """Split the top level, stopping at tag 63, which must be the last field."""
    fields: list[Field] = []
    index = 0
    while index < len(payload):
        field = _read_field(payload, index, 0, "")
        _reject_repeat(fields, field)
        fields.append(field)
        index = field.end
        if field.tag == "63":
            _reject_after_crc(payload, field)
            return fields, field
    raise VietQRError("missing CRC tag 63: a VietQR payload must end with '6304' and 4 hex digits")


def _reject_after_crc(payload: str, crc: Field) -> None:
    rest = payload[crc.end :]
    if not rest:
        return
    try:
        following = split(rest, offset=crc.end)
    except VietQRError:
        raise VietQRError(
            f"unexpected data after CRC tag 63 (position {crc.position}) "
            f"at position {crc.end}: {rest!r}"
        ) from None
    raise VietQRError(
        f"CRC tag 63 at position {crc.position} must be the last field, "
        f"but tag {following[0].tag} follows at position {following[0].position}"
    )


def check_characters(payload: str) -> None:
    for position, char in enumerate(payload):
        if not " " <= char <= "~":
            raise VietQRError(
                f"payload must be printable ASCII, got {char!r} at position {position}"
            )
