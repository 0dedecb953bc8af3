"""Vietnamese tax codes (MST): 10 digits with check digit, branches, 12-digit personal IDs."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from stdnum.vn import mst

from core.taxcode import is_personal_id, normalize_tax_code
from tests.factories import enterprise_tax_code


def _with_wrong_check_digit(code: str) -> str:
    good = int(code[9])
    return code[:9] + str((good + 1) % 10)


def test_it_accepts_a_ten_digit_code_with_its_check_digit():
    base = "040123456"
    code = base + mst.calc_check_digit(base)

    assert normalize_tax_code(code) == code == "0401234566"


def test_it_accepts_codes_from_the_test_helper():
    for n in range(20):
        code = enterprise_tax_code(n)
        assert normalize_tax_code(code) == code


@pytest.mark.parametrize("typed", ["0401 234 566", "0401.234.566", " 0401234566 "])
def test_it_strips_spaces_and_dots(typed):
    assert normalize_tax_code(typed) == "0401234566"


@pytest.mark.parametrize("typed", ["0401234566-001", "0401234566001", "0401234566 - 001"])
def test_it_writes_a_branch_code_as_ten_digits_dash_three(typed):
    assert normalize_tax_code(typed) == "0401234566-001"


def test_it_rejects_a_branch_of_a_code_with_a_bad_check_digit():
    with pytest.raises(ValidationError):
        normalize_tax_code(_with_wrong_check_digit("0401234566") + "-001")


def test_it_rejects_a_bad_check_digit():
    with pytest.raises(ValidationError) as caught:
        normalize_tax_code(_with_wrong_check_digit("0401234566"))

    assert caught.value.code == "invalid_tax_code"


@pytest.mark.parametrize("province", ["001", "048", "079", "096"])
def test_it_accepts_a_twelve_digit_personal_id_from_province_001_to_096(province):
    personal = f"{province}090000123"

    assert normalize_tax_code(personal) == personal
    assert is_personal_id(personal)


@pytest.mark.parametrize("province", ["000", "097", "099"])
def test_it_rejects_a_twelve_digit_id_outside_the_province_range(province):
    personal = f"{province}090000123"

    with pytest.raises(ValidationError) as caught:
        normalize_tax_code(personal)

    assert caught.value.code == "invalid_personal_id"
    assert not is_personal_id(personal)


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "12345",
        "040123456",  # nine digits
        "04012345661",  # eleven digits
        "0481000000011",  # thirteen digits that are not a branch
        "0401234566-01",  # branch with two digits
        "04012345660001",  # fourteen digits
        "abcdefghij",
        "040123456X",
    ],
)
def test_it_rejects_wrong_lengths_and_letters(typed):
    with pytest.raises(ValidationError):
        normalize_tax_code(typed)
