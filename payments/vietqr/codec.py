"""Encode, build, decode and convert to and from JSON: VietQR payloads (see payments.vietqr)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import Any

from unidecode import unidecode

from payments.vietqr.emv import (
    ADDITIONAL_DATA_NAMES,
    CRCMismatchError,
    Field,
    VietQRError,
    check_additional_field,
    check_characters,
    crc16_ccitt_false,
    is_digits,
    require_str,
    split,
    split_payload,
    tlv,
)
from payments.vietqr.model import (
    COUNTRY_VN,
    CURRENCY_VND,
    DECODED_TAGS,
    INITIATION_BY_POI,
    MAX_AMOUNT_DIGITS,
    MAX_PURPOSE_LENGTH,
    NAME_TAGS,
    NAPAS_GUID,
    PAYLOAD_FORMAT,
    SERVICE_TO_ACCOUNT,
    SERVICE_TO_CARD,
    Initiation,
    Pairs,
    VietQR,
    additional_fields,
    check_account,
    check_amount,
    check_bin,
    check_country,
    check_currency,
    check_purpose,
    check_service,
    layout,
    pairs_of,
    top_level_fields,
)

_HEX4_RE = re.compile(r"[0-9A-Fa-f]{4}")
_TAG_RE = re.compile(r"[0-9]{2}")


def encode(qr: VietQR) -> str:
    """Serialise a :class:`VietQR` to its payload string, CRC included."""
    rank = {path: index for index, path in enumerate(qr.order or layout(qr))}
    fields = top_level_fields(qr)
    additional = sorted(additional_fields(qr), key=lambda pair: rank[f"62.{pair[0]}"])
    if additional:
        fields["62"] = "".join(tlv(tag, value) for tag, value in additional)
    body = "".join(tlv(tag, fields[tag]) for tag in sorted(fields, key=rank.__getitem__)) + "6304"
    return body + crc16_ccitt_false(body)


def normalize_purpose(text: str) -> str:
    """Reduce a transfer message to printable ASCII without enforcing its length.

    NFC-normalises, transliterates Vietnamese (and other) letters to ASCII
    ("đơn hàng" -> "don hang"), drops non-printable characters and collapses
    runs of whitespace into single spaces.
    """
    text = require_str(text, "purpose")
    ascii_text = unidecode(unicodedata.normalize("NFC", text))
    spaced = " ".join(ascii_text.split())
    printable = "".join(char for char in spaced if " " <= char <= "~")
    return " ".join(printable.split())


def _split_fields(
    fields: Mapping[str, str] | Iterable[tuple[str, str]], named: dict[str, str]
) -> tuple[Pairs, Pairs]:
    """Sort ``fields`` keys (``"62.NN"`` or ``"NN"``) into (additional data, other fields)."""
    pairs = pairs_of(fields.items() if isinstance(fields, Mapping) else fields, "fields")
    additional = {NAME_TAGS[name]: value for name, value in named.items() if value}
    other: list[tuple[str, str]] = []
    for key, value in pairs:
        key = require_str(key, "field key")
        tag = key.removeprefix("62.")
        if not _TAG_RE.fullmatch(tag):
            raise VietQRError(
                f"field key must be a 2-digit top-level tag (e.g. 59) or 62.NN for a tag 62 "
                f"sub-field (e.g. 62.05), got {key!r}"
            )
        if tag == key:
            other.append((key, value))
        elif tag == "08":
            raise VietQRError("field 62.08 is the purpose: pass it as purpose")
        elif tag in additional:
            name = ADDITIONAL_DATA_NAMES.get(tag, "")
            also = f" (as {name} and as field 62.{tag})" if named.get(name) else ""
            raise VietQRError(f"tag 62.{tag} is given twice{also}")
        else:
            additional[tag] = value
    return tuple(additional.items()), tuple(other)


def build(
    *,
    bin: str,
    account: str,
    amount: int | None = None,
    purpose: str = "",
    card: bool = False,
    static: bool = False,
    bill_number: str = "",
    mobile_number: str = "",
    store_label: str = "",
    loyalty_number: str = "",
    reference_label: str = "",
    customer_label: str = "",
    terminal_label: str = "",
    consumer_data_request: str = "",
    fields: Mapping[str, str] | Iterable[tuple[str, str]] = (),
) -> str:
    """Build a VietQR payload.

    With an ``amount`` the code is dynamic (tag 01 = ``12``) unless ``static`` is
    true; without one it is always static (``11``). ``purpose`` is normalised
    with :func:`normalize_purpose` and must then fit in 25 characters.

    The other tag 62 sub-fields (``bill_number`` ... ``consumer_data_request``,
    empty means absent) are written as given: printable ASCII, at most 25
    characters (``consumer_data_request``: some of ``A``, ``M``, ``E``).
    ``fields`` adds any other field by key: ``"62.NN"`` for a tag 62 sub-field,
    ``"NN"`` for a top-level tag (``"59"`` merchant name, ``"64"`` language
    template, ``"80"``-``"99"`` unreserved templates, ...). Fields come out in
    ascending tag order.
    """
    initiation: Initiation = "static" if amount is None or static else "dynamic"
    normalized = normalize_purpose(purpose)
    if len(normalized) > MAX_PURPOSE_LENGTH:
        raise VietQRError(
            f"purpose must be at most {MAX_PURPOSE_LENGTH} characters after normalisation, "
            f"got {len(normalized)} ({normalized!r})"
        )
    named = {
        "bill_number": bill_number,
        "mobile_number": mobile_number,
        "store_label": store_label,
        "loyalty_number": loyalty_number,
        "reference_label": reference_label,
        "customer_label": customer_label,
        "terminal_label": terminal_label,
        "consumer_data_request": consumer_data_request,
    }
    for name, value in named.items():
        require_str(value, name)
    additional_data, other_fields = _split_fields(fields, named)
    qr = VietQR(
        bin=bin,
        account=account,
        service=SERVICE_TO_CARD if card else SERVICE_TO_ACCOUNT,
        amount=amount,
        purpose=normalized,
        initiation=initiation,
        additional_data=additional_data,
        other_fields=other_fields,
    )
    return encode(qr)


# --------------------------------------------------------------------------- #
# Decoding
# --------------------------------------------------------------------------- #


def _find(fields: list[Field], path: str, description: str, container: Field | None) -> Field:
    for field in fields:
        if field.path == path:
            return field
    where = f" in tag {container.path} at position {container.position}" if container else ""
    raise VietQRError(f"missing tag {path} ({description}){where}")


def _find_optional(fields: list[Field], path: str) -> Field | None:
    return next((field for field in fields if field.path == path), None)


def _at(field: Field, error: VietQRError) -> VietQRError:
    return VietQRError(f"tag {field.path} at position {field.position}: {error}")


def _expect(field: Field, expected: str, description: str) -> None:
    if field.value != expected:
        raise VietQRError(
            f"tag {field.path} at position {field.position}: {description} must be "
            f"{expected!r}, got {field.value!r}"
        )


def _decode_initiation(field: Field) -> Initiation:
    try:
        return INITIATION_BY_POI[field.value]
    except KeyError:
        raise VietQRError(
            f"tag {field.path} at position {field.position}: point of initiation method "
            f"must be '11' (static) or '12' (dynamic), got {field.value!r}"
        ) from None


def _decode_amount(field: Field | None) -> int | None:
    if field is None:
        return None
    if not is_digits(field.value):
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
        check_amount(amount)
    except VietQRError as error:
        raise _at(field, error) from None
    return amount


def _validated(field: Field, check: Callable[..., None], **kwargs: Any) -> str:
    try:
        check(field.value, **kwargs)
    except VietQRError as error:
        raise _at(field, error) from None
    return field.value


def _decode_merchant(template: Field) -> tuple[str, str, str]:
    """Decode tag 38 into (bin, account, service)."""
    inner = split(template.value, template.value_position, template.path)
    _expect(_find(inner, "38.00", "GUID", template), NAPAS_GUID, "GUID")
    beneficiary = _find(inner, "38.01", "beneficiary template", template)
    service = _validated(_find(inner, "38.02", "service code", template), check_service)
    holder_fields = split(beneficiary.value, beneficiary.value_position, beneficiary.path)
    bin_field = _find(holder_fields, "38.01.00", "bank BIN", beneficiary)
    account_field = _find(holder_fields, "38.01.01", "account or card number", beneficiary)
    bin_value = _validated(bin_field, check_bin)
    account = _validated(account_field, check_account, card=service == SERVICE_TO_CARD)
    return bin_value, account, service


def _decode_additional(template: Field | None) -> tuple[str, Pairs, list[str]]:
    """Decode tag 62 into (purpose, the other sub-fields, their paths in payload order)."""
    if template is None:
        return "", (), []
    purpose, others, paths = "", [], []
    for field in split(template.value, template.value_position, template.path):
        paths.append(field.path)
        if field.tag == "08":
            purpose = _validated(field, check_purpose)
        else:
            others.append((field.tag, _validated(field, _check_additional_value, tag=field.tag)))
    return purpose, tuple(others), paths


def _check_additional_value(value: object, *, tag: str) -> None:
    check_additional_field(tag, value)


def _check_crc_format(crc: Field) -> None:
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
    check_characters(payload)
    fields, crc = split_payload(payload)
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
    _validated(_find(fields, "53", "transaction currency", None), check_currency)
    amount = _decode_amount(_find_optional(fields, "54"))
    _validated(_find(fields, "58", "country code", None), check_country)
    purpose, additional_data, additional_paths = _decode_additional(_find_optional(fields, "62"))
    if verify_crc:
        computed = crc16_ccitt_false(payload[: crc.value_position])
        if crc.value.upper() != computed:
            raise CRCMismatchError(crc.value, computed)
    qr = VietQR(
        bin=bin_value,
        account=account,
        service=service,
        amount=amount,
        purpose=purpose,
        initiation=initiation,
        additional_data=additional_data,
        other_fields=tuple(
            (field.tag, field.value) for field in fields[:-1] if field.tag not in DECODED_TAGS
        ),
    )
    order = []
    for field in fields[:-1]:
        order.append(field.tag)
        if field.tag == "62":
            order.extend(additional_paths)
    return qr if order == layout(qr) else replace(qr, order=tuple(order))


def to_dict(qr: VietQR, *, crc_ok: bool = True) -> dict[str, Any]:
    """A JSON-ready dict of the decoded fields plus whether the CRC matched.

    The keys below ``country`` are there only when the payload has them: the
    named tag 62 sub-fields (``bill_number``, ``reference_label``, ...),
    ``other_fields`` (``{"62.NN": value, "NN": value}`` for everything else)
    and ``order`` (when not ascending; see :class:`VietQR`).
    :func:`from_dict` turns the dict back into the same :class:`VietQR`.
    """
    data: dict[str, Any] = {
        "initiation": qr.initiation,
        "bin": qr.bin,
        "account": qr.account,
        "service": qr.service,
        "amount": qr.amount,
        "purpose": qr.purpose,
        "currency": qr.currency,
        "country": qr.country,
    }
    others: dict[str, str] = {}
    for tag, value in qr.additional_data:
        if tag in ADDITIONAL_DATA_NAMES:
            data[ADDITIONAL_DATA_NAMES[tag]] = value
        else:
            others[f"62.{tag}"] = value
    others.update(qr.other_fields)
    if others:
        data["other_fields"] = others
    if qr.order:
        data["order"] = list(qr.order)
    data["crc_ok"] = crc_ok
    return data


_DICT_KEYS = frozenset(
    ("initiation", "bin", "account", "service", "amount", "purpose", "currency", "country")
) | frozenset(("other_fields", "order", "crc_ok", *NAME_TAGS))


def from_dict(data: Mapping[str, Any]) -> VietQR:
    """The :class:`VietQR` a :func:`to_dict` dict describes (``crc_ok`` is ignored).

    ``encode(from_dict(to_dict(parse(payload)))) == payload`` for any payload
    :func:`parse` accepts with a valid uppercase CRC.
    """
    if not isinstance(data, Mapping):
        raise VietQRError(f"expected a JSON object, got {type(data).__name__}")
    unknown = sorted(set(data) - _DICT_KEYS)
    if unknown:
        raise VietQRError(f"unknown key(s): {', '.join(map(str, unknown))}")
    missing = [key for key in ("initiation", "bin", "account", "service") if key not in data]
    if missing:
        raise VietQRError(f"missing key(s): {', '.join(missing)}")
    others = data.get("other_fields") or {}
    if not isinstance(others, Mapping):
        raise VietQRError(f"other_fields must be an object, got {others!r}")
    named = {name: data.get(name) or "" for name in NAME_TAGS if name != "purpose"}
    for name, value in named.items():
        require_str(value, name)
    additional_data, other_fields = _split_fields(others, named)
    return VietQR(
        bin=data["bin"],
        account=data["account"],
        service=data["service"],
        amount=data.get("amount"),
        purpose=data.get("purpose") or "",
        initiation=data["initiation"],
        currency=data.get("currency", CURRENCY_VND),
        country=data.get("country", COUNTRY_VN),
        additional_data=additional_data,
        other_fields=other_fields,
        order=data.get("order") or (),
    )
