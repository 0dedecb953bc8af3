import random
import unicodedata
from decimal import Decimal

import pytest

from core.vnwords import MAX_AMOUNT, amount_in_words, number_to_words, spoken_amount

# Expected values written by hand in the formal invoice style (see core/vnwords.py).
UNITS_AND_TENS = [
    (0, "không"),
    (1, "một"),
    (4, "bốn"),
    (5, "năm"),
    (9, "chín"),
    (10, "mười"),
    (11, "mười một"),
    (14, "mười bốn"),
    (15, "mười lăm"),
    (19, "mười chín"),
    (20, "hai mươi"),
    (21, "hai mươi mốt"),
    (24, "hai mươi bốn"),
    (25, "hai mươi lăm"),
    (31, "ba mươi mốt"),
    (44, "bốn mươi bốn"),
    (50, "năm mươi"),
    (55, "năm mươi lăm"),
    (71, "bảy mươi mốt"),
    (99, "chín mươi chín"),
]

HUNDREDS = [
    (100, "một trăm"),
    (101, "một trăm linh một"),
    (104, "một trăm linh bốn"),
    (105, "một trăm linh năm"),
    (110, "một trăm mười"),
    (111, "một trăm mười một"),
    (114, "một trăm mười bốn"),
    (115, "một trăm mười lăm"),
    (121, "một trăm hai mươi mốt"),
    (125, "một trăm hai mươi lăm"),
    (205, "hai trăm linh năm"),
    (500, "năm trăm"),
    (999, "chín trăm chín mươi chín"),
]

THOUSANDS = [
    (1_000, "một nghìn"),
    (1_001, "một nghìn không trăm linh một"),
    (1_005, "một nghìn không trăm linh năm"),
    (1_010, "một nghìn không trăm mười"),
    (1_015, "một nghìn không trăm mười lăm"),
    (1_020, "một nghìn không trăm hai mươi"),
    (1_100, "một nghìn một trăm"),
    (1_500, "một nghìn năm trăm"),
    (2_024, "hai nghìn không trăm hai mươi bốn"),
    (10_000, "mười nghìn"),
    (15_000, "mười lăm nghìn"),
    (20_050, "hai mươi nghìn không trăm năm mươi"),
    (21_000, "hai mươi mốt nghìn"),
    (35_000, "ba mươi lăm nghìn"),
    (45_500, "bốn mươi lăm nghìn năm trăm"),
    (100_000, "một trăm nghìn"),
    (105_000, "một trăm linh năm nghìn"),
    (110_500, "một trăm mười nghìn năm trăm"),
    (115_000, "một trăm mười lăm nghìn"),
    (150_000, "một trăm năm mươi nghìn"),
    (999_999, "chín trăm chín mươi chín nghìn chín trăm chín mươi chín"),
]

MILLIONS = [
    (1_000_000, "một triệu"),
    (1_000_001, "một triệu không trăm linh một"),
    (1_000_050, "một triệu không trăm năm mươi"),
    (1_000_500, "một triệu năm trăm"),
    (1_005_000, "một triệu không trăm linh năm nghìn"),
    (1_020_000, "một triệu không trăm hai mươi nghìn"),
    (1_250_000, "một triệu hai trăm năm mươi nghìn"),
    (1_500_000, "một triệu năm trăm nghìn"),
    (10_000_000, "mười triệu"),
    (12_345_678, "mười hai triệu ba trăm bốn mươi lăm nghìn sáu trăm bảy mươi tám"),
    (21_000_000, "hai mươi mốt triệu"),
]

BILLIONS = [
    (1_000_000_000, "một tỷ"),
    (1_000_000_001, "một tỷ không trăm linh một"),
    (1_000_001_000, "một tỷ không trăm linh một nghìn"),
    (1_001_000_000, "một tỷ không trăm linh một triệu"),
    (2_000_000_005, "hai tỷ không trăm linh năm"),
    (2_500_000_000, "hai tỷ năm trăm triệu"),
    (15_000_000_000, "mười lăm tỷ"),
    (1_000_000_000_000, "một nghìn tỷ"),
    (1_000_000_000_001, "một nghìn tỷ không trăm linh một"),
    # A thousand tỷ and more is read as a count of tỷ, "tỷ" said once.
    (1_500_000_000_000, "một nghìn năm trăm tỷ"),
    (1_005_000_000_000, "một nghìn không trăm linh năm tỷ"),
    (
        1_234_567_890_123,
        "một nghìn hai trăm ba mươi bốn tỷ năm trăm sáu mươi bảy triệu"
        " tám trăm chín mươi nghìn một trăm hai mươi ba",
    ),
    (100_000_000_000_000, "một trăm nghìn tỷ"),
    (999_000_000_000_000, "chín trăm chín mươi chín nghìn tỷ"),
    (
        999_999_999_999_999,
        "chín trăm chín mươi chín nghìn chín trăm chín mươi chín tỷ"
        " chín trăm chín mươi chín triệu chín trăm chín mươi chín nghìn"
        " chín trăm chín mươi chín",
    ),
]

ALL_CASES = UNITS_AND_TENS + HUNDREDS + THOUSANDS + MILLIONS + BILLIONS


@pytest.mark.parametrize(("n", "expected"), UNITS_AND_TENS)
def test_it_reads_units_and_tens(n, expected):
    assert number_to_words(n) == expected


@pytest.mark.parametrize(("n", "expected"), HUNDREDS)
def test_it_reads_hundreds_with_linh_for_a_zero_tens_digit(n, expected):
    assert number_to_words(n) == expected


