"""Vietnamese text helpers: NFC normalisation, diacritic-free search keys, and the one check of
what text may come in from outside (no NUL, no control characters, no lone surrogates)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from unidecode import unidecode

_SPACES = re.compile(r"\s+")

# Text from outside (forms, JSON, query strings) never holds NUL, C0 / DEL / C1 control
# characters, lone surrogates (a JSON "\ud800" escape) or the non-characters U+FFFE / U+FFFF:
# databases refuse NUL, UTF-8 cannot encode a surrogate, and the tax authority's XML refuses
# all of them, so one stored in a product or buyer name would make every later invoice of it
# impossible. Multi-line fields (notes, messages, reviews) may hold tab, line feed and the
# carriage return a browser's textarea sends; one-line fields (names, codes) may not.
_NOT_IN_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_NOT_IN_MULTI_LINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")

INVALID_TEXT_CODE = "invalid_characters"
INVALID_TEXT_MESSAGE: Any = _(
    "Có ký tự không hợp lệ (ký tự điều khiển, NUL hoặc xuống dòng không đúng chỗ)."
)


def text_is_clean(value: str, *, multiline: bool = False) -> bool:
    """Whether ``value`` holds only characters that text from outside may hold."""
    pattern = _NOT_IN_MULTI_LINE if multiline else _NOT_IN_ONE_LINE
    return pattern.search(value) is None


def check_text(value: Any, *, multiline: bool = False) -> None:
    """Django validator: raise ValidationError (code ``invalid_characters``) for text that is
    not clean. Non-strings pass (other validators judge them)."""
    if isinstance(value, str) and not text_is_clean(value, multiline=multiline):
        raise ValidationError(INVALID_TEXT_MESSAGE, code=INVALID_TEXT_CODE)


def check_one_line_text(value: Any) -> None:
    check_text(value, multiline=False)


def check_multi_line_text(value: Any) -> None:
    check_text(value, multiline=True)


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


def parse_digits(text: str | None, default: Any = None, *, max_digits: int = 18) -> Any:
    """A whole number typed as plain digits ("150000"), else ``default``.

    Only ASCII digits, at most ``max_digits`` of them: ``str.isdigit`` also accepts "²" or "①",
    which ``int`` then refuses (a 500), and a thousand-digit number is no amount or id.
    """
    if text and len(text) <= max_digits and text.isascii() and text.isdigit():
        return int(text)
    return default
