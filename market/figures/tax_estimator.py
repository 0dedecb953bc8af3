"""The household-tax estimator (ước tính thuế hộ kinh doanh): pure, no Django, no database;
money is ``int`` đồng, rates are ``Decimal`` percent. The numbers it uses are the rules table
in ``market.figures.tax_rules`` (its docstring says how the estimate is computed)."""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

from .tax_rules import (
    RULE_SETS,
    Confidence,
    Rule,
    TaxRuleSet,
    rule_set_for_year,
)

T_co = TypeVar("T_co", covariant=True)

# ---------------------------------------------------------------------------------------------
# The estimate
# ---------------------------------------------------------------------------------------------

ESTIMATE_LABEL = "ƯỚC TÍNH — không phải thông báo thuế; số phải nộp do cơ quan thuế xác định."


class QuarterStatus(enum.StrEnum):
    CLOSED = "closed"  # every month is actual
    IN_PROGRESS = "in_progress"  # some months actual, the rest projected
    PROJECTED = "projected"  # no month elapsed yet


@dataclass(frozen=True)
class QuarterEstimate:
    quarter: int
    months: tuple[int, int, int]
    status: QuarterStatus
    # Actual months only (months after the last given month count 0).
    revenue: int
    vat: int
    pit: int
    # Actual months plus the run-rate for the months not yet elapsed.
    projected_revenue: int
    projected_vat: int
    projected_pit: int

    @property
    def total(self) -> int:
        return self.vat + self.pit

    @property
    def projected_total(self) -> int:
        return self.projected_vat + self.projected_pit


@dataclass(frozen=True)
class ProfitMethodInfo:
    """The profit-based PIT alternative for the projected annual revenue (not computed)."""

    band: int  # 1-based index into the rule set's profit_bands
    rate: Decimal
    revenue_method_allowed: bool
    # The profit method is cheaper when the year's profit (revenue − expenses) is below this.
    break_even_profit: int | None


@dataclass(frozen=True)
class TaxEstimate:
    is_estimate: bool
    label: str
    rule_set: TaxRuleSet
    sector: str
    sector_label: str
    vat_rate: Decimal
    pit_rate: Decimal
    year: int
    months_elapsed: int
    revenue_by_month: tuple[int, ...]  # Jan … last month given
    revenue_ytd: int
    threshold: int
    threshold_crossed: bool
    threshold_crossed_month: int | None
    vat_ytd: int
    pit_ytd: int
    projection_method: str
    projected_revenue: int
    projected_threshold_crossed: bool
    projected_crossing_month: int | None
    projected_vat: int
    projected_pit: int
    quarters: tuple[QuarterEstimate, ...]
    profit_method: ProfitMethodInfo | None
    explanation: tuple[str, ...]

    @property
    def rule_set_version(self) -> str:
        return self.rule_set.version

    @property
    def total_ytd(self) -> int:
        return self.vat_ytd + self.pit_ytd

    @property
    def projected_total(self) -> int:
        return self.projected_vat + self.projected_pit

    def sources(self) -> tuple[tuple[str, str, str], ...]:
        """(rule name, source, "[V]"/"[L]"/"[U]") for every rule of the rule set used."""
        return tuple((name, r.source, r.confidence.marker) for name, r in self.rule_set.rules())


def round_half_up(x: Fraction) -> int:
    """Round to a whole đồng, halves away from zero (0,5 → 1; never banker's rounding)."""
    if x >= 0:
        return math.floor(x + Fraction(1, 2))
    return -math.floor(-x + Fraction(1, 2))


def format_vnd(amount: int) -> str:
    """800000000 → "800.000.000 đ" (same as core.templatetags.money, without Django)."""
    sign = "−" if amount < 0 else ""
    return f"{sign}{abs(amount):,}".replace(",", ".") + " đ"


def format_rate(rate: Decimal) -> str:
    """Decimal("0.5") → "0,5%"; Decimal("10") → "10%"."""
    text = format(rate.normalize(), "f")
    return text.replace(".", ",") + "%"


