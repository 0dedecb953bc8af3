"""The VietQR dataclass and the rules its fields follow (see :mod:`payments.vietqr`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from payments.vietqr.emv import (
    ADDITIONAL_DATA_NAMES,
    MAX_FIELD_LENGTH,
    VietQRError,
    additional_field_name,
    check_additional_field,
    check_ans,
    check_tag,
    require_str,
    tlv,
)

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

Initiation = Literal["static", "dynamic"]

POI_BY_INITIATION: dict[str, str] = {"static": "11", "dynamic": "12"}
INITIATION_BY_POI: dict[str, Initiation] = {"11": "static", "12": "dynamic"}
_SERVICES = (SERVICE_TO_ACCOUNT, SERVICE_TO_CARD)

_BIN_RE = re.compile(r"[0-9]{6}")
_ALNUM_RE = re.compile(r"[A-Za-z0-9]+")
_DIGITS_RE = re.compile(r"[0-9]+")


# Top-level tags this module decodes into named attributes; every other one is an "other field".
DECODED_TAGS: dict[str, str] = {
    "00": "the payload format indicator",
    "01": "the point of initiation (initiation)",
    "38": "the NAPAS merchant account (bin, account, service)",
    "53": "the currency",
    "54": "the amount",
    "58": "the country",
    "62": "the additional data template (purpose and the additional data fields)",
    "63": "the CRC",
}
NAME_TAGS: dict[str, str] = {name: tag for tag, name in ADDITIONAL_DATA_NAMES.items()}


# --------------------------------------------------------------------------- #
# Field rules, shared by the dataclass, the encoder and the decoder.
# --------------------------------------------------------------------------- #


def check_bin(value: object) -> None:
    text = require_str(value, "bank BIN")
    if not _BIN_RE.fullmatch(text):
        raise VietQRError(f"bank BIN must be 6 digits, got {text!r}")


def check_account(value: object, *, card: bool) -> None:
    what = "card number" if card else "account number"
    text = require_str(value, what)
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


def check_service(value: object) -> None:
    text = require_str(value, "service code")
    if text not in _SERVICES:
        raise VietQRError(
            f"service code must be {SERVICE_TO_ACCOUNT!r} (to account) or "
            f"{SERVICE_TO_CARD!r} (to card), got {text!r}"
        )


def check_amount(value: object) -> None:
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


def check_purpose(value: object) -> None:
    text = require_str(value, "purpose")
    for index, char in enumerate(text):
        if not " " <= char <= "~":
            raise VietQRError(
                f"purpose must be printable ASCII, got {char!r} at index {index} in {text!r}"
            )
    if len(text) > MAX_PURPOSE_LENGTH:
        raise VietQRError(
            f"purpose must be at most {MAX_PURPOSE_LENGTH} characters, got {len(text)} ({text!r})"
        )


def check_initiation(value: object) -> None:
    if value not in POI_BY_INITIATION:
        raise VietQRError(f"initiation must be 'static' or 'dynamic', got {value!r}")


def check_currency(value: object) -> None:
    if value != CURRENCY_VND:
        raise VietQRError(f"currency must be {CURRENCY_VND!r} (VND), got {value!r}")


def check_country(value: object) -> None:
    if value != COUNTRY_VN:
        raise VietQRError(f"country must be {COUNTRY_VN!r}, got {value!r}")


Pairs = tuple[tuple[str, str], ...]


def pairs_of(value: object, what: str) -> Pairs:
    """``((tag, value), ...)`` from any iterable of 2-item pairs (lists come from JSON)."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise VietQRError(f"{what} must be a sequence of (tag, value) pairs, got {value!r}")
    pairs = []
    for item in value:
        pair = (
            () if isinstance(item, str | bytes) or not isinstance(item, Iterable) else tuple(item)
        )
        if len(pair) != 2:
            raise VietQRError(f"{what} must hold (tag, value) pairs, got {item!r}")
        pairs.append((pair[0], pair[1]))
    return tuple(pairs)


def check_additional_data(pairs: Pairs, purpose: str) -> None:
    seen: set[str] = set()
    for tag, value in pairs:
        check_tag(tag, "additional data tag")
        if tag == "08":
            raise VietQRError("tag 62.08 is the purpose: pass it as purpose, not additional data")
        if tag in seen:
            raise VietQRError(f"{additional_field_name(tag)} (tag 62.{tag}) is given twice")
        seen.add(tag)
        check_additional_field(tag, value)
    total = sum(4 + len(value) for _, value in pairs) + (4 + len(purpose) if purpose else 0)
    if total > MAX_FIELD_LENGTH:
        raise VietQRError(
            f"additional data (tag 62) must be at most {MAX_FIELD_LENGTH} characters in total, "
            f"got {total}"
        )


def check_other_fields(pairs: Pairs) -> None:
    seen: set[str] = set()
    for tag, value in pairs:
        check_tag(tag, "tag id")
        if tag in DECODED_TAGS:
            raise VietQRError(
                f"tag {tag} is {DECODED_TAGS[tag]}; it has its own argument and cannot be "
                f"given as an other field"
            )
        if tag in seen:
            raise VietQRError(f"tag {tag} is given twice")
        seen.add(tag)
        check_ans(value, f"tag {tag}")


