"""Household-business (hộ kinh doanh) tax estimate under the 2026 rules: a versioned rules table
and a pure estimator. No Django, no database: money is ``int`` đồng, rates are ``Decimal`` percent.

The result is an ESTIMATE (ước tính) to help a trader plan, never a tax assessment: the tax office
decides. Every number the estimator uses lives in ``RULE_SETS`` below with its legal source and a
confidence marker, so a correction is a data change here, not a code hunt.

Confidence markers (as in ``shared/reference/einvoice.md``): [V] verified in a source read,
[L] likely (indirect source), [U] unverified — check first.

How the estimate is computed (see ``estimate_household_tax``):

1. Revenue year-to-date (YTD) = sum of the months given, exact integers. Months run from January
   to the last month given ("months elapsed"); a missing month inside that range counts as 0.
2. The exemption threshold applies to revenue of the whole year: revenue ≤ threshold owes no VAT
   and no PIT; above it, VAT = base × VAT rate (base = all revenue, or revenue − threshold if the
   rule set says so) and PIT (revenue method) = (revenue − threshold) × PIT rate.
3. Quarters (rule ``quarter_allocation``): each tax is computed on the CUMULATIVE revenue at the
   end of each quarter and rounded half-up to a whole đồng once; a quarter's amount is the
   difference of two rounded cumulative amounts. Quarters therefore add up exactly to the year,
   and the quarter in which revenue crosses the threshold carries the VAT on all revenue so far.
4. Projection (rule ``projection``): months not yet elapsed are filled with the average month so
   far (run-rate: YTD ÷ months elapsed, kept exact); projected cumulative revenue and taxes are
   computed as in step 3 and rounded once each.
5. The profit-based PIT alternative can't be computed (expenses are unknown); the estimate shows
   its band for the projected revenue and the break-even profit: profit method is cheaper when
   profit < projected revenue-method PIT ÷ band rate (rounded half-up once).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from decimal import Decimal
from typing import Generic, TypeVar

T_co = TypeVar("T_co", covariant=True)


class Confidence(enum.StrEnum):
    VERIFIED = "V"
    LIKELY = "L"
    UNVERIFIED = "U"

    @property
    def marker(self) -> str:
        return f"[{self.value}]"


@dataclass(frozen=True)
class Rule(Generic[T_co]):
    """One number or choice of the tax rules, with where it comes from and how sure we are."""

    value: T_co
    source: str
    confidence: Confidence
    note: str = ""


@dataclass(frozen=True)
class SectorRates:
    """VAT and PIT rates on revenue for one ``Merchant.Sector``, percent: Decimal("0.5") = 0,5%."""

    label: str
    vat_rate: Rule[Decimal]
    pit_rate: Rule[Decimal]


@dataclass(frozen=True)
class ProfitBand:
    """A band of annual revenue for the profit-based PIT: (revenue − expenses) × ``rate`` %.

    ``min_revenue`` None means "from just above the exemption threshold", so the first band
    follows the threshold when it is corrected. Bounds are inclusive whole đồng.
    """

    min_revenue: int | None
    max_revenue: int | None
    rate: Rule[Decimal]
    revenue_method_allowed: Rule[bool]


class QuarterAllocation(enum.StrEnum):
    # Tax on cumulative revenue at each quarter end; quarter = difference (catch-up on crossing).
    CUMULATIVE = "cumulative"


class Projection(enum.StrEnum):
    # Remaining months = average month so far (YTD ÷ months elapsed).
    RUN_RATE = "run_rate"


@dataclass(frozen=True)
class TaxRuleSet:
    version: str
    title: str
    effective_from: date
    effective_to: date | None  # inclusive; None = still in force
    effective_from_source: Rule[date]
    exemption_threshold: Rule[int]  # VND per year; revenue ≤ this owes neither VAT nor PIT
    pit_deducts_threshold: Rule[bool]
    vat_deducts_threshold: Rule[bool]
    sectors: Mapping[str, SectorRates]
    profit_bands: tuple[ProfitBand, ...]
    quarter_allocation: Rule[QuarterAllocation]
    projection: Rule[Projection]
    caveats: tuple[Rule[str], ...] = field(default=())

    def __post_init__(self) -> None:
        _validate(self)

    def covers(self, year: int) -> bool:
        """A tax year uses the rule set in force on 1 January of that year."""
        jan1 = date(year, 1, 1)
        return self.effective_from <= jan1 and (
            self.effective_to is None or jan1 <= self.effective_to
        )

    def rules(self) -> Iterator[tuple[str, Rule[object]]]:
        """Every sourced rule, with a dotted name, for the page's "căn cứ" list and for tests."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Rule):
                yield f.name, value
        for key, rates in self.sectors.items():
            yield f"sectors.{key}.vat_rate", rates.vat_rate
            yield f"sectors.{key}.pit_rate", rates.pit_rate
        for i, band in enumerate(self.profit_bands, start=1):
            yield f"profit_bands.{i}.rate", band.rate
            yield f"profit_bands.{i}.revenue_method_allowed", band.revenue_method_allowed
        for i, caveat in enumerate(self.caveats, start=1):
            yield f"caveats.{i}", caveat