@pytest.mark.parametrize(("n", "expected"), THOUSANDS)
def test_it_reads_thousands_with_khong_tram_in_non_leading_groups(n, expected):
    assert number_to_words(n) == expected


@pytest.mark.parametrize(("n", "expected"), MILLIONS)
def test_it_reads_millions_skipping_all_zero_groups(n, expected):
    assert number_to_words(n) == expected


@pytest.mark.parametrize(("n", "expected"), BILLIONS)
def test_it_reads_ty_and_nghin_ty(n, expected):
    assert number_to_words(n) == expected


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "Không đồng"),
        (1, "Một đồng"),
        (15, "Mười lăm đồng"),
        (2_024, "Hai nghìn không trăm hai mươi bốn đồng"),
        (150_000, "Một trăm năm mươi nghìn đồng"),
        (800_000, "Tám trăm nghìn đồng"),
        (1_005_000, "Một triệu không trăm linh năm nghìn đồng"),
        (1_000_000_000, "Một tỷ đồng"),
    ],
)
def test_it_writes_the_invoice_form_capitalised_with_dong(n, expected):
    assert amount_in_words(n) == expected


def test_it_capitalises_mot_as_mot_with_its_diacritic_intact():
    assert amount_in_words(1_005_000).split()[0] == "Một"
    assert amount_in_words(1).startswith("Một ")


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (0, "không đồng"),
        (25_000, "hai mươi lăm nghìn đồng"),
        (150_000, "một trăm năm mươi nghìn đồng"),
        (1_020_000, "một triệu không trăm hai mươi nghìn đồng"),
    ],
)
def test_it_speaks_the_amount_in_lowercase_with_dong(n, expected):
    assert spoken_amount(n) == expected


@pytest.mark.parametrize(("n", "expected"), ALL_CASES)
def test_it_keeps_the_three_forms_consistent(n, expected):
    assert spoken_amount(n) == f"{expected} đồng"
    assert amount_in_words(n) == f"{expected[0].upper()}{expected[1:]} đồng"


@pytest.mark.parametrize(("n", "expected"), ALL_CASES)
def test_it_outputs_nfc_normalised_text(n, expected):
    assert unicodedata.is_normalized("NFC", expected)  # the table itself is NFC
    for text in (number_to_words(n), spoken_amount(n), amount_in_words(n)):
        assert unicodedata.is_normalized("NFC", text)


@pytest.mark.parametrize(
    ("n", "message"),
    [
        (-1, "must not be negative"),
        (-1_000, "must not be negative"),
        (MAX_AMOUNT + 1, "must be at most 999_999_999_999_999"),
        (10**18, "must be at most 999_999_999_999_999"),
    ],
)
def test_it_rejects_out_of_range_amounts(n, message):
    for function in (number_to_words, spoken_amount, amount_in_words):
        with pytest.raises(ValueError, match=message):
            function(n)


@pytest.mark.parametrize("n", [1.0, 150_000.0, float("nan"), True, False, "1000", None])
def test_it_rejects_non_integers(n):
    for function in (number_to_words, spoken_amount, amount_in_words):
        with pytest.raises(TypeError, match="must be an int"):
            function(n)


def test_it_rejects_decimal_amounts():
    with pytest.raises(TypeError):
        number_to_words(Decimal("1000"))


def test_it_accepts_the_maximum_amount():
    assert MAX_AMOUNT == 999_999_999_999_999
    assert number_to_words(MAX_AMOUNT).endswith("chín trăm chín mươi chín")


_DIGIT_VALUES = {
    "không": 0,
    "một": 1,
    "mốt": 1,
    "hai": 2,
    "ba": 3,
    "bốn": 4,
    "năm": 5,
    "lăm": 5,
    "sáu": 6,
    "bảy": 7,
    "tám": 8,
    "chín": 9,
}


def _read_back(text):
    """An independent reader of the words, used to check the writer round-trips."""
    total = section = group = digit = 0
    for word in text.split(" "):
        if word in _DIGIT_VALUES:
            digit = _DIGIT_VALUES[word]
        elif word == "trăm":
            group, digit = group + digit * 100, 0
        elif word == "mươi":
            group, digit = group + digit * 10, 0
        elif word == "mười":
            group += 10
        elif word == "linh":
            pass
        elif word in ("nghìn", "triệu"):
            section += (group + digit) * (1_000 if word == "nghìn" else 1_000_000)
            group = digit = 0
        elif word == "tỷ":
            total = (section + group + digit) * 1_000_000_000
            section = group = digit = 0
        else:
            raise AssertionError(f"unexpected word {word!r} in {text!r}")
    return total + section + group + digit


def test_it_round_trips_through_an_independent_reader():
    rng = random.Random(2024)
    samples = list(range(0, 2_100))
    samples += [rng.randrange(10**k) for k in range(4, 16) for _ in range(300)]
    samples += [n for n, _ in ALL_CASES]
    for n in samples:
        text = number_to_words(n)
        assert "  " not in text and text == text.strip()
        assert not text.startswith("không") or n == 0
        assert _read_back(text) == n, (n, text)


def test_it_never_says_mot_after_muoi_nor_lam_without_tens():
    for n in range(0, 100_000):
        words = number_to_words(n).split()
        for before, word in zip(["", *words[:-1]], words, strict=True):
            if word == "mốt":
                assert before == "mươi", n
            if word == "lăm":
                assert before in ("mười", "mươi"), n
            if word == "linh":
                assert before == "trăm", n
