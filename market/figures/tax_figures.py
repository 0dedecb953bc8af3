"""The household-tax page (ước tính thuế): revenue per month as the estimate counts it (a sale for
what it finally came to, in the month it was paid), the sourced rules shown beside the estimate,
and the revenue book (sổ doanh thu) for a period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import ValidationFailed
from merchants.models import Merchant

from ..models import Order
from . import tax_estimator, tax_rules
from .periods import (
    day_range,
    paid_orders,
)

# --- household-tax estimate (ước tính thuế hộ kinh doanh) --------------------------------------


def revenue_by_month(*, merchant: Merchant, year: int, upto_month: int) -> list[int]:
    """Revenue of January … ``upto_month`` of ``year``: paid sales of every channel, each for its
    total minus what was refunded on it, in the local month it was paid."""
    start, end = day_range(date(year, 1, 1), date(year, 12, 31))
    months = [0] * upto_month
    for paid_at, total, refunded in paid_orders(
        merchant=merchant, start=start, end=end
    ).values_list("paid_at", "total", "amount_refunded"):
        month = timezone.localtime(paid_at).month
        if month <= upto_month:
            months[month - 1] += int(total) - int(refunded)
    return months


@dataclass(frozen=True)
class RuleRow:
    """One sourced rule, ready to show: what it is, its value, its source, how sure we are."""

    name: str
    label: str
    value: str
    source: str
    confidence: str  # "[V]", "[L]", "[U]"
    note: str = ""


RULE_LABELS = {
    "effective_from_source": _("Áp dụng từ"),
    "exemption_threshold": _("Ngưỡng miễn thuế (doanh thu/năm)"),
    "pit_deducts_threshold": _("Thuế TNCN trừ ngưỡng trước khi tính"),
    "vat_deducts_threshold": _("Thuế GTGT trừ ngưỡng trước khi tính"),
    "vat_rate": _("Tỷ lệ thuế GTGT trên doanh thu"),
    "pit_rate": _("Tỷ lệ thuế TNCN trên doanh thu"),
    "rate": _("Thuế TNCN theo lợi nhuận"),
    "revenue_method_allowed": _("Được tính theo tỷ lệ trên doanh thu"),
    "quarter_allocation": _("Cách chia theo quý"),
    "projection": _("Cách dự kiến cả năm"),
    "caveats": _("Lưu ý"),
}


def _rule_value(value: object) -> str:
    if isinstance(value, bool):
        return str(_("Có") if value else _("Không"))
    if isinstance(value, Decimal):
        return tax_estimator.format_rate(value)
    if isinstance(value, int):
        return tax_estimator.format_vnd(value)
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, tax_rules.QuarterAllocation):
        return str(_("Thuế trên doanh thu lũy kế, quý sau trừ quý trước"))
    if isinstance(value, tax_rules.Projection):
        return str(_("Bình quân các tháng đã qua"))
    return str(value)


def rule_rows(*, rule_set: tax_rules.TaxRuleSet, sector: str) -> list[RuleRow]:
    """Every rule of the set that applies to this sector, as the page's "căn cứ" table."""
    rows = []
    for name, rule in rule_set.rules():
        parts = name.split(".")
        if parts[0] == "sectors" and parts[1] != sector:
            continue
        label = str(RULE_LABELS.get(parts[-1], RULE_LABELS.get(parts[0], name)))
        if parts[0] == "profit_bands":
            band = rule_set.profit_bands[int(parts[1]) - 1]
            low = band.min_revenue or rule_set.exemption_threshold.value + 1
            high = (
                tax_estimator.format_vnd(band.max_revenue)
                if band.max_revenue is not None
                else str(_("trở lên"))
            )
            label += f" ({tax_estimator.format_vnd(low)} – {high})"
        rows.append(
            RuleRow(
                name=name,
                label=label,
                value=_rule_value(rule.value),
                source=tax_rules.public_source(rule.source),
                confidence=rule.confidence.marker,
                note=rule.note,
            )
        )
    return rows


@dataclass(frozen=True)
class TaxPage:
    merchant: Merchant
    year: int
    applies: bool  # False for an enterprise: the estimate is for household businesses
    revenue_by_month: list[int]
    estimate: tax_estimator.TaxEstimate | None
    rules: list[RuleRow]
    error: str = ""


def tax_years(*, today: date) -> list[int]:
    """Years the rules table covers, up to this one (newest first)."""
    return [
        y for y in range(today.year, 2019, -1) if any(rs.covers(y) for rs in tax_rules.RULE_SETS)
    ]


def tax_estimate(
    *, merchant: Merchant, year: int | None = None, today: date | None = None
) -> TaxPage:
    today = today or timezone.localdate()
    year = year or today.year
    if year > today.year:
        raise ValidationFailed(_("Năm chưa tới."), code="bad_year", fields={"nam": []})
    upto = today.month if year == today.year else 12
    months = revenue_by_month(merchant=merchant, year=year, upto_month=upto)
    try:
        rule_set = tax_rules.rule_set_for_year(year)
    except ValueError:
        raise ValidationFailed(
            _("Chưa có quy tắc thuế hộ kinh doanh cho năm %(year)s (trước 2026 là thuế khoán).")
            % {"year": year},
            code="no_rules_for_year",
            fields={"nam": []},
        ) from None
    applies = merchant.kind == Merchant.Kind.HOUSEHOLD
    estimate = (
        tax_estimator.estimate_household_tax(
            sector=merchant.sector, revenue_by_month=months, year=year, rules=rule_set
        )
        if applies
        else None
    )
    return TaxPage(
        merchant=merchant,
        year=year,
        applies=applies,
        revenue_by_month=months,
        estimate=estimate,
        rules=rule_rows(rule_set=rule_set, sector=merchant.sector),
    )


# --- revenue book (sổ doanh thu) ----------------------------------------------------------------


@dataclass(frozen=True)
class BookRow:
    paid_at: datetime
    number: str
    method: str
    method_label: str
    items: str
    amount: int
    refunded: int

    @property
    def net(self) -> int:
        return self.amount - self.refunded


@dataclass(frozen=True)
class RevenueBook:
    merchant: Merchant
    first: date
    last: date
    rows: list[BookRow]
    total: int
    refunded: int
    net: int


def items_text(order: Order) -> str:
    parts = []
    for line in order.lines.all():
        qty = f"{line.quantity.normalize():f}".replace(".", ",")
        unit = f" {line.unit}" if line.unit else ""
        parts.append(f"{line.name} × {qty}{unit}")
    return "; ".join(parts)


def revenue_book(*, merchant: Merchant, first: date, last: date) -> RevenueBook:
    """Each sale paid in the period with what was refunded on it (by now), and the totals."""
    start, end = day_range(first, last)
    labels = dict(Order.PaymentMethod.choices)
    rows = [
        BookRow(
            paid_at=timezone.localtime(order.paid_at),
            number=order.number,
            method=order.payment_method,
            method_label=str(labels.get(order.payment_method, order.payment_method)),
            items=items_text(order),
            amount=order.total,
            refunded=order.amount_refunded,
        )
        for order in paid_orders(merchant=merchant, start=start, end=end)
        .prefetch_related("lines")
        .order_by("paid_at", "pk")
        if order.paid_at is not None
    ]
    total = sum(r.amount for r in rows)
    refunded = sum(r.refunded for r in rows)
    return RevenueBook(
        merchant=merchant,
        first=first,
        last=last,
        rows=rows,
        total=total,
        refunded=refunded,
        net=total - refunded,
    )
