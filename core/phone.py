"""Vietnamese mobile numbers: accept what people type, store E.164 (+84...)."""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_ALLOWED = re.compile(r"^[\d\s().+-]+$")


def normalize_vn_mobile(raw: str) -> str:
    """'0905 123 456', '+84905123456', '84905123456' -> '+84905123456'; else ValidationError."""
    text = (raw or "").strip()
    error = ValidationError(
        _("Số điện thoại di động Việt Nam không hợp lệ (ví dụ 0905 123 456)."), code="invalid_phone"
    )
    if not text or not _ALLOWED.match(text):
        raise error
    digits = re.sub(r"\D", "", text)
    if not text.startswith("+") and digits.startswith("84") and len(digits) == 11:
        text = "+" + digits
    try:
        number = phonenumbers.parse(text, "VN")
    except phonenumbers.NumberParseException:
        raise error from None
    if number.country_code != 84 or not phonenumbers.is_valid_number(number):
        raise error
    if phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        raise error
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_vn_phone(e164: str) -> str:
    """'+84905123456' -> '0905 123 456' as people write it."""
    try:
        number = phonenumbers.parse(e164, "VN")
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
