"""Explicit rounding of money on invoices: tax-inclusive amounts split into pre-tax + tax.

Stall prices include any VAT. A VAT invoice (form 1) shows each line before tax and the tax per
rate, and must still total exactly what the shopper paid. So, per tax rate, the tax of the rate's
gross total is rounded once (half up), and that whole-đồng tax is shared among the rate's lines by
the largest-remainder method (each line gets the floor of its exact share, the đồng left over go
to the lines with the largest fractions, earlier lines first on ties). A line's pre-tax amount is
its gross minus its tax, so every line, every rate and the invoice add up to the gross exactly,
and no line's tax is a whole đồng away from its exact value.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from math import floor

# Percent of each TSuat; KCT (not subject) and KKKNT (not declared) carry no tax.
RATE_PERCENT: dict[str, int] = {"KCT": 0, "KKKNT": 0, "0%": 0, "5%": 5, "8%": 8, "10%": 10}


def round_half_up(value: Fraction) -> int:
    """Half away from zero, as the tax authority rounds (−2.5 → −3)."""
    sign = -1 if value < 0 else 1
    magnitude = abs(value)
    return sign * int(
        (Decimal(magnitude.numerator) / Decimal(magnitude.denominator)).quantize(
            Decimal(1), rounding=ROUND_HALF_UP
        )
    )


def allocate(total: int, shares: Sequence[Fraction]) -> list[int]:
    """Whole đồng adding up to ``total``, each within 1 of its exact share (largest remainder).

    ``shares`` must add up to ``total`` give or take less than one đồng per share.
    """
    floors = [floor(share) for share in shares]
    left = total - sum(floors)
    if not 0 <= left <= len(shares):
        raise ValueError("shares do not add up to the total")
    order = sorted(range(len(shares)), key=lambda i: (-(shares[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def split_tax_inclusive(lines: Sequence[tuple[int, str]]) -> list[tuple[int, int]]:
    """(gross, TSuat) per line → (pre-tax, tax) per line, with pre-tax + tax == gross.

    Per rate, the taxes add up to round_half_up(Σ gross × r / (100 + r)). Amounts may be
    negative (a discount or an adjustment that lowers the invoice).
    """
    result: list[tuple[int, int]] = [(gross, 0) for gross, _rate in lines]
    by_rate: dict[str, list[int]] = {}
    for index, (_gross, rate) in enumerate(lines):
        by_rate.setdefault(rate, []).append(index)
    for rate, indexes in by_rate.items():
        percent = RATE_PERCENT[rate]
        if not percent:
            continue
        exact = [Fraction(lines[i][0] * percent, 100 + percent) for i in indexes]
        taxes = allocate(round_half_up(sum(exact, Fraction(0))), exact)
        for i, tax in zip(indexes, taxes, strict=True):
            result[i] = (lines[i][0] - tax, tax)
    return result
