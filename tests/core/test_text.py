"""Vietnamese text helpers: NFC storage, diacritic-free search keys, bank-style holder names."""

from __future__ import annotations

import unicodedata

import pytest
from django.core.exceptions import ValidationError

from core.text import ascii_upper, check_text, nfc, parse_digits, search_key, text_is_clean


def _nfd(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    assert decomposed != text  # the input really is decomposed
    return decomposed


def test_it_composes_decomposed_text():
    assert nfc(_nfd("Cà phê Đà Nẵng")) == unicodedata.normalize("NFC", "Cà phê Đà Nẵng")
    assert unicodedata.is_normalized("NFC", nfc(_nfd("Nguyễn Thị Lan")))


def test_it_trims_and_collapses_whitespace():
    assert nfc("  Cá   thu\t\nmột nắng ") == "Cá thu một nắng"


def test_it_treats_none_as_empty():
    assert nfc(None) == ""  # type: ignore[arg-type]
    assert search_key(None) == ""  # type: ignore[arg-type]


def test_it_makes_a_lowercase_ascii_search_key():
    assert search_key("Cà phê Đà Nẵng") == "ca phe da nang"
    assert search_key("  CÁ   THU ") == "ca thu"


def test_it_gives_the_same_search_key_for_composed_and_decomposed_text():
    assert search_key(_nfd("Bánh tráng cuốn thịt heo")) == search_key("Bánh tráng cuốn thịt heo")


def test_it_writes_holder_names_as_banks_do():
    assert ascii_upper("Nguyễn Thị Lan") == "NGUYEN THI LAN"
    assert ascii_upper(_nfd("  Đặng   Văn Ơn ")) == "DANG VAN ON"


# --- what text from outside may hold (issue 13) --------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["Cá thu một nắng", "Đà Nẵng 😀", "giá 180.000đ/kg", "", "ﬁ ① ²", "A-12 (góc chợ)"],
)
def test_ordinary_text_is_clean_on_one_line_and_several(text):
    assert text_is_clean(text)
    assert text_is_clean(text, multiline=True)


@pytest.mark.parametrize(
    "text",
    ["\x00", "a\x00b", "\x07", "\x1b[31m", "\x7f", "\x85", "\x9f", "\ud800", "\udfff", "\ufffe"],
)
def test_nul_control_characters_and_lone_surrogates_are_never_clean(text):
    assert not text_is_clean(text)
    assert not text_is_clean(text, multiline=True)
    with pytest.raises(ValidationError) as caught:
        check_text(text, multiline=True)
    assert caught.value.code == "invalid_characters"


@pytest.mark.parametrize("text", ["hai\ndòng", "a\tb", "Windows\r\nline"])
def test_tab_and_line_breaks_belong_to_multi_line_text_only(text):
    assert text_is_clean(text, multiline=True)
    assert not text_is_clean(text)


def test_check_text_leaves_what_is_not_text_to_other_validators():
    check_text(None)
    check_text(12)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("150000", 150_000),
        ("0", 0),
        ("", None),
        (None, None),
        ("²", None),
        ("١٢٣", None),
        ("12a", None),
        ("-5", None),
        ("9" * 19, None),
        ("9" * 18, 10**18 - 1),
    ],
)
def test_parse_digits_takes_plain_ascii_digits_only(text, expected):
    assert parse_digits(text) == expected