def _check_money(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int number of đồng, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{what} must not be negative (got {value})")
    return value


def _months(revenue_by_month: Mapping[int, int] | Sequence[int]) -> list[int]:
    """Revenue for January … the last month given, as a list of ints."""
    if isinstance(revenue_by_month, Mapping):
        months = [0] * 12
        last = 0
        for month, amount in revenue_by_month.items():
            if isinstance(month, bool) or not isinstance(month, int):
                raise TypeError(f"month keys must be int 1–12, not {type(month).__name__}")
            if not 1 <= month <= 12:
                raise ValueError(f"month must be 1–12 (got {month})")
            months[month - 1] = _check_money(amount, f"revenue of month {month}")
            last = max(last, month)
        return months[:last]
    if isinstance(revenue_by_month, str | bytes) or not isinstance(revenue_by_month, Sequence):
        raise TypeError("revenue_by_month must be a dict {month: VND} or a list Jan…")
    if len(revenue_by_month) > 12:
        raise ValueError(f"at most 12 months (got {len(revenue_by_month)})")
    return [_check_money(a, f"revenue of month {i}") for i, a in enumerate(revenue_by_month, 1)]


def estimate_household_tax(
    *,
    sector: str,
    revenue_by_month: dict[int, int] | list[int],
    year: int,
    rules: TaxRuleSet | Sequence[TaxRuleSet] | None = None,
) -> TaxEstimate:
    """Estimate a household business's VAT and PIT (revenue method) for ``year``.

    ``revenue_by_month``: ``{month: VND}`` or a list starting in January; the last month given
    is taken as the last month elapsed. ``rules``: a rule set, a table of them, or None for
    ``RULE_SETS``; the version in force on 1 January of ``year`` is used.
    """
    if isinstance(year, bool) or not isinstance(year, int):
        raise TypeError(f"year must be an int, not {type(year).__name__}")
    if isinstance(rules, TaxRuleSet):
        rs = rule_set_for_year(year, (rules,))
    else:
        rs = rule_set_for_year(year, RULE_SETS if rules is None else rules)
    if sector not in rs.sectors:
        raise ValueError(
            f"unknown sector {sector!r} for household-tax rules {rs.version}; "
            f"expected one of: {', '.join(sorted(rs.sectors))}"
        )
    rates = rs.sectors[sector]
    vat_rate, pit_rate = rates.vat_rate.value, rates.pit_rate.value
    threshold = rs.exemption_threshold.value
    actual = _months(revenue_by_month)
    n = len(actual)
    ytd = sum(actual)

    def vat_on(revenue: Fraction) -> Fraction:
        if revenue <= threshold:
            return Fraction(0)
        base = revenue - threshold if rs.vat_deducts_threshold.value else revenue
        return base * Fraction(vat_rate) / 100

    def pit_on(revenue: Fraction) -> Fraction:
        if revenue <= threshold:
            return Fraction(0)
        base = revenue - threshold if rs.pit_deducts_threshold.value else revenue
        return base * Fraction(pit_rate) / 100

    run_rate = Fraction(ytd, n) if n else Fraction(0)

    def cum_actual(month: int) -> Fraction:
        return Fraction(sum(actual[: min(month, n)]))

    def cum_projected(month: int) -> Fraction:
        return cum_actual(month) + run_rate * max(0, month - n)

    def first_month_over(cum: Callable[[int], Fraction], last: int) -> int | None:
        return next((m for m in range(1, last + 1) if cum(m) > threshold), None)

    quarters = []
    for q in range(1, 5):
        start, end = 3 * q - 2, 3 * q
        status = (
            QuarterStatus.CLOSED
            if end <= n
            else QuarterStatus.PROJECTED
            if start > n
            else QuarterStatus.IN_PROGRESS
        )
        a0, a1 = cum_actual(start - 1), cum_actual(end)
        p0, p1 = cum_projected(start - 1), cum_projected(end)
        quarters.append(
            QuarterEstimate(
                quarter=q,
                months=(start, start + 1, end),
                status=status,
                revenue=int(a1 - a0),
                vat=round_half_up(vat_on(a1)) - round_half_up(vat_on(a0)),
                pit=round_half_up(pit_on(a1)) - round_half_up(pit_on(a0)),
                projected_revenue=round_half_up(p1) - round_half_up(p0),
                projected_vat=round_half_up(vat_on(p1)) - round_half_up(vat_on(p0)),
                projected_pit=round_half_up(pit_on(p1)) - round_half_up(pit_on(p0)),
            )
        )

    vat_ytd = round_half_up(vat_on(Fraction(ytd)))
    pit_ytd = round_half_up(pit_on(Fraction(ytd)))
    projected_exact = cum_projected(12)
    projected_revenue = round_half_up(projected_exact)
    projected_vat = round_half_up(vat_on(projected_exact))
    projected_pit = round_half_up(pit_on(projected_exact))
    crossed_month = first_month_over(cum_actual, n)
    projected_crossing = first_month_over(cum_projected, 12)

    profit_info = _profit_method(rs, projected_revenue, projected_pit)

    estimate = TaxEstimate(
        is_estimate=True,
        label=ESTIMATE_LABEL,
        rule_set=rs,
        sector=str(sector),
        sector_label=rates.label,
        vat_rate=vat_rate,
        pit_rate=pit_rate,
        year=year,
        months_elapsed=n,
        revenue_by_month=tuple(actual),
        revenue_ytd=ytd,
        threshold=threshold,
        threshold_crossed=ytd > threshold,
        threshold_crossed_month=crossed_month,
        vat_ytd=vat_ytd,
        pit_ytd=pit_ytd,
        projection_method=(
            "Dự kiến cả năm = doanh thu bình quân mỗi tháng đã qua × 12 "
            f"({format_vnd(ytd)} ÷ {n} tháng × 12)"
            if n
            else "Chưa có doanh thu tháng nào: chưa dự kiến được cả năm"
        ),
        projected_revenue=projected_revenue,
        projected_threshold_crossed=projected_exact > threshold,
        projected_crossing_month=projected_crossing,
        projected_vat=projected_vat,
        projected_pit=projected_pit,
        quarters=tuple(quarters),
        profit_method=profit_info,
        explanation=(),
    )
    return _with_explanation(estimate)


def _profit_method(rs: TaxRuleSet, revenue: int, pit: int) -> ProfitMethodInfo | None:
    threshold = rs.exemption_threshold.value
    if revenue <= threshold:
        return None
    for i, band in enumerate(rs.profit_bands, start=1):
        low = threshold + 1 if band.min_revenue is None else band.min_revenue
        if low <= revenue and (band.max_revenue is None or revenue <= band.max_revenue):
            rate = band.rate.value
            allowed = band.revenue_method_allowed.value
            break_even = (
                round_half_up(Fraction(pit) * 100 / Fraction(rate)) if allowed and rate else None
            )
            return ProfitMethodInfo(
                band=i, rate=rate, revenue_method_allowed=allowed, break_even_profit=break_even
            )
    return None


_ORDER = {Confidence.VERIFIED: 0, Confidence.LIKELY: 1, Confidence.UNVERIFIED: 2}


def _weakest(*rules: Rule[object]) -> str:
    return max((r.confidence for r in rules), key=_ORDER.__getitem__).marker


def _with_explanation(e: TaxEstimate) -> TaxEstimate:
    rs, thr = e.rule_set, e.threshold
    rates = rs.sectors[e.sector]
    v, p = format_rate(e.vat_rate), format_rate(e.pit_rate)
    lines = [
        e.label,
        f"Ngành: {e.sector_label} — thuế GTGT {v}, thuế TNCN {p} trên doanh thu "
        f"{_weakest(rates.vat_rate, rates.pit_rate)}.",
    ]
    n = e.months_elapsed
    if n == 0:
        lines.append(f"Chưa có doanh thu năm {e.year}: chưa phải nộp thuế.")
    else:
        period = f"tháng 1/{e.year}" if n == 1 else f"tháng 1–{n}/{e.year}"
        head = f"Doanh thu từ đầu năm ({period}): {format_vnd(e.revenue_ytd)}; "
        if e.threshold_crossed:
            lines.append(
                head + f"vượt ngưỡng {format_vnd(thr)} từ tháng {e.threshold_crossed_month}."
            )
            vat_base = (
                f"({format_vnd(e.revenue_ytd)} − {format_vnd(thr)})"
                if rs.vat_deducts_threshold.value
                else format_vnd(e.revenue_ytd)
            )
            pit_base = (
                f"({format_vnd(e.revenue_ytd)} − {format_vnd(thr)})"
                if rs.pit_deducts_threshold.value
                else format_vnd(e.revenue_ytd)
            )
            lines.append(
                f"Thuế GTGT: {vat_base} × {v} = {format_vnd(e.vat_ytd)} "
                f"{_weakest(rates.vat_rate, rs.exemption_threshold, rs.vat_deducts_threshold)}."
            )
            lines.append(
                f"Thuế TNCN: {pit_base} × {p} = {format_vnd(e.pit_ytd)} "
                f"{_weakest(rates.pit_rate, rs.exemption_threshold, rs.pit_deducts_threshold)}."
            )
            lines.append(f"Tổng thuế ước tính từ đầu năm: {format_vnd(e.total_ytd)}.")
        else:
            lines.append(
                head + f"chưa vượt ngưỡng miễn thuế {format_vnd(thr)}: "
                "chưa phải nộp thuế GTGT, thuế TNCN."
            )
        marker = rs.quarter_allocation.confidence.marker
        for q in e.quarters:
            if q.status is QuarterStatus.PROJECTED:
                continue
            upto = f" (đến tháng {n})" if q.status is QuarterStatus.IN_PROGRESS else ""
            lines.append(
                f"Quý {q.quarter}{upto}: doanh thu {format_vnd(q.revenue)}; thuế GTGT "
                f"{format_vnd(q.vat)}; thuế TNCN {format_vnd(q.pit)} {marker}."
            )
        crossed = e.threshold_crossed_month
        if crossed is not None and crossed > 3 and not rs.vat_deducts_threshold.value:
            lines.append(
                f"Quý {(crossed - 1) // 3 + 1} gồm cả thuế GTGT trên doanh thu các tháng trước, "
                f"vì ngưỡng {format_vnd(thr)} tính theo cả năm {marker}."
            )
        if n < 12:
            proj = (
                f"Dự kiến cả năm (bình quân {n} tháng × 12): "
                f"doanh thu {format_vnd(e.projected_revenue)}; "
            )
            if e.projected_threshold_crossed:
                proj += (
                    f"thuế GTGT {format_vnd(e.projected_vat)}, thuế TNCN "
                    f"{format_vnd(e.projected_pit)}, tổng {format_vnd(e.projected_total)}"
                )
                if not e.threshold_crossed:
                    proj += f"; có thể vượt ngưỡng vào tháng {e.projected_crossing_month}"
            else:
                proj += "không vượt ngưỡng, không phải nộp thuế"
            lines.append(proj + f" {rs.projection.confidence.marker}.")
    info = e.profit_method
    if info is not None:
        band = rs.profit_bands[info.band - 1]
        rate = format_rate(info.rate)
        if not info.revenue_method_allowed:
            lines.append(
                f"Doanh thu cả năm dự kiến {format_vnd(e.projected_revenue)}: thuế TNCN có thể "
                f"phải tính theo (doanh thu − chi phí) × {rate}, không theo tỷ lệ trên doanh thu "
                f"— số ước tính ở trên có thể không áp dụng "
                f"{_weakest(band.rate, band.revenue_method_allowed)}."
            )
        elif info.break_even_profit:
            lines.append(
                f"Cách khác cho thuế TNCN: (doanh thu − chi phí) × {rate}; chỉ có lợi hơn nếu "
                f"lợi nhuận cả năm dưới {format_vnd(info.break_even_profit)} "
                f"{_weakest(band.rate, band.revenue_method_allowed)}."
            )
    for caveat in rs.caveats:
        lines.append(f"Lưu ý: {caveat.value} {caveat.confidence.marker}")
    lines.append(
        f"Căn cứ: bộ quy tắc {rs.version} ({rs.title}), áp dụng từ "
        f"{rs.effective_from:%d/%m/%Y}; nguồn và độ tin cậy của từng con số xem bên dưới."
    )
    return replace(e, explanation=tuple(lines))
