"""Household-tax estimate (issue 5): worked examples computed by hand in the comments.

Rules 2026.1: threshold 500.000.000 đ/year (≤ threshold: no VAT, no PIT); above it
VAT = all revenue × VAT rate, PIT = (revenue − 500.000.000) × PIT rate.
Rates (Circular 40/2021 Annex I): distribution 1% / 0,5%; services 5% / 2%;
production 3% / 1,5%; other 2% / 1%. Quarters = difference of taxes on cumulative revenue.
No database: pure functions only.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest

from market.figures.tax_estimator import (
    QuarterStatus,
    estimate_household_tax,
    format_rate,
    format_vnd,
    round_half_up,
)
from market.figures.tax_rules import (
    RULE_SETS,
    RULES_2026_1,
    Confidence,
    ProfitBand,
    Rule,
    TaxRuleSet,
    rule_set_for_year,
)

M = 1_000_000  # one million đồng


def _quarters(est, attr):
    return [getattr(q, attr) for q in est.quarters]


def _with_threshold(threshold: int, version: str = "test.1") -> TaxRuleSet:
    return dataclasses.replace(
        RULES_2026_1,
        version=version,
        exemption_threshold=Rule(threshold, "test: ngưỡng giả định", Confidence.UNVERIFIED),
    )


# --- worked examples ---------------------------------------------------------------------------


def test_it_estimates_a_goods_trader_with_800_million_in_the_year():
    # Distribution (goods), full year 2026: Jan–Jun 60m, Jul–Oct 70m, Nov–Dec 80m = 800m.
    # Cumulative: Jun 360m, Jul 430m, Aug 500m (= threshold, still exempt), Sep 570m → crossed in 9.
    # VAT  = 800.000.000 × 1%                 = 8.000.000
    # PIT  = (800.000.000 − 500.000.000) × 0,5% = 1.500.000
    # Quarters (tax on cumulative revenue at quarter end, then differences):
    #   Q1 cum 180m → 0; Q2 cum 360m → 0;
    #   Q3 cum 570m → VAT 5.700.000, PIT 70m × 0,5% = 350.000;
    #   Q4 cum 800m → VAT 8.000.000 − 5.700.000 = 2.300.000; PIT 1.500.000 − 350.000 = 1.150.000.
    # Profit alternative: band 1 (15%); cheaper only if profit < 1.500.000 ÷ 15% = 10.000.000.
    months = [60 * M] * 6 + [70 * M] * 4 + [80 * M] * 2
    est = estimate_household_tax(sector="distribution", revenue_by_month=months, year=2026)

    assert est.revenue_ytd == 800_000_000
    assert est.months_elapsed == 12
    assert est.threshold == 500_000_000
    assert est.threshold_crossed is True
    assert est.threshold_crossed_month == 9
    assert est.vat_ytd == 8_000_000
    assert est.pit_ytd == 1_500_000
    assert est.total_ytd == 9_500_000
    assert _quarters(est, "revenue") == [180 * M, 180 * M, 210 * M, 230 * M]
    assert _quarters(est, "vat") == [0, 0, 5_700_000, 2_300_000]
    assert _quarters(est, "pit") == [0, 0, 350_000, 1_150_000]
    assert _quarters(est, "status") == [QuarterStatus.CLOSED] * 4
    # A full year: the projection is the actual year.
    assert (est.projected_revenue, est.projected_vat, est.projected_pit) == (
        800_000_000,
        8_000_000,
        1_500_000,
    )
    assert est.profit_method is not None
    assert est.profit_method.rate == Decimal("15")
    assert est.profit_method.revenue_method_allowed is True
    assert est.profit_method.break_even_profit == 10_000_000
    assert est.rule_set_version == "2026.1"
    lines = est.explanation
    assert (
        "Doanh thu từ đầu năm (tháng 1–12/2026): 800.000.000 đ; "
        "vượt ngưỡng 500.000.000 đ từ tháng 9." in lines
    )
    assert "Thuế GTGT: 800.000.000 đ × 1% = 8.000.000 đ [U]." in lines
    assert "Thuế TNCN: (800.000.000 đ − 500.000.000 đ) × 0,5% = 1.500.000 đ [L]." in lines
    assert "Tổng thuế ước tính từ đầu năm: 9.500.000 đ." in lines
    assert any(line.startswith("Quý 3 gồm cả thuế GTGT") for line in lines)
    assert any("dưới 10.000.000 đ" in line for line in lines)


def test_it_estimates_800_million_by_august_and_projects_the_year():
    # Distribution, Jan–Aug 2026 at 100m a month: YTD 800m; cum May 500m (exempt), Jun 600m →
    # crossed in month 6.
    # YTD: VAT 800m × 1% = 8.000.000; PIT 300m × 0,5% = 1.500.000.
    # Q1 cum 300m → 0/0. Q2 cum 600m → VAT 6.000.000, PIT 100m × 0,5% = 500.000.
    # Q3 so far (Jul–Aug, 200m): cum 800m → VAT 8.000.000 − 6.000.000 = 2.000.000,
    #    PIT 1.500.000 − 500.000 = 1.000.000.
    # Projection, run-rate: 800m ÷ 8 × 12 = 1.200.000.000 → VAT 12.000.000,
    #    PIT 700m × 0,5% = 3.500.000.
    #    Projected Q3 (Sep at 100m): cum 900m → VAT 9.000.000 − 6.000.000 = 3.000.000;
    #    PIT 400m × 0,5% = 2.000.000 − 500.000 = 1.500.000.
    #    Projected Q4: cum 1.2bn → VAT 3.000.000, PIT 1.500.000.
    # Break-even profit: 3.500.000 ÷ 15% = 23.333.333,33 → 23.333.333.
    est = estimate_household_tax(
        sector="distribution", revenue_by_month={m: 100 * M for m in range(1, 9)}, year=2026
    )

    assert est.revenue_ytd == 800 * M
    assert est.months_elapsed == 8
    assert est.threshold_crossed_month == 6
    assert (est.vat_ytd, est.pit_ytd) == (8_000_000, 1_500_000)
    assert _quarters(est, "status") == [
        QuarterStatus.CLOSED,
        QuarterStatus.CLOSED,
        QuarterStatus.IN_PROGRESS,
        QuarterStatus.PROJECTED,
    ]
    assert _quarters(est, "revenue") == [300 * M, 300 * M, 200 * M, 0]
    assert _quarters(est, "vat") == [0, 6_000_000, 2_000_000, 0]
    assert _quarters(est, "pit") == [0, 500_000, 1_000_000, 0]
    assert est.projected_revenue == 1_200_000_000
    assert (est.projected_vat, est.projected_pit) == (12_000_000, 3_500_000)
    assert _quarters(est, "projected_revenue") == [300 * M] * 4
    assert _quarters(est, "projected_vat") == [0, 6_000_000, 3_000_000, 3_000_000]
    assert _quarters(est, "projected_pit") == [0, 500_000, 1_500_000, 1_500_000]
    assert est.profit_method is not None
    assert est.profit_method.break_even_profit == 23_333_333
    assert "800.000.000 đ ÷ 8 tháng × 12" in est.projection_method
    lines = est.explanation
    assert (
        "Doanh thu từ đầu năm (tháng 1–8/2026): 800.000.000 đ; "
        "vượt ngưỡng 500.000.000 đ từ tháng 6." in lines
    )
    assert (
        "Quý 3 (đến tháng 8): doanh thu 200.000.000 đ; thuế GTGT 2.000.000 đ; "
        "thuế TNCN 1.000.000 đ [U]." in lines
    )
    assert (
        "Dự kiến cả năm (bình quân 8 tháng × 12): doanh thu 1.200.000.000 đ; thuế GTGT "
        "12.000.000 đ, thuế TNCN 3.500.000 đ, tổng 15.500.000 đ [U]." in lines
    )


def test_it_owes_nothing_for_a_services_household_under_the_threshold():
    # Services, 12 × 40m = 480m ≤ 500m → no VAT, no PIT, every quarter 0, no profit alternative.
    est = estimate_household_tax(sector="services", revenue_by_month=[40 * M] * 12, year=2026)

    assert est.revenue_ytd == 480 * M
    assert est.threshold_crossed is False
    assert est.threshold_crossed_month is None
    assert (est.vat_ytd, est.pit_ytd, est.total_ytd) == (0, 0, 0)
    assert _quarters(est, "vat") == [0, 0, 0, 0]
    assert _quarters(est, "pit") == [0, 0, 0, 0]
    assert (est.projected_vat, est.projected_pit) == (0, 0)
    assert est.projected_threshold_crossed is False
    assert est.profit_method is None
    assert (
        "Doanh thu từ đầu năm (tháng 1–12/2026): 480.000.000 đ; chưa vượt ngưỡng miễn thuế "
        "500.000.000 đ: chưa phải nộp thuế GTGT, thuế TNCN." in est.explanation
    )


def test_it_handles_a_services_household_crossing_the_threshold_mid_year():
    # Services (5% / 2%), Jan–Jun 100m each = 600m; cum May 500m (exempt), Jun 600m → month 6.
    # YTD: VAT 600m × 5% = 30.000.000 (all of it in Q2: Q1 cum 300m is exempt);
    #      PIT (600m − 500m) × 2% = 2.000.000.
    # Projection: 600m ÷ 6 × 12 = 1.200.000.000 → VAT 60.000.000; PIT 700m × 2% = 14.000.000.
    #   Q3 cum 900m: VAT 45.000.000 − 30.000.000 = 15.000.000;
    #                PIT 8.000.000 − 2.000.000 = 6.000.000.
    #   Q4 cum 1.2bn: VAT 15.000.000; PIT 14.000.000 − 8.000.000 = 6.000.000.
    est = estimate_household_tax(
        sector="services", revenue_by_month={m: 100 * M for m in range(1, 7)}, year=2026
    )

    assert est.threshold_crossed_month == 6
    assert (est.vat_ytd, est.pit_ytd) == (30_000_000, 2_000_000)
    assert _quarters(est, "vat") == [0, 30_000_000, 0, 0]
    assert _quarters(est, "pit") == [0, 2_000_000, 0, 0]
    assert (est.projected_revenue, est.projected_vat, est.projected_pit) == (
        1_200_000_000,
        60_000_000,
        14_000_000,
    )
    assert _quarters(est, "projected_vat") == [0, 30_000_000, 15_000_000, 15_000_000]
    assert _quarters(est, "projected_pit") == [0, 2_000_000, 6_000_000, 6_000_000]
    assert (
        "Quý 2 gồm cả thuế GTGT trên doanh thu các tháng trước, "
        "vì ngưỡng 500.000.000 đ tính theo cả năm [U]." in est.explanation
    )


def test_it_projects_a_crossing_that_has_not_happened_yet():
    # Services, Jan–Apr 100m = 400m: nothing due yet. Run-rate 100m/month → projected cum
    # May 500m (exempt), Jun 600m → projected crossing in month 6; year 1.2bn →
    # VAT 60.000.000, PIT 14.000.000.
    est = estimate_household_tax(sector="services", revenue_by_month=[100 * M] * 4, year=2026)

    assert est.threshold_crossed is False
    assert (est.vat_ytd, est.pit_ytd) == (0, 0)
    assert est.projected_threshold_crossed is True
    assert est.projected_crossing_month == 6
    assert (est.projected_vat, est.projected_pit) == (60_000_000, 14_000_000)
    assert any("có thể vượt ngưỡng vào tháng 6" in line for line in est.explanation)


@pytest.mark.parametrize(
    ("sector", "vat_rate", "pit_rate", "vat", "pit"),
    [
        # 1.000.000.000 in the year: VAT = 1bn × rate; PIT = (1bn − 500m) × rate.
        ("distribution", "1", "0.5", 10_000_000, 2_500_000),
        ("services", "5", "2", 50_000_000, 10_000_000),
        ("production", "3", "1.5", 30_000_000, 7_500_000),
        ("other", "2", "1", 20_000_000, 5_000_000),
    ],
)
def test_it_applies_each_sectors_rates(sector, vat_rate, pit_rate, vat, pit):
    est = estimate_household_tax(sector=sector, revenue_by_month=[1_000 * M] + [0] * 11, year=2026)

    assert est.vat_rate == Decimal(vat_rate)
    assert est.pit_rate == Decimal(pit_rate)
    assert isinstance(est.vat_rate, Decimal) and isinstance(est.pit_rate, Decimal)
    assert (est.vat_ytd, est.pit_ytd) == (vat, pit)
    assert est.threshold_crossed_month == 1
    assert _quarters(est, "vat") == [vat, 0, 0, 0]


def test_it_keys_the_rates_by_merchant_sector():
    from merchants.models import Merchant

    for rs in RULE_SETS:
        assert set(rs.sectors) == set(Merchant.Sector.values)
        for value, label in Merchant.Sector.choices:
            assert rs.sectors[value].label == str(label)
    # A Merchant.Sector member works as the sector argument.
    est = estimate_household_tax(sector=Merchant.Sector.PRODUCTION, revenue_by_month=[0], year=2026)
    assert est.sector == "production"


@pytest.mark.parametrize("sector", ["distribution", "services", "production", "other"])
def test_it_exempts_revenue_exactly_at_the_threshold(sector):
    est = estimate_household_tax(sector=sector, revenue_by_month={12: 500_000_000}, year=2026)

    assert est.threshold_crossed is False
    assert (est.vat_ytd, est.pit_ytd) == (0, 0)
    assert est.profit_method is None


def test_it_taxes_one_dong_over_the_threshold():
    # Distribution, 500.000.001 in December:
    # VAT = 500.000.001 × 1% = 5.000.000,01 → 5.000.000 (VAT is on all revenue: the cliff).
    # PIT = 1 × 0,5% = 0,005 → 0.
    est = estimate_household_tax(
        sector="distribution", revenue_by_month={12: 500_000_001}, year=2026
    )

    assert est.threshold_crossed is True
    assert est.threshold_crossed_month == 12
    assert (est.vat_ytd, est.pit_ytd) == (5_000_000, 0)
    assert _quarters(est, "vat") == [0, 0, 0, 5_000_000]
    # Services: 500.000.001 × 5% = 25.000.000,05 → 25.000.000; PIT 1 × 2% = 0,02 → 0.
    est = estimate_household_tax(sector="services", revenue_by_month={12: 500_000_001}, year=2026)
    assert (est.vat_ytd, est.pit_ytd) == (25_000_000, 0)


@pytest.mark.parametrize(
    ("sector", "revenue", "vat", "pit"),
    [
        # 500.000.050 × 1% = 5.000.000,5 → 5.000.001 (half-up; banker's would give 5.000.000);
        # PIT 50 × 0,5% = 0,25 → 0.
        ("distribution", 500_000_050, 5_000_001, 0),
        # 500.000.100 × 1% = 5.000.001; PIT 100 × 0,5% = 0,5 → 1 (half-up; banker's gives 0).
        ("distribution", 500_000_100, 5_000_001, 1),
        # 500.000.050 × 3% = 15.000.001,5 → 15.000.002; PIT 50 × 1,5% = 0,75 → 1.
        ("production", 500_000_050, 15_000_002, 1),
        # 500.000.030 × 2% = 10.000.000,6 → 10.000.001; PIT 30 × 1% = 0,3 → 0.
        ("other", 500_000_030, 10_000_001, 0),
    ],
)
def test_it_rounds_half_up_to_whole_dong(sector, revenue, vat, pit):
    est = estimate_household_tax(sector=sector, revenue_by_month=[revenue], year=2026)

    assert (est.vat_ytd, est.pit_ytd) == (vat, pit)
    assert type(est.vat_ytd) is int and type(est.pit_ytd) is int


def test_it_rounds_once_on_cumulative_amounts_so_quarters_add_up():
    # Production (3% / 1,5%): Jan 500.000.050, Apr 50 → cum Q1 500.000.050, Q2 500.000.100.
    # VAT cum: Q1 15.000.001,5 → 15.000.002; Q2 15.000.003 → Q2 = 1
    #   (rounding each quarter on its own would give 15.000.002 + (50 × 3% = 1,5 → 2) = 15.000.004).
    # PIT cum: Q1 50 × 1,5% = 0,75 → 1; Q2 100 × 1,5% = 1,5 → 2 → Q2 = 1.
    est = estimate_household_tax(
        sector="production", revenue_by_month={1: 500_000_050, 4: 50}, year=2026
    )

    assert est.vat_ytd == 15_000_003
    assert est.pit_ytd == 2
    assert _quarters(est, "vat")[:2] == [15_000_002, 1]
    assert _quarters(est, "pit")[:2] == [1, 1]
    assert sum(_quarters(est, "vat")) == est.vat_ytd
    assert sum(_quarters(est, "pit")) == est.pit_ytd
    assert sum(_quarters(est, "projected_vat")) == est.projected_vat
    assert sum(_quarters(est, "projected_pit")) == est.projected_pit
    assert sum(_quarters(est, "projected_revenue")) == est.projected_revenue


def test_it_rounds_the_run_rate_projection_half_up_once():
    # Other (2% / 1%), Jan–Jul: 7 × 100.000.001 = 700.000.007.
    # Projected year = 700.000.007 ÷ 7 × 12 = 1.200.000.012 exactly.
    # Jan–Jun 100.000.000 and Jul 100.000.001 = 700.000.001 → ÷ 7 × 12 = 1.200.000.001,71…
    #   → 1.200.000.002.
    # VAT on the exact projection: 1.200.000.001,714… × 2% = 24.000.000,034… → 24.000.000;
    # PIT: 700.000.001,714… × 1% = 7.000.000,017… → 7.000.000.
    est = estimate_household_tax(sector="other", revenue_by_month=[100_000_001] * 7, year=2026)
    assert est.projected_revenue == 1_200_000_012
    est = estimate_household_tax(
        sector="other", revenue_by_month=[100 * M] * 6 + [100 * M + 1], year=2026
    )
    assert est.projected_revenue == 1_200_000_002
    assert (est.projected_vat, est.projected_pit) == (24_000_000, 7_000_000)


def test_it_rounds_half_away_from_zero():
    assert round_half_up(Fraction(5, 2)) == 3
    assert round_half_up(Fraction(3, 2)) == 2  # banker's rounding would give 2 and 2
    assert round_half_up(Fraction(-5, 2)) == -3
    assert round_half_up(Fraction(7, 3)) == 2
    assert round_half_up(Fraction(0)) == 0


# --- the table, not constants ------------------------------------------------------------------


def test_it_reads_the_threshold_from_the_rule_set():
    # Threshold 100.000.000: services 12 × 10m = 120m; cum Oct 100m (exempt), Nov 110m → 11.
    # VAT 120m × 5% = 6.000.000; PIT (120m − 100m) × 2% = 400.000.
    rules = _with_threshold(100 * M)
    est = estimate_household_tax(
        sector="services", revenue_by_month=[10 * M] * 12, year=2026, rules=rules
    )

    assert est.threshold == 100 * M
    assert est.threshold_crossed_month == 11
    assert (est.vat_ytd, est.pit_ytd) == (6_000_000, 400_000)
    assert est.rule_set_version == "test.1"
    assert any("vượt ngưỡng 100.000.000 đ từ tháng 11" in line for line in est.explanation)
    # The same revenue under the real table owes nothing.
    real = estimate_household_tax(sector="services", revenue_by_month=[10 * M] * 12, year=2026)
    assert (real.vat_ytd, real.pit_ytd) == (0, 0)


def test_it_reads_rates_and_formula_choices_from_the_rule_set():
    # Distribution VAT corrected to 2%, and VAT on revenue above the threshold only:
    # 800m → VAT (800m − 500m) × 2% = 6.000.000; PIT unchanged 1.500.000.
    base = RULES_2026_1
    rules = dataclasses.replace(
        base,
        version="test.2",
        sectors={
            **base.sectors,
            "distribution": dataclasses.replace(
                base.sectors["distribution"],
                vat_rate=Rule(Decimal("2"), "test: tỷ lệ giả định", Confidence.UNVERIFIED),
            ),
        },
        vat_deducts_threshold=Rule(True, "test: trừ ngưỡng", Confidence.UNVERIFIED),
    )
    est = estimate_household_tax(
        sector="distribution", revenue_by_month=[800 * M], year=2026, rules=rules
    )

    assert (est.vat_ytd, est.pit_ytd) == (6_000_000, 1_500_000)
    assert "Thuế GTGT: (800.000.000 đ − 500.000.000 đ) × 2% = 6.000.000 đ [U]." in est.explanation


def test_it_picks_the_version_in_force_on_1_january():
    old = dataclasses.replace(RULES_2026_1, effective_to=date(2026, 12, 31))
    new = dataclasses.replace(
        _with_threshold(1_000 * M, version="2027.1"),
        effective_from=date(2027, 1, 1),
        effective_to=None,
    )
    table = (old, new)

    assert rule_set_for_year(2026, table).version == "2026.1"
    assert rule_set_for_year(2027, table).version == "2027.1"
    # 800m: taxed in 2026 (threshold 500m), exempt in 2027 (threshold 1bn).
    e26 = estimate_household_tax(
        sector="distribution", revenue_by_month=[800 * M], year=2026, rules=table
    )
    e27 = estimate_household_tax(
        sector="distribution", revenue_by_month=[800 * M], year=2027, rules=table
    )
    assert e26.vat_ytd == 8_000_000
    assert e27.vat_ytd == 0
    with pytest.raises(ValueError, match="overlap"):
        rule_set_for_year(2027, (RULES_2026_1, new))


def test_it_refuses_a_year_without_rules():
    # 2025 was the lump-sum (thuế khoán) regime: not modelled.
    with pytest.raises(ValueError, match="no household-tax rule set covers 2025"):
        estimate_household_tax(sector="services", revenue_by_month=[1], year=2025)
    with pytest.raises(ValueError, match="covers 2025"):
        estimate_household_tax(
            sector="services", revenue_by_month=[1], year=2025, rules=RULES_2026_1
        )


def test_it_has_a_source_and_confidence_for_every_rule():
    for rs in RULE_SETS:
        named = dict(rs.rules())
        # threshold, 2 deduction choices, 4 sectors × 2 rates, 3 bands × 2, allocation, projection
        for key in (
            "exemption_threshold",
            "pit_deducts_threshold",
            "vat_deducts_threshold",
            "effective_from_source",
            "quarter_allocation",
            "projection",
            "sectors.distribution.vat_rate",
            "sectors.other.pit_rate",
            "profit_bands.1.rate",
            "profit_bands.3.revenue_method_allowed",
        ):
            assert key in named, key
        assert len(named) >= 6 + 8 + 6
        for name, rule in named.items():
            assert rule.source.strip(), name
            assert isinstance(rule.confidence, Confidence), name
        for rates in rs.sectors.values():
            assert "Thông tư 40/2021/TT-BTC" in rates.vat_rate.source
            assert rates.vat_rate.confidence is Confidence.VERIFIED
    assert RULES_2026_1.exemption_threshold.confidence is Confidence.VERIFIED
    assert RULES_2026_1.pit_deducts_threshold.confidence is Confidence.LIKELY
    assert RULES_2026_1.vat_deducts_threshold.confidence is Confidence.UNVERIFIED


def test_it_refuses_a_rule_without_a_source():
    with pytest.raises(ValueError, match="exemption_threshold has no source"):
        dataclasses.replace(
            RULES_2026_1, exemption_threshold=Rule(500 * M, " ", Confidence.VERIFIED)
        )


def test_it_refuses_gaps_between_profit_bands():
    bands = RULES_2026_1.profit_bands
    gap = dataclasses.replace(bands[1], min_revenue=3_000_000_001)
    with pytest.raises(ValueError, match="contiguous"):
        dataclasses.replace(RULES_2026_1, profit_bands=(bands[0], gap, bands[2]))


def test_it_shows_the_sources_of_the_rule_set_used():
    est = estimate_household_tax(sector="distribution", revenue_by_month=[800 * M], year=2026)

    sources = est.sources()
    assert (
        "sectors.distribution.vat_rate",
        RULES_2026_1.sectors["distribution"].vat_rate.source,
        "[V]",
    ) in sources
    assert all(marker in {"[V]", "[L]", "[U]"} for _, _, marker in sources)
    assert est.explanation[-1].startswith("Căn cứ: bộ quy tắc 2026.1")


# --- labelling and edge cases ------------------------------------------------------------------


def test_it_labels_the_result_as_an_estimate():
    est = estimate_household_tax(sector="other", revenue_by_month=[800 * M], year=2026)

    assert est.is_estimate is True
    assert "ƯỚC TÍNH" in est.label
    assert "không phải thông báo thuế" in est.label
    assert est.explanation[0] == est.label


def test_it_warns_that_the_revenue_method_may_not_apply_from_3_billion():
    # Distribution 12 × 300m = 3,6bn → profit band 2 (17%), revenue method not allowed [U].
    # Revenue-method figures still shown: VAT 36.000.000; PIT 3,1bn × 0,5% = 15.500.000.
    est = estimate_household_tax(sector="distribution", revenue_by_month=[300 * M] * 12, year=2026)

    assert (est.vat_ytd, est.pit_ytd) == (36_000_000, 15_500_000)
    assert est.profit_method is not None
    assert est.profit_method.band == 2
    assert est.profit_method.rate == Decimal("17")
    assert est.profit_method.revenue_method_allowed is False
    assert est.profit_method.break_even_profit is None
    assert any("× 17%" in line and "có thể không áp dụng" in line for line in est.explanation)


def test_it_treats_no_months_as_nothing_due():
    est = estimate_household_tax(sector="services", revenue_by_month=[], year=2026)

    assert (est.months_elapsed, est.revenue_ytd, est.projected_revenue) == (0, 0, 0)
    assert (est.vat_ytd, est.pit_ytd, est.projected_vat) == (0, 0, 0)
    assert _quarters(est, "status") == [QuarterStatus.PROJECTED] * 4
    assert "Chưa có doanh thu năm 2026: chưa phải nộp thuế." in est.explanation


def test_it_counts_missing_months_as_zero_up_to_the_last_month_given():
    est = estimate_household_tax(
        sector="services", revenue_by_month={1: 100 * M, 3: 100 * M}, year=2026
    )

    assert est.months_elapsed == 3
    assert est.revenue_by_month == (100 * M, 0, 100 * M)
    # Run-rate: 200m ÷ 3 × 12 = 800m.
    assert est.projected_revenue == 800 * M


def test_it_refuses_an_unknown_sector():
    with pytest.raises(ValueError) as excinfo:
        estimate_household_tax(sector="fishing", revenue_by_month=[1], year=2026)
    message = str(excinfo.value)
    assert "unknown sector 'fishing'" in message
    assert "distribution, other, production, services" in message


@pytest.mark.parametrize(
    "revenue",
    [
        [100.0],
        [100 * M, 1e8],
        {1: 100.5},
        [Decimal("100")],
        [True],
        "100",
    ],
)
def test_it_refuses_non_integer_money(revenue):
    with pytest.raises(TypeError):
        estimate_household_tax(sector="services", revenue_by_month=revenue, year=2026)


def test_it_refuses_bad_months_and_negative_revenue():
    with pytest.raises(ValueError, match="1–12"):
        estimate_household_tax(sector="services", revenue_by_month={13: 1}, year=2026)
    with pytest.raises(ValueError, match="at most 12"):
        estimate_household_tax(sector="services", revenue_by_month=[1] * 13, year=2026)
    with pytest.raises(ValueError, match="negative"):
        estimate_household_tax(sector="services", revenue_by_month=[5, -1], year=2026)
    with pytest.raises(TypeError):
        estimate_household_tax(sector="services", revenue_by_month={1.0: 1}, year=2026)
    with pytest.raises(TypeError):
        estimate_household_tax(sector="services", revenue_by_month=[1], year=2026.0)


def test_it_formats_money_and_rates_the_vietnamese_way():
    assert format_vnd(800_000_000) == "800.000.000 đ"
    assert format_vnd(0) == "0 đ"
    assert format_rate(Decimal("0.5")) == "0,5%"
    assert format_rate(Decimal("1.5")) == "1,5%"
    assert format_rate(Decimal("10")) == "10%"


def test_it_keeps_the_profit_band_starting_at_the_threshold():
    band = RULES_2026_1.profit_bands[0]
    assert isinstance(band, ProfitBand)
    assert band.min_revenue is None  # follows the threshold when the threshold is corrected
    rules = _with_threshold(200 * M)
    # Services, 300m with threshold 200m → band 1 at 15%; PIT 100m × 2% = 2.000.000;
    # break-even 2.000.000 ÷ 15% = 13.333.333,33 → 13.333.333.
    est = estimate_household_tax(
        sector="services", revenue_by_month=[300 * M] + [0] * 11, year=2026, rules=rules
    )
    assert est.profit_method is not None
    assert est.profit_method.band == 1
    assert est.profit_method.break_even_profit == 13_333_333
