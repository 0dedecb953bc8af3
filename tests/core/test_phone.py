"""Vietnamese mobile numbers: what people type is stored as E.164; anything else is refused."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from core.phone import display_vn_phone, normalize_vn_mobile

VN_MESSAGE = "Số điện thoại di động Việt Nam không hợp lệ (ví dụ 0905 123 456)."


@pytest.mark.parametrize(
    "typed",
    [
        "0905 123 456",
        "+84905123456",
        "84905123456",
        "0905-123-456",
        "0905123456",
        " 0905.123.456 ",
        "(0905) 123 456",
        "+84 905 123 456",
    ],
)
def test_it_stores_every_accepted_spelling_as_e164(typed):
    assert normalize_vn_mobile(typed) == "+84905123456"


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("0865 123 456", "+84865123456"),  # Viettel
        ("0705 123 456", "+84705123456"),  # MobiFone
        ("0835123456", "+84835123456"),  # VinaPhone
    ],
)
def test_it_accepts_other_carriers(typed, e164):
    assert normalize_vn_mobile(typed) == e164


@pytest.mark.parametrize(
    "typed",
    [
        "0236 3822 123",  # Đà Nẵng landline
        "+84 236 3822 123",  # the same landline in international form
        "090512345",  # one digit short
        "0905",  # far too short
        "0905123456789",  # too long
        "09051234a6",  # a letter
        "0905 123 45b",
        "+12025550123",  # a US number
        "1900 1234",  # a hotline
        "",
        "   ",
    ],
)
def test_it_rejects_what_is_not_a_vietnamese_mobile_with_the_vietnamese_message(typed):
    with pytest.raises(ValidationError) as caught:
        normalize_vn_mobile(typed)

    assert caught.value.code == "invalid_phone"
    assert caught.value.messages == [VN_MESSAGE]


def test_it_rejects_none():
    with pytest.raises(ValidationError):
        normalize_vn_mobile(None)  # type: ignore[arg-type]


def test_it_displays_a_stored_number_as_people_write_it():
    assert display_vn_phone("+84905123456") == "0905 123 456"


def test_it_round_trips_display_and_normalisation():
    assert normalize_vn_mobile(display_vn_phone("+84865123456")) == "+84865123456"


def test_it_displays_an_unparseable_value_unchanged():
    assert display_vn_phone("not a number") == "not a number"
