"""Stall codes as traders type them ("a12", "A 12") become the code painted on the stall."""

from __future__ import annotations

import pytest

from core.errors import ValidationFailed
from market.stalls.services import normalize_stall_code


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("a12", "A-12"),
        ("A 12", "A-12"),
        ("a-12", "A-12"),
        ("A-12", "A-12"),
        ("  b 3 ", "B-3"),
        ("ab_7", "AB-7"),
        ("kio1", "KIO-1"),
        ("c-1234", "C-1234"),
    ],
)
def test_it_normalises_a_typed_stall_code(typed, code) -> None:
    assert normalize_stall_code(typed) == code


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "   ",
        "12",
        "A",
        "A-",
        "-12",
        "A--12",
        "ABCD-1",
        "A-12345",
        "12A",
        "A-12B",
        "Á-12",
        "A.12",
    ],
)
def test_it_rejects_what_is_not_a_zone_and_a_number(junk) -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalize_stall_code(junk)

    assert list(caught.value.fields) == ["code"]
