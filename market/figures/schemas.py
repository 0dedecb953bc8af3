"""Request and response schemas of the figures API (``figures/api.py``, /api/v1/reports/)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from ninja import Field, Schema

from core.schemas import InSchema


class MethodFigure(Schema):
    count: int
    total: int


class UnmatchedCredit(Schema):
    time: datetime
    amount: int
    kind: str
    flag: str
    bank_reference: str
    counter_name: str
    description: str


class CloseFiguresOut(Schema):
    period_start: datetime
    period_end: datetime
    business_date: date
    sales_by_method: dict[str, MethodFigure]
    sales_count: int
    sales_total: int
    refunds_by_method: dict[str, MethodFigure]
    refunds_count: int
    refunds_total: int
    net_total: int
    walk_in_count: int
    walk_in_total: int
    overpaid_count: int
    overpaid_extra: int
    underpaid_count: int
    underpaid_total: int
    unmatched_credits: list[UnmatchedCredit]
    unmatched_total: int
    cash_sales: int
    cash_refunds: int
    cash_expected: int


class CloseIn(InSchema):
    multiline_fields: ClassVar = frozenset({"note"})

    # At most 10.000.000.000 (market/figures/closing.py answers a larger count with its own 422).
    cash_counted: int = Field(..., ge=0, description="Cash counted in the drawer, VND")
    note: str = Field("", max_length=255)


class CloseOut(Schema):
    id: int
    merchant_id: int
    business_date: date
    period_start: datetime
    period_end: datetime
    sales_total: int
    cash_expected: int
    cash_counted: int
    cash_difference: int
    note: str
    closed_by_id: int | None
    created_at: datetime
    figures: CloseFiguresOut


class PeriodOut(Schema):
    key: str
    first: date
    last: date
    sales_count: int
    gross: int
    refunds: int
    net: int
    cash_net: int
    cashless_net: int
    cashless_share: Decimal | None


class DayOut(Schema):
    day: date
    gross: int
    refunds: int
    net: int
    cashless_net: int


class TopProductOut(Schema):
    name: str
    unit: str
    quantity: Decimal
    revenue: int
    sales: int


class TakingsOut(Schema):
    today: date
    periods: list[PeriodOut]
    days: list[DayOut]
    top_by_revenue: list[TopProductOut]
    top_by_quantity: list[TopProductOut]


class QuarterOut(Schema):
    quarter: int
    status: str
    revenue: int
    vat: int
    pit: int
    projected_revenue: int
    projected_vat: int
    projected_pit: int


class RuleOut(Schema):
    name: str
    label: str
    value: str
    source: str
    confidence: str
    note: str


class TaxEstimateOut(Schema):
    is_estimate: bool = True
    label: str
    applies: bool
    note: str
    year: int
    sector: str
    revenue_by_month: list[int]
    revenue_ytd: int
    rule_set_version: str
    threshold: int
    vat_rate: Decimal | None
    pit_rate: Decimal | None
    threshold_crossed: bool | None
    threshold_crossed_month: int | None
    vat_ytd: int | None
    pit_ytd: int | None
    projected_revenue: int | None
    projected_vat: int | None
    projected_pit: int | None
    quarters: list[QuarterOut]
    explanation: list[str]
    rules: list[RuleOut]


class DashboardStallOut(Schema):
    code: str
    merchant_id: int
    merchant_name: str
    trader_name: str
    trader_phone: str
    sales_count: int
    sales_total: int
    cashless_count: int
    cashless_total: int
    walk_in_count: int
    walk_in_total: int
    cashless_share: Decimal | None
    last_sale_at: datetime | None
    active: bool


class WeekOut(Schema):
    week_start: date
    count: int
    cashless_count: int
    total: int
    cashless_total: int
    share_by_count: Decimal | None
    share_by_value: Decimal | None


class DashboardOut(Schema):
    market: str
    first: date
    last: date
    days: int
    stall_count: int
    occupied_count: int
    active_count: int
    sales_count: int
    cashless_count: int
    sales_total: int
    cashless_total: int
    share_by_count: Decimal | None
    share_by_value: Decimal | None
    stalls: list[DashboardStallOut]
    needs_help: list[str]  # stall codes
    weeks: list[WeekOut]