def _validate(rs: TaxRuleSet) -> None:
    if rs.effective_to is not None and rs.effective_to < rs.effective_from:
        raise ValueError(f"rule set {rs.version}: effective_to before effective_from")
    threshold = rs.exemption_threshold.value
    if type(threshold) is not int or threshold < 0:
        raise ValueError(f"rule set {rs.version}: threshold must be a non-negative int VND")
    if not rs.sectors:
        raise ValueError(f"rule set {rs.version}: no sectors")
    for key, rates in rs.sectors.items():
        for rate in (rates.vat_rate.value, rates.pit_rate.value):
            if not isinstance(rate, Decimal) or not (Decimal(0) <= rate <= Decimal(100)):
                raise ValueError(f"rule set {rs.version}: {key} rate must be a Decimal 0–100")
    previous_max = threshold
    for i, band in enumerate(rs.profit_bands):
        start = threshold + 1 if band.min_revenue is None else band.min_revenue
        if i == 0 and band.min_revenue is not None and band.min_revenue != threshold + 1:
            raise ValueError(f"rule set {rs.version}: first profit band must start above threshold")
        if i > 0 and start != previous_max + 1:
            raise ValueError(f"rule set {rs.version}: profit bands must be contiguous")
        if band.max_revenue is not None and band.max_revenue < start:
            raise ValueError(f"rule set {rs.version}: empty profit band {i + 1}")
        if band.max_revenue is None and i != len(rs.profit_bands) - 1:
            raise ValueError(f"rule set {rs.version}: only the last profit band may be open")
        previous_max = band.max_revenue if band.max_revenue is not None else previous_max
    for name, rule in rs.rules():
        if not rule.source.strip():
            raise ValueError(f"rule set {rs.version}: rule {name} has no source")
        if not isinstance(rule.confidence, Confidence):
            raise ValueError(f"rule set {rs.version}: rule {name} has no confidence marker")


# ---------------------------------------------------------------------------------------------
# THE RULES TABLE
#
# To correct a number: edit its ``Rule`` below (value, source, confidence) and bump nothing else
# if the law did not change (e.g. a [U] confirmed → [V]); add a line to the version's ``title``.
# To add a new version when the law changes (e.g. a new decree from 1 Jan 2027):
#   1. set ``effective_to`` of the current version to the day before the new one applies;
#   2. copy the current version as ``RULES_2027_1 = dataclasses.replace(RULES_2026_1, ...)`` or
#      in full, with ``version="2027.1"``, the new ``effective_from`` and the changed rules,
#      each with its source and confidence;
#   3. append it to ``RULE_SETS`` (kept in date order; periods must not overlap — the tests
#      check) and add a worked example for it in tests/market/test_tax_rules.py.
# A tax year uses the version in force on 1 January of that year.
# Sector keys are ``merchants.models.Merchant.Sector`` values (the tests check they match).
# ---------------------------------------------------------------------------------------------

_REF = "shared/reference/einvoice.md §1"
_PIT_LAW_2025 = "Luật Thuế thu nhập cá nhân (sửa đổi), Quốc hội thông qua ngày 10/12/2025"
_ANNEX_I = "Thông tư 40/2021/TT-BTC, Phụ lục I"
_ANNEX_I_SOURCES = "tnt eafca0db99fcf8bf.md, cbd0beb4c3283be7.md"
_DRAFT_DECREE = (
    "Dự thảo Nghị định về khai, tính, nộp thuế và hóa đơn của hộ, cá nhân kinh doanh (lần 2)"
)
_CHOSO = "Chợ Số: cách ước tính của ứng dụng, không phải quy định pháp luật"