@dataclass(frozen=True)
class VietQR:
    """The decoded content of a VietQR payload. Validated on construction.

    ``additional_data`` holds the tag 62 sub-fields other than the purpose
    (``(("01", "HD0042"), ("05", "DH1709"))``), ``other_fields`` the top-level
    fields this module does not decode (``(("59", "CHO HAN"), ("80", ...))``),
    both sorted by tag whatever order they are given in. ``order`` is empty when
    the fields are in ascending tag order (what :func:`encode` emits); otherwise
    it lists every field's path in payload order, tag 62 followed by its
    ``62.NN`` sub-fields, 63 left out.
    """

    bin: str
    account: str
    service: str
    amount: int | None
    purpose: str
    initiation: Initiation
    currency: str = CURRENCY_VND
    country: str = COUNTRY_VN
    additional_data: Pairs = ()
    other_fields: Pairs = ()
    order: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_bin(self.bin)
        check_service(self.service)
        check_account(self.account, card=self.service == SERVICE_TO_CARD)
        check_amount(self.amount)
        check_purpose(self.purpose)
        check_initiation(self.initiation)
        check_currency(self.currency)
        check_country(self.country)
        # Frozen, so normalise this way: lists (from JSON or callers) become hashable tuples,
        # sorted by tag so that equal content compares equal; ``order`` keeps the payload order.
        additional_data = pairs_of(self.additional_data, "additional_data")
        other_fields = pairs_of(self.other_fields, "other_fields")
        check_additional_data(additional_data, self.purpose)
        check_other_fields(other_fields)
        object.__setattr__(self, "additional_data", tuple(sorted(additional_data)))
        object.__setattr__(self, "other_fields", tuple(sorted(other_fields)))
        if isinstance(self.order, str) or not isinstance(self.order, Iterable):
            raise VietQRError(f"order must be a sequence of tag paths, got {self.order!r}")
        order = tuple(self.order)
        if order:
            check_order(order, layout(self))
        # The ascending order is the default: spelling it out changes nothing.
        object.__setattr__(self, "order", () if list(order) == layout(self) else order)

    @property
    def is_card(self) -> bool:
        return self.service == SERVICE_TO_CARD

    def additional(self, tag: str) -> str:
        """The value of tag 62 sub-field ``tag`` (``"08"`` is the purpose), ``""`` if absent."""
        return dict(additional_fields(self)).get(tag, "")

    @property
    def bill_number(self) -> str:
        return self.additional("01")

    @property
    def mobile_number(self) -> str:
        return self.additional("02")

    @property
    def store_label(self) -> str:
        return self.additional("03")

    @property
    def loyalty_number(self) -> str:
        return self.additional("04")

    @property
    def reference_label(self) -> str:
        return self.additional("05")

    @property
    def customer_label(self) -> str:
        return self.additional("06")

    @property
    def terminal_label(self) -> str:
        return self.additional("07")

    @property
    def consumer_data_request(self) -> str:
        return self.additional("09")


# --------------------------------------------------------------------------- #
# Layout: which fields a VietQR has, and in which order they are written
# --------------------------------------------------------------------------- #


def top_level_fields(qr: VietQR) -> dict[str, str]:
    """Every top-level field but 62 and 63, by tag."""
    beneficiary = tlv("00", qr.bin) + tlv("01", qr.account)
    merchant = tlv("00", NAPAS_GUID) + tlv("01", beneficiary) + tlv("02", qr.service)
    fields = {
        "00": PAYLOAD_FORMAT,
        "01": POI_BY_INITIATION[qr.initiation],
        "38": merchant,
        "53": qr.currency,
    }
    if qr.amount is not None:
        fields["54"] = str(qr.amount)
    fields["58"] = qr.country
    fields.update(qr.other_fields)
    return fields


def additional_fields(qr: VietQR) -> Pairs:
    """Every tag 62 sub-field, the purpose included."""
    return qr.additional_data + ((("08", qr.purpose),) if qr.purpose else ())


def layout(qr: VietQR) -> list[str]:
    """The paths of ``qr``'s fields in the order :func:`encode` emits them without ``order``."""
    additional = sorted(tag for tag, _ in additional_fields(qr))
    tags = sorted([*top_level_fields(qr), *(["62"] if additional else [])])
    layout: list[str] = []
    for tag in tags:
        layout.append(tag)
        if tag == "62":
            layout.extend(f"62.{sub}" for sub in additional)
    return layout


def check_order(order: tuple[object, ...], layout: list[str]) -> None:
    if not all(isinstance(path, str) for path in order) or sorted(map(str, order)) != sorted(
        layout
    ):
        raise VietQRError(
            f"order must list each field of the payload once ({', '.join(layout)}), "
            f"got {', '.join(map(str, order))}"
        )
    if order[0] != "00":
        raise VietQRError(f"order must start with tag 00 (payload format), got {order[0]!r}")
