"""Vietnamese text helpers: NFC normalisation and diacritic-free search keys."""

from __future__ import annotations

import re
import unicodedata

from unidecode import unidecode

_SPACES = re.compile(r"\s+")


def nfc(text: str) -> str:
    """NFC-normalise and trim; collapse runs of whitespace to one space."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", text or "")).strip()


def search_key(text: str) -> str:
    """Lower-case ASCII form for diacritic-insensitive search.

    'Cà phê Đà Nẵng' -> 'ca phe da nang'.
    """
    return _SPACES.sub(" ", unidecode(nfc(text)).lower()).strip()


def ascii_upper(text: str) -> str:
    """Upper-case plain ASCII, as banks show a holder: 'Nguyễn Thị Lan' -> 'NGUYEN THI LAN'."""
    return _SPACES.sub(" ", unidecode(nfc(text)).upper()).strip()
