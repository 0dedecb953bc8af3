"""Invoice totals as a table: lines in, per-rate groups, totals and words out (no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import ValidationFailed
from einvoice.totals import totals_compute
from einvoice.types import LineInput

VAT, SALES = "1", "2"


def goods(amount: int, rate: str = "10%", **kw: object) -> LineInput:
    return LineInput(name="Cá thu", amount=amount, tax_rate=rate, **kw)  # type: ignore[arg-type]


def discount(amount: int, rate: str = "10%") -> LineInput:
    return LineInput(name="Chiết khấu", amount=amount, tax_rate=rate, kind="discount")


CASES = [
    # (what, lines, form, inclusive, rate groups, before tax, tax, discount, payable, words)
    (
        "one VAT line",
        [goods(100_000)],
        VAT,
        False,
        [("10%", 100_000, 10_000)],
        100_000,
        10_000,
        0,
        110_000,
        "Một trăm mười nghìn đồng",
    ),
    (
        "a sales invoice carries no tax",
        [goods(100_000)],
        SALES,
        False,
        [("10%", 100_000, 0)],
        100_000,
        0,
        0,
        100_000,
        "Một trăm nghìn đồng",
    ),
    (
        "tax is rounded half up at each line, totals are sums of rounded lines",
        [goods(5), goods(5), goods(1_045, "8%")],
        VAT,
        False,
        [("8%", 1_045, 84), ("10%", 10, 2)],
        1_055,
        86,
        0,
        1_141,
        "Một nghìn một trăm bốn mươi mốt đồng",
    ),
    (
        "a discount is taken off its rate group",
        [goods(200_000), discount(20_000)],
        VAT,
        False,
        [("10%", 180_000, 18_000)],
        180_000,
        18_000,
        20_000,
        198_000,
        "Một trăm chín mươi tám nghìn đồng",
    ),
    (
        "rate groups come in the tax authority's order; a note counts nothing",
        [
            goods(30_000, "10%"),
            LineInput(name="Giao tại sạp", kind="note"),
            goods(20_000, "5%"),
            goods(10_000, "KCT"),
        ],
        VAT,
        False,
        [("KCT", 10_000, 0), ("5%", 20_000, 1_000), ("10%", 30_000, 3_000)],
        60_000,
        4_000,
        0,
        64_000,
        "Sáu mươi bốn nghìn đồng",
    ),
    (
        "tax-inclusive prices split so the invoice totals what the shopper paid",
        [goods(108_000, "8%")],
        VAT,
        True,
        [("8%", 100_000, 8_000)],
        100_000,
        8_000,
        0,
        108_000,
        "Một trăm linh tám nghìn đồng",
    ),
    (
        "quantity × unit price, rounded half up to the đồng",
        [goods(63_000, quantity=Decimal("0.350"), unit_price=180_000)],
        SALES,
        False,
        [("10%", 63_000, 0)],
        63_000,
        0,
        0,
        63_000,
        "Sáu mươi ba nghìn đồng",
    ),
]


@pytest.mark.parametrize(
    ("lines", "form", "inclusive", "groups", "before", "tax", "disc", "payable", "words"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_it_computes_totals(lines, form, inclusive, groups, before, tax, disc, payable, words):
    totals = totals_compute(lines, form=form, signed=False, prices_include_tax=inclusive)
    assert [(g.tax_rate, g.amount, g.tax) for g in totals.rate_totals] == groups
    assert totals.before_tax == before
    assert totals.tax == tax
    assert totals.discount == disc
    assert totals.payable == payable
    assert totals.words == words
    assert sum(line.amount + line.tax_amount for line in totals.lines) == payable


def test_it_words_a_lowering_adjustment():
    totals = totals_compute([goods(-10_000)], form=VAT, signed=True)
    assert totals.payable == -11_000
    assert totals.words == "Điều chỉnh giảm mười một nghìn đồng"


REFUSED = [
    ("no lines", [], "lines"),
    ("only a note", [LineInput(name="Ghi chú", kind="note")], "lines"),
    ("negative amount", [goods(-1)], "lines.0.amount"),
    ("unknown rate", [goods(1_000, "7%")], "lines.0.tax_rate"),
    ("unknown kind", [LineInput(name="x", amount=1, kind="gift")], "lines.0.kind"),
    (
        "amount is not quantity × price",
        [goods(63_001, quantity=Decimal("0.350"), unit_price=180_000)],
        "lines.0.amount",
    ),
    ("quantity without price", [goods(1_000, quantity=Decimal(1))], "lines.0.quantity"),
    ("discount with a quantity", [goods(5_000), discount(0)], "lines.1.amount"),
    ("a total below zero", [goods(1_000), discount(2_000)], "lines"),
]


@pytest.mark.parametrize(
    ("lines", "field"), [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED]
)
def test_it_refuses_bad_lines_with_the_field_named(lines, field):
    with pytest.raises(ValidationFailed) as caught:
        totals_compute(lines, form=VAT, signed=False)
    assert field in caught.value.fields