def _annex_rates(group: str, vat: str, pit: str, label: str) -> SectorRates:
    source = f"{_ANNEX_I}, {group} ({_REF}; {_ANNEX_I_SOURCES})"
    return SectorRates(
        label=label,
        vat_rate=Rule(Decimal(vat), source, Confidence.VERIFIED),
        pit_rate=Rule(Decimal(pit), source, Confidence.VERIFIED),
    )


RULES_2026_1 = TaxRuleSet(
    version="2026.1",
    title="Hộ kinh doanh từ 2026: bỏ thuế khoán, tự khai theo doanh thu thực tế",
    effective_from=date(2026, 1, 1),
    effective_to=None,
    effective_from_source=Rule(
        date(2026, 1, 1),
        f"Bỏ thuế khoán từ 01/01/2026, hộ kinh doanh tự khai ({_REF}; vir.com.vn …142706.html)",
        Confidence.VERIFIED,
    ),
    exemption_threshold=Rule(
        500_000_000,
        f"{_PIT_LAW_2025}: doanh thu ≤ 500 triệu đồng/năm không chịu thuế GTGT và thuế TNCN "
        f"({_REF}; english.thesaigontimes.vn; vnnow.net …156189.html)",
        Confidence.VERIFIED,
        note="Doanh thu đúng bằng ngưỡng vẫn được miễn; vượt 1 đồng là phải nộp.",
    ),
    pit_deducts_threshold=Rule(
        True,
        f"{_PIT_LAW_2025}: trừ mức 500 triệu trước khi tính thuế TNCN theo tỷ lệ trên doanh thu "
        f"({_REF}: [L] cho việc trừ ngưỡng; tnt eafca0db99fcf8bf.md)",
        Confidence.LIKELY,
    ),
    vat_deducts_threshold=Rule(
        False,
        "Luật Thuế GTGT số 48/2024/QH15, phương pháp trực tiếp: tỷ lệ % × doanh thu — toàn bộ "
        f"doanh thu khi vượt ngưỡng ({_DRAFT_DECREE}, theo tnt eafca0db99fcf8bf.md; "
        f"{_REF} không nêu)",
        Confidence.UNVERIFIED,
        note="Vượt ngưỡng 1 đồng thì thuế GTGT tính trên cả năm doanh thu (không trừ ngưỡng).",
    ),
    sectors={
        "distribution": _annex_rates(
            "nhóm 1: phân phối, cung cấp hàng hóa (bán buôn, bán lẻ)",
            "1",
            "0.5",
            "Phân phối, cung cấp hàng hóa",
        ),
        "services": _annex_rates(
            "nhóm 2: dịch vụ, xây dựng không bao thầu nguyên vật liệu",
            "5",
            "2",
            "Dịch vụ, xây dựng không bao thầu nguyên vật liệu",
        ),
        "production": _annex_rates(
            "nhóm 3: sản xuất, vận tải, dịch vụ gắn với hàng hóa, dịch vụ ăn uống",
            "3",
            "1.5",
            "Sản xuất, vận tải, dịch vụ gắn với hàng hóa, ăn uống",
        ),
        "other": _annex_rates(
            "nhóm 4: hoạt động kinh doanh khác",
            "2",
            "1",
            "Hoạt động kinh doanh khác",
        ),
        # Asset rental (cho thuê tài sản: VAT 5%, PIT 5%, same annex) has no Merchant.Sector yet.
    },
    profit_bands=(
        ProfitBand(
            min_revenue=None,
            max_revenue=2_999_999_999,
            rate=Rule(
                Decimal("15"),
                f"{_PIT_LAW_2025}: (doanh thu − chi phí) × 15% khi doanh thu dưới 3 tỷ "
                f"({_REF}; tnt eafca0db99fcf8bf.md)",
                Confidence.VERIFIED,
            ),
            revenue_method_allowed=Rule(
                True,
                f"{_PIT_LAW_2025}: trên 500 triệu đến dưới 3 tỷ được chọn cách 1 (doanh thu − "
                f"ngưỡng) × tỷ lệ hoặc cách 2 theo lợi nhuận ({_REF}; tnt eafca0db99fcf8bf.md)",
                Confidence.LIKELY,
            ),
        ),
        ProfitBand(
            min_revenue=3_000_000_000,
            max_revenue=49_999_999_999,
            rate=Rule(
                Decimal("17"),
                f"{_PIT_LAW_2025}: 17% khi doanh thu từ 3 tỷ đến 50 tỷ ({_REF})",
                Confidence.VERIFIED,
                note="Ranh giới đúng 50 tỷ thuộc bậc nào chưa rõ [U]; ở đây 50 tỷ tính bậc 20%.",
            ),
            revenue_method_allowed=Rule(
                False,
                f"{_DRAFT_DECREE}: từ 3 tỷ chỉ tính theo (doanh thu − chi phí) "
                f"(tnt eafca0db99fcf8bf.md; {_REF} không nêu)",
                Confidence.UNVERIFIED,
            ),
        ),
        ProfitBand(
            min_revenue=50_000_000_000,
            max_revenue=None,
            rate=Rule(
                Decimal("20"),
                f"{_PIT_LAW_2025}: 20% khi doanh thu trên 50 tỷ ({_REF})",
                Confidence.VERIFIED,
            ),
            revenue_method_allowed=Rule(
                False,
                f"{_DRAFT_DECREE}: trên 50 tỷ chỉ tính theo (doanh thu − chi phí) "
                f"(tnt eafca0db99fcf8bf.md; {_REF} không nêu)",
                Confidence.UNVERIFIED,
            ),
        ),
    ),
    quarter_allocation=Rule(
        QuarterAllocation.CUMULATIVE,
        f"{_CHOSO}. Ngưỡng tính theo năm; cách khai quý khi vượt ngưỡng giữa năm chưa được "
        f"kiểm chứng ({_REF} không nêu)",
        Confidence.UNVERIFIED,
        note="Thuế mỗi quý = thuế trên doanh thu lũy kế đến cuối quý − thuế lũy kế quý trước.",
    ),
    projection=Rule(
        Projection.RUN_RATE,
        f"{_CHOSO}: các tháng còn lại lấy bằng doanh thu bình quân các tháng đã qua",
        Confidence.UNVERIFIED,
    ),
    caveats=(
        Rule(
            "Hàng hóa không chịu thuế GTGT hoặc không phải khai thuế GTGT chỉ nộp thuế TNCN; "
            "nông sản tươi sống của sạp có thuộc diện này không thì chưa rõ — hỏi cán bộ thuế.",
            f"{_ANNEX_I} ({_REF})",
            Confidence.UNVERIFIED,
        ),
    ),
)

