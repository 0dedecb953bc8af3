"""Vietnamese text helpers: NFC storage, diacritic-free search keys, bank-style holder names."""

from __future__ import annotations

import unicodedata

from core.text import ascii_upper, nfc, search_key


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
