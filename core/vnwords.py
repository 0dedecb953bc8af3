"""Integer VND amounts in Vietnamese words, as written on e-invoices and spoken aloud.

A legal e-invoice (Nghị định 123/2020/NĐ-CP, Thông tư 78/2021/TT-BTC) carries the total
"bằng chữ". This module writes it in the formal style accountants use, and the same words
are what the trader's phone speaks when a payment arrives.

Convention (northern / formal, the usual invoice style):

* Digits: không, một, hai, ba, bốn, năm, sáu, bảy, tám, chín.
* The number is read in groups of three digits with the units "nghìn" (10^3),
  "triệu" (10^6) and "tỷ" (10^9). "nghìn" is used, not the southern "ngàn"; "tỷ", not "tỉ".
* Amounts of a thousand tỷ or more are read as a count of tỷ, so 10^12 is "một nghìn tỷ"
  and 1_500_000_000_000 is "một nghìn năm trăm tỷ" (not "một nghìn tỷ năm trăm tỷ").
* Groups that are entirely zero are skipped: 1_000_000 is "một triệu",
  1_000_500 is "một triệu năm trăm".
* Every group after the first spoken one is read in full: a zero hundreds digit is
  "không trăm" (2_024 is "hai nghìn không trăm hai mươi bốn", 1_000_050 is
  "một triệu không trăm năm mươi"). The leading group never says "không trăm".
* A zero tens digit before a non-zero unit, once hundreds have been said, is "linh"
  (not "lẻ"): 101 is "một trăm linh một", 1_005_000 is
  "một triệu không trăm linh năm nghìn".
* Tens: 10 to 19 are "mười", "mười một", ..., "mười lăm", ...; 20 and above use "mươi":
  "hai mươi", "hai mươi mốt".
* Unit after a non-zero tens digit: 1 is "mốt" only after tens >= 2 ("mười một" but
  "hai mươi mốt"); 5 is "lăm" after any non-zero tens ("mười lăm", "hai mươi lăm", but
  "một trăm linh năm"); 4 is always "bốn" ("hai mươi bốn"): the alternative "tư" is
  colloquial and regional, and "bốn" is unambiguous on an invoice and for a
  text-to-speech voice.

Why not num2words: its ``vi`` output is wrong for invoices, e.g. it writes 2024 as
"hai nghìn lẻ hai mươi bốn" (it should be "hai nghìn không trăm hai mươi bốn").

Money is never a float: only ``int`` is accepted (``bool`` is refused too). All output
is NFC-normalised Unicode.
"""

from __future__ import annotations

__all__ = ["MAX_AMOUNT", "amount_in_words", "number_to_words", "spoken_amount"]

MAX_AMOUNT = 999_999_999_999_999
"""The largest amount supported: just under a million tỷ."""

_DIGITS = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_BILLION = 1_000_000_000
_CURRENCY = "đồng"


def _check(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"amount must be an int (VND, never float), got {type(n).__name__}")
    if n < 0:
        raise ValueError(f"amount must not be negative, got {n}")
    if n > MAX_AMOUNT:
        raise ValueError(f"amount must be at most {MAX_AMOUNT:_}, got {n:_}")
    return n


def _group_words(group: int, full: bool) -> list[str]:
    """Words for a non-zero group of three digits.

    ``full`` is False only for the leading group, whose zero hundreds (and, below
    ten, zero tens) are not spoken.
    """
    hundreds, rest = divmod(group, 100)
    tens, unit = divmod(rest, 10)
    words: list[str] = []
    if full or hundreds:
        words += [_DIGITS[hundreds], "trăm"]
    if tens == 0:
        if unit:
            if words:
                words.append("linh")
            words.append(_DIGITS[unit])
    elif tens == 1:
        words.append("mười")
        if unit:
            words.append("lăm" if unit == 5 else _DIGITS[unit])
    else:
        words += [_DIGITS[tens], "mươi"]
        if unit == 1:
            words.append("mốt")
        elif unit == 5:
            words.append("lăm")
        elif unit:
            words.append(_DIGITS[unit])
    return words


def _below_billion_words(n: int, leading: bool) -> list[str]:
    """Words for 0 < n < 10^9; ``leading`` if nothing has been spoken before it."""
    words: list[str] = []
    started = not leading
    for scale, unit_word in ((1_000_000, "triệu"), (1_000, "nghìn"), (1, "")):
        group = (n // scale) % 1000
        if group == 0:
            continue
        words += _group_words(group, full=started)
        if unit_word:
            words.append(unit_word)
        started = True
    return words


def number_to_words(n: int) -> str:
    """Lowercase Vietnamese words for ``0 <= n <= MAX_AMOUNT``.

    >>> number_to_words(2_024)
    'hai nghìn không trăm hai mươi bốn'
    >>> number_to_words(1_005_000)
    'một triệu không trăm linh năm nghìn'

    Raises TypeError for anything but an int (bool and float included) and ValueError
    for negative or too large numbers.
    """
    n = _check(n)
    if n == 0:
        return _DIGITS[0]
    billions, rest = divmod(n, _BILLION)
    words: list[str] = []
    if billions:
        words += _below_billion_words(billions, leading=True)
        words.append("tỷ")
    if rest:
        words += _below_billion_words(rest, leading=not billions)
    return " ".join(words)


def spoken_amount(n: int) -> str:
    """The phrase the phone speaks, e.g. ``'một trăm năm mươi nghìn đồng'``."""
    return f"{number_to_words(n)} {_CURRENCY}"


def amount_in_words(n: int) -> str:
    """The invoice form, e.g. ``'Một triệu không trăm linh năm nghìn đồng'``."""
    words = spoken_amount(n)
    return words[0].upper() + words[1:]
