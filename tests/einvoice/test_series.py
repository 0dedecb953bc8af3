"""Series (ký hiệu) validation and the cash-register prefix."""

from __future__ import annotations

import pytest

from core.errors import Conflict, ValidationFailed
from einvoice import services
from einvoice.numbering import register_code

from .conftest import seller

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("form", "symbol"),
    [("1", "C26TAA"), ("2", "C26MAB"), ("1", "K26TYY"), ("2", "c26hab"), ("1", "C25GAB")],
)
def test_it_accepts_valid_series(form, symbol):
    series = services.series_create(merchant=seller(), form=form, symbol=symbol)
    assert series.symbol == symbol.upper()


@pytest.mark.parametrize(
    ("form", "symbol", "field"),
    [
        ("3", "C26TAA", "form"),
        ("1", "X26TAA", "symbol"),
        ("1", "C2XTAA", "symbol"),
        ("1", "C26ZAA", "symbol"),
        ("1", "C26HAA", "symbol"),  # H is for sales invoices
        ("2", "C26GAA", "symbol"),  # G is for VAT invoices
        ("1", "C26TA", "symbol"),
        ("1", "C26TA1", "symbol"),
        ("2", "K26MAB", "symbol"),  # cash-register invoices carry a code: C
        ("2", "C26NAB", "symbol"),  # delivery notes are not invoices
    ],
)
def test_it_refuses_bad_series(form, symbol, field):
    with pytest.raises(ValidationFailed) as caught:
        services.series_create(merchant=seller(), form=form, symbol=symbol)
    assert field in caught.value.fields


def test_a_series_is_unique_per_merchant_and_a_prefix_per_form():
    merchant = seller()
    services.series_create(merchant=merchant, form="2", symbol="C26MAB", register_prefix="a1b2c")
    with pytest.raises(Conflict):
        services.series_create(merchant=merchant, form="2", symbol="C26MAB")
    with pytest.raises(Conflict):
        services.series_create(
            merchant=seller(), form="2", symbol="C26MXY", register_prefix="A1B2C"
        )


def test_it_sets_the_register_prefix_given_by_the_gateway():
    merchant = seller()
    series = services.series_create(merchant=merchant, form="2", symbol="C26MAB")
    assert series.register_prefix is None
    series = services.series_set_register_prefix(series=series, prefix="k9z8y")
    assert series.register_prefix == "K9Z8Y"
    with pytest.raises(ValidationFailed):
        services.series_set_register_prefix(series=series, prefix="TOO-LONG")
    plain = services.series_create(merchant=merchant, form="1", symbol="C26TAA")
    with pytest.raises(ValidationFailed):
        services.series_set_register_prefix(series=plain, prefix="ABCDE")


def test_the_register_code_has_23_characters():
    code = register_code(form="2", year=2025, prefix="A1B2C", number=1234567)
    assert code == "M2-25-A1B2C-00001234567" and len(code) == 23


def test_series_update_toggles_flags():
    series = services.series_create(merchant=seller(), form="1", symbol="C26TAA")
    series = services.series_update(series=series, auto_issue=True, is_active=False)
    assert (series.auto_issue, series.is_active) == (True, False)