RULE_SETS: tuple[TaxRuleSet, ...] = (RULES_2026_1,)


def rule_set_for_year(year: int, rules: Sequence[TaxRuleSet] = RULE_SETS) -> TaxRuleSet:
    matching = [rs for rs in rules if rs.covers(year)]
    if not matching:
        raise ValueError(
            f"no household-tax rule set covers {year}; known versions: "
            + ", ".join(f"{rs.version} (from {rs.effective_from})" for rs in rules)
        )
    if len(matching) > 1:
        raise ValueError(f"rule sets overlap for {year}: {[rs.version for rs in matching]}")
    return matching[0]


_INTERNAL_REFERENCES = (
    # The research notes the rules were checked against: for whoever maintains this table, not
    # for a trader (``shared/reference/einvoice.md §1: [L] …``, ``tnt eafca0db99fcf8bf.md``).
    re.compile(
        r"shared/reference/[\w./-]+\.md(?:\s*§\s*\d+)?(?::\s*\[[VLU]\][^;)]*)?(?:\s*không nêu)?"
    ),
    re.compile(r"(?:theo\s+)?(?:tnt\s+)?[0-9a-f]{16}\.md"),
    re.compile(r"\s*…\d+\.html"),  # "vir.com.vn …142706.html": the site's name is enough
)


def public_source(source: str) -> str:
    """A rule's source as shown to traders: the laws and the sites, without the file names of the
    team's research notes."""
    text = source
    for pattern in _INTERNAL_REFERENCES:
        text = pattern.sub("", text)
    # Tidy the separators the references leave behind.
    text = re.sub(r"\s*[,;]\s*(?=[,;)])", "", text)
    text = re.sub(r"\(\s*[,;]\s*", "(", text)
    text = re.sub(r"\s*\(\s*\)", "", text)
    text = re.sub(r"\s{2,}", " ", text)
    return text.strip()
