"""VietQR payloads: encode, decode and render NAPAS bank-transfer QR codes.

VietQR is the national QR standard for bank transfers in Vietnam, run by NAPAS
(Công ty Cổ phần Thanh toán Quốc gia Việt Nam, the national payment switch that
also operates the instant 24/7 interbank transfer network "NAPAS 247"). A VietQR
code is an EMVCo "merchant-presented mode" payload: the trader shows the code,
the customer scans it with any Vietnamese banking app, and the app pre-fills the
transfer (bank, account, amount, message). No card network or e-wallet is
involved; the money moves bank to bank.

The payload is a flat string of TLV fields: a 2-digit tag id, a 2-digit length
(in characters) and the value. Tags 38 and 62 are templates whose value is
itself a TLV string. The fields we emit, in this order:

====  ================================================================
00    payload format indicator, always ``01``
01    point of initiation: ``11`` static (reusable), ``12`` dynamic (one-off)
38    NAPAS merchant account template:
      ``00`` GUID ``A000000727``;
      ``01`` beneficiary template {``00`` bank BIN (6 digits), ``01`` account
      or card number};
      ``02`` service: ``QRIBFTTA`` to an account, ``QRIBFTTC`` to a card
53    currency, ``704`` (VND, đồng)
54    amount in whole VND (optional, at most 13 digits)
58    country, ``VN``
62    additional data template; we only use ``08``, the transfer message
      ("nội dung chuyển khoản", what the payer's bank shows and the
      beneficiary's statement carries; at most 25 characters)
63    CRC-16/CCITT-FALSE over everything before it, including ``6304``
====  ================================================================

The bank BIN ("Bank Identification Number", 6 digits such as 970436 for
Vietcombank) identifies the beneficiary bank on NAPAS.

Because lengths count characters and bank apps disagree on non-ASCII text, the
transfer message is reduced to printable ASCII: Vietnamese diacritics are
removed ("Thanh toán đơn hàng" becomes "Thanh toan don hang").

Money is always an ``int`` number of đồng; VND has no minor unit.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import qrcode
import qrcode.constants
from qrcode.image.svg import SvgPathImage
from unidecode import unidecode

__all__ = [
    "MAX_ACCOUNT_LENGTH",
    "MAX_AMOUNT",
    "MAX_PURPOSE_LENGTH",
    "NAPAS_GUID",
    "SERVICE_TO_ACCOUNT",
    "SERVICE_TO_CARD",
    "CRCMismatchError",
    "VietQR",
    "VietQRError",
    "build",
    "crc16_ccitt_false",
    "encode",
    "normalize_purpose",
    "parse",
    "qr_png",
    "qr_svg",
    "to_dict",
]

NAPAS_GUID = "A000000727"
SERVICE_TO_ACCOUNT = "QRIBFTTA"
SERVICE_TO_CARD = "QRIBFTTC"
CURRENCY_VND = "704"
COUNTRY_VN = "VN"
PAYLOAD_FORMAT = "01"
MAX_ACCOUNT_LENGTH = 19
MAX_AMOUNT = 9_999_999_999_999  # EMV tag 54 holds at most 13 characters
MAX_AMOUNT_DIGITS = 13
MAX_PURPOSE_LENGTH = 25
MAX_FIELD_LENGTH = 99  # a 2-digit length field

Initiation = Literal["static", "dynamic"]

_POI_BY_INITIATION: dict[str, str] = {"static": "11", "dynamic": "12"}
_INITIATION_BY_POI: dict[str, Initiation] = {"11": "static", "12": "dynamic"}
_SERVICES = (SERVICE_TO_ACCOUNT, SERVICE_TO_CARD)

_BIN_RE = re.compile(r"[0-9]{6}")
_ALNUM_RE = re.compile(r"[A-Za-z0-9]+")
_DIGITS_RE = re.compile(r"[0-9]+")
_HEX4_RE = re.compile(r"[0-9A-Fa-f]{4}")


class VietQRError(ValueError):
    """A VietQR payload or one of its fields is invalid."""


class CRCMismatchError(VietQRError):
    """The payload is well formed but its CRC (tag 63) does not match its content."""

    def __init__(self, declared: str, computed: str) -> None:
        self.declared = declared
        self.computed = computed
        super().__init__(f"CRC mismatch: payload says {declared}, computed {computed}")


# --------------------------------------------------------------------------- #
# Field rules, shared by the dataclass, the encoder and the decoder.
# --------------------------------------------------------------------------- #


def _require_str(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise VietQRError(f"{what} must be a string, got {type(value).__name__} {value!r}")
    return value


def _check_bin(value: object) -> None:
    text = _require_str(value, "bank BIN")
    if not _BIN_RE.fullmatch(text):
        raise VietQRError(f"bank BIN must be 6 digits, got {text!r}")


def _check_account(value: object, *, card: bool) -> None:
    what = "card number" if card else "account number"
    text = _require_str(value, what)
    if not text:
        raise VietQRError(f"{what} must not be empty")
    if len(text) > MAX_ACCOUNT_LENGTH:
        raise VietQRError(
            f"{what} must be at most {MAX_ACCOUNT_LENGTH} characters, got {len(text)} ({text!r})"
        )
    if card and not _DIGITS_RE.fullmatch(text):
        raise VietQRError(f"card number must contain only digits, got {text!r}")
    if not _ALNUM_RE.fullmatch(text):
        raise VietQRError(
            f"account number must contain only ASCII letters and digits, got {text!r}"
        )


def _check_service(value: object) -> None:
    text = _require_str(value, "service code")
    if text not in _SERVICES:
        raise VietQRError(
            f"service code must be {SERVICE_TO_ACCOUNT!r} (to account) or "
            f"{SERVICE_TO_CARD!r} (to card), got {text!r}"
        )


def _check_amount(value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise VietQRError(
            f"amount must be an int number of VND, got {type(value).__name__} {value!r}"
        )
    if value < 1:
        raise VietQRError(f"amount must be at least 1 VND, got {value}")
    if value > MAX_AMOUNT:
        raise VietQRError(
            f"amount must be at most {MAX_AMOUNT} VND ({MAX_AMOUNT_DIGITS} digits), got {value}"
        )


def _check_purpose(value: object) -> None:
    text = _require_str(value, "purpose")
    for index, char in enumerate(text):
        if not " " <= char <= "~":
            raise VietQRError(
                f"purpose must be printable ASCII, got {char!r} at index {index} in {text!r}"
            )
    if len(text) > MAX_PURPOSE_LENGTH:
        raise VietQRError(
            f"purpose must be at most {MAX_PURPOSE_LENGTH} characters, got {len(text)} ({text!r})"
        )


def _check_initiation(value: object) -> None:
    if value not in _POI_BY_INITIATION:
        raise VietQRError(f"initiation must be 'static' or 'dynamic', got {value!r}")


def _check_currency(value: object) -> None:
    if value != CURRENCY_VND:
        raise VietQRError(f"currency must be {CURRENCY_VND!r} (VND), got {value!r}")


def _check_country(value: object) -> None:
    if value != COUNTRY_VN:
        raise VietQRError(f"country must be {COUNTRY_VN!r}, got {value!r}")


@dataclass(frozen=True)
class VietQR:
    """The decoded content of a VietQR payload. Validated on construction."""

    bin: str
    account: str
    service: str
    amount: int | None
    purpose: str
    initiation: Initiation
    currency: str = CURRENCY_VND
    country: str = COUNTRY_VN

    def __post_init__(self) -> None:
        _check_bin(self.bin)
        _check_service(self.service)
        _check_account(self.account, card=self.service == SERVICE_TO_CARD)
        _check_amount(self.amount)
        _check_purpose(self.purpose)
        _check_initiation(self.initiation)
        _check_currency(self.currency)
        _check_country(self.country)

    @property
    def is_card(self) -> bool:
        return self.service == SERVICE_TO_CARD


# --------------------------------------------------------------------------- #
# Encoding
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


def _tlv(tag: str, value: str) -> str:
    if not 1 <= len(value) <= MAX_FIELD_LENGTH:
        raise VietQRError(
            f"tag {tag} value must be 1 to {MAX_FIELD_LENGTH} characters, got {len(value)}"
        )
    return f"{tag}{len(value):02d}{value}"


def encode(qr: VietQR) -> str:
    """Serialise a :class:`VietQR` to its payload string, CRC included."""
    beneficiary = _tlv("00", qr.bin) + _tlv("01", qr.account)
    merchant = _tlv("00", NAPAS_GUID) + _tlv("01", beneficiary) + _tlv("02", qr.service)
    parts = [
        _tlv("00", PAYLOAD_FORMAT),
        _tlv("01", _POI_BY_INITIATION[qr.initiation]),
        _tlv("38", merchant),
        _tlv("53", qr.currency),
    ]
    if qr.amount is not None:
        parts.append(_tlv("54", str(qr.amount)))
    parts.append(_tlv("58", qr.country))
    if qr.purpose:
        parts.append(_tlv("62", _tlv("08", qr.purpose)))
    body = "".join(parts) + "6304"
    return body + crc16_ccitt_false(body)


def normalize_purpose(text: str) -> str:
    """Reduce a transfer message to printable ASCII without enforcing its length.

    NFC-normalises, transliterates Vietnamese (and other) letters to ASCII
    ("đơn hàng" -> "don hang"), drops non-printable characters and collapses
    runs of whitespace into single spaces.
    """
    text = _require_str(text, "purpose")
    ascii_text = unidecode(unicodedata.normalize("NFC", text))
    spaced = " ".join(ascii_text.split())
    printable = "".join(char for char in spaced if " " <= char <= "~")
    return " ".join(printable.split())


def build(
    *,
    bin: str,
    account: str,
    amount: int | None = None,
    purpose: str = "",
    card: bool = False,
    static: bool = False,
) -> str:
    """Build a VietQR payload.

    With an ``amount`` the code is dynamic (tag 01 = ``12``) unless ``static`` is
    true; without one it is always static (``11``). ``purpose`` is normalised
    with :func:`normalize_purpose` and must then fit in 25 characters.
    """
    initiation: Initiation = "static" if amount is None or static else "dynamic"
    normalized = normalize_purpose(purpose)
    if len(normalized) > MAX_PURPOSE_LENGTH:
        raise VietQRError(
            f"purpose must be at most {MAX_PURPOSE_LENGTH} characters after normalisation, "
            f"got {len(normalized)} ({normalized!r})"
        )
    qr = VietQR(
        bin=bin,
        account=account,
        service=SERVICE_TO_CARD if card else SERVICE_TO_ACCOUNT,
        amount=amount,
        purpose=normalized,
        initiation=initiation,
    )
    return encode(qr)


# --------------------------------------------------------------------------- #
# Decoding
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class _Field:
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


def _is_digits(text: str) -> bool:
    return _DIGITS_RE.fullmatch(text) is not None


def _read_field(text: str, index: int, offset: int, parent: str) -> _Field:
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
    if not _is_digits(tag):
        raise VietQRError(f"tag id at position {position}{inside} must be 2 digits, got {tag!r}")
    path = f"{parent}.{tag}" if parent else tag
    if not _is_digits(length_text):
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
    return _Field(path=path, value=text[index + 4 : index + 4 + length], position=position)


def _split(text: str, offset: int = 0, parent: str = "") -> list[_Field]:
    """Split a TLV string into fields, rejecting repeated tags."""
    fields: list[_Field] = []
    index = 0
    while index < len(text):
        field = _read_field(text, index, offset, parent)
        _reject_repeat(fields, field)
        fields.append(field)
        index = field.end - offset
    return fields


def _reject_repeat(fields: list[_Field], field: _Field) -> None:
    for earlier in fields:
        if earlier.path == field.path:
            raise VietQRError(
                f"tag {field.path} at position {field.position} is repeated "
                f"(first at position {earlier.position})"
            )


def _split_payload(payload: str) -> tuple[list[_Field], _Field]:
    """Split the top level, stopping at tag 63, which must be the last field."""
    fields: list[_Field] = []
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


def _reject_after_crc(payload: str, crc: _Field) -> None:
    rest = payload[crc.end :]
    if not rest:
        return
    try:
        following = _split(rest, offset=crc.end)
    except VietQRError:
        raise VietQRError(
            f"unexpected data after CRC tag 63 (position {crc.position}) "
            f"at position {crc.end}: {rest!r}"
        ) from None
    raise VietQRError(
        f"CRC tag 63 at position {crc.position} must be the last field, "
        f"but tag {following[0].tag} follows at position {following[0].position}"
    )


def _check_characters(payload: str) -> None:
    for position, char in enumerate(payload):
        if not " " <= char <= "~":
            raise VietQRError(
                f"payload must be printable ASCII, got {char!r} at position {position}"
            )


def _find(fields: list[_Field], path: str, description: str, container: _Field | None) -> _Field:
    for field in fields:
        if field.path == path:
            return field
    where = f" in tag {container.path} at position {container.position}" if container else ""
    raise VietQRError(f"missing tag {path} ({description}){where}")


def _find_optional(fields: list[_Field], path: str) -> _Field | None:
    return next((field for field in fields if field.path == path), None)


def _at(field: _Field, error: VietQRError) -> VietQRError:
    return VietQRError(f"tag {field.path} at position {field.position}: {error}")


def _expect(field: _Field, expected: str, description: str) -> None:
    if field.value != expected:
        raise VietQRError(
            f"tag {field.path} at position {field.position}: {description} must be "
            f"{expected!r}, got {field.value!r}"
        )


def _decode_initiation(field: _Field) -> Initiation:
    try:
        return _INITIATION_BY_POI[field.value]
    except KeyError:
        raise VietQRError(
            f"tag {field.path} at position {field.position}: point of initiation method "
            f"must be '11' (static) or '12' (dynamic), got {field.value!r}"
        ) from None


def _decode_amount(field: _Field | None) -> int | None:
    if field is None:
        return None
    if not _is_digits(field.value):
        raise VietQRError(
            f"tag {field.path} at position {field.position}: amount must be whole VND "
            f"digits, got {field.value!r}"
        )
    if len(field.value) > MAX_AMOUNT_DIGITS:
        raise VietQRError(
            f"tag {field.path} at position {field.position}: amount must be at most "
            f"{MAX_AMOUNT_DIGITS} digits, got {len(field.value)}"
        )
    amount = int(field.value)
    try:
        _check_amount(amount)
    except VietQRError as error:
        raise _at(field, error) from None
    return amount


def _validated(field: _Field, check: Callable[..., None], **kwargs: Any) -> str:
    try:
        check(field.value, **kwargs)
    except VietQRError as error:
        raise _at(field, error) from None
    return field.value


def _decode_merchant(template: _Field) -> tuple[str, str, str]:
    """Decode tag 38 into (bin, account, service)."""
    inner = _split(template.value, template.value_position, template.path)
    _expect(_find(inner, "38.00", "GUID", template), NAPAS_GUID, "GUID")
    beneficiary = _find(inner, "38.01", "beneficiary template", template)
    service = _validated(_find(inner, "38.02", "service code", template), _check_service)
    holder_fields = _split(beneficiary.value, beneficiary.value_position, beneficiary.path)
    bin_field = _find(holder_fields, "38.01.00", "bank BIN", beneficiary)
    account_field = _find(holder_fields, "38.01.01", "account or card number", beneficiary)
    bin_value = _validated(bin_field, _check_bin)
    account = _validated(account_field, _check_account, card=service == SERVICE_TO_CARD)
    return bin_value, account, service


def _decode_purpose(template: _Field | None) -> str:
    if template is None:
        return ""
    inner = _split(template.value, template.value_position, template.path)
    purpose = _find_optional(inner, "62.08")
    return "" if purpose is None else _validated(purpose, _check_purpose)


def _check_crc_format(crc: _Field) -> None:
    if not _HEX4_RE.fullmatch(crc.value):
        raise VietQRError(
            f"tag 63 at position {crc.position}: CRC must be 4 hex digits, got {crc.value!r}"
        )


def parse(payload: str, *, verify_crc: bool = True) -> VietQR:
    """Decode and validate a VietQR payload.

    Errors name the tag (``38.01.00`` for nested fields) and its 0-based position
    in the payload. The CRC is checked last, so a :class:`CRCMismatchError`
    means everything else is valid; ``verify_crc=False`` still requires a
    well-formed tag 63 at the end but accepts any CRC value.
    """
    if not isinstance(payload, str):
        raise VietQRError(f"payload must be a string, got {type(payload).__name__}")
    if not payload:
        raise VietQRError("payload is empty")
    _check_characters(payload)
    fields, crc = _split_payload(payload)
    first = fields[0]
    if first.tag != "00":
        raise VietQRError(
            f"payload must start with tag 00 (payload format indicator), "
            f"found tag {first.tag} at position {first.position}"
        )
    _expect(first, PAYLOAD_FORMAT, "payload format indicator")
    _check_crc_format(crc)
    initiation = _decode_initiation(_find(fields, "01", "point of initiation method", None))
    bin_value, account, service = _decode_merchant(
        _find(fields, "38", "NAPAS merchant account information", None)
    )
    _validated(_find(fields, "53", "transaction currency", None), _check_currency)
    amount = _decode_amount(_find_optional(fields, "54"))
    _validated(_find(fields, "58", "country code", None), _check_country)
    purpose = _decode_purpose(_find_optional(fields, "62"))
    if verify_crc:
        computed = crc16_ccitt_false(payload[: crc.value_position])
        if crc.value.upper() != computed:
            raise CRCMismatchError(crc.value, computed)
    return VietQR(
        bin=bin_value,
        account=account,
        service=service,
        amount=amount,
        purpose=purpose,
        initiation=initiation,
    )


def to_dict(qr: VietQR, *, crc_ok: bool = True) -> dict[str, Any]:
    """A JSON-ready dict of the decoded fields plus whether the CRC matched."""
    return {
        "initiation": qr.initiation,
        "bin": qr.bin,
        "account": qr.account,
        "service": qr.service,
        "amount": qr.amount,
        "purpose": qr.purpose,
        "currency": qr.currency,
        "country": qr.country,
        "crc_ok": crc_ok,
    }


# --------------------------------------------------------------------------- #
# Images
# --------------------------------------------------------------------------- #


def _qr_code(payload: str, *, box_size: int = 10, border: int = 4) -> qrcode.QRCode:
    _require_str(payload, "payload")
    if not payload:
        raise VietQRError("payload is empty")
    if box_size < 1:
        raise ValueError(f"box_size must be at least 1, got {box_size}")
    if border < 0:
        raise ValueError(f"border must not be negative, got {border}")
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=border
    )
    code.add_data(payload)
    code.make(fit=True)
    return code


def qr_png(payload: str, *, box_size: int = 8, border: int = 4) -> bytes:
    """Render ``payload`` as a PNG QR code (error correction M); returns the PNG bytes.

    ``box_size`` is pixels per module, ``border`` the quiet zone in modules
    (scanners expect at least 4).
    """
    image = _qr_code(payload, box_size=box_size, border=border).make_image()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(payload: str) -> str:
    """Render ``payload`` as an SVG QR code (one ``<path>``, error correction M)."""
    image = _qr_code(payload).make_image(image_factory=SvgPathImage)
    return image.to_string(encoding="unicode")
