"""Takings (doanh thu): today/week/month per payment method, the 30-day series and the best
sellers. Money is counted as ``market.figures.periods`` says (cash basis, local days)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant
from payments.models import Refund

from ..models import Order, OrderLine, OrderRefund
from .periods import (
    CASHLESS,
    METHODS,
    _by_method,
    day_range,
    paid_orders,
    percent_text,
    share_percent,
    succeeded_refunds,
)

# --- takings (doanh thu) -------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodTakings:
    key: str
    label: Any  # a lazy translation
    first: date
    last: date
    sales_count: int
    gross: int
    refunds: int
    net: int
    cash_net: int
    cashless_net: int
    cashless_share: Decimal | None  # percent of net, None when net ≤ 0

    @property
    def cashless_share_text(self) -> str:
        return percent_text(self.cashless_share)

    @property
    def cashless_bar(self) -> int:
        """Width of the cashless part of a 0–100 bar."""
        return max(0, min(100, int(self.cashless_share or 0)))


@dataclass(frozen=True)
class DayTakings:
    day: date
    gross: int
    refunds: int
    net: int
    cashless_net: int


@dataclass(frozen=True)
class ProductFigure:
    name: str
    unit: str
    quantity: Decimal
    revenue: int
    sales: int  # number of orders it was sold in

    @property
    def quantity_text(self) -> str:
        """Decimal("44.850") → "44,85"; Decimal("96.000") → "96"."""
        return f"{self.quantity.normalize():f}".replace(".", ",")


@dataclass(frozen=True)
class Takings:
    today: date
    periods: list[PeriodTakings]
    days: list[DayTakings]  # oldest first, 30 days ending today
    top_by_revenue: list[ProductFigure]
    top_by_quantity: list[ProductFigure]


def period_takings(
    *, merchant: Merchant, first: date, last: date, key: str = "", label: Any = ""
) -> PeriodTakings:
    start, end = day_range(first, last)
    sales = _by_method(
        paid_orders(merchant=merchant, start=start, end=end), "total", "payment_method"
    )
    refunds = _by_method(
        succeeded_refunds(merchant=merchant, start=start, end=end),
        "amount",
        "order__payment_method",
    )
    net = {m: sales[m]["total"] - refunds[m]["total"] for m in METHODS}
    total_net = sum(net.values())
    cashless = sum(net[m] for m in CASHLESS)
    return PeriodTakings(
        key=key,
        label=label,
        first=first,
        last=last,
        sales_count=sum(v["count"] for v in sales.values()),
        gross=sum(v["total"] for v in sales.values()),
        refunds=sum(v["total"] for v in refunds.values()),
        net=total_net,
        cash_net=net[Order.PaymentMethod.CASH],
        cashless_net=cashless,
        cashless_share=share_percent(cashless, total_net),
    )


def daily_series(*, merchant: Merchant, last: date, days: int = 30) -> list[DayTakings]:
    first = last - timedelta(days=days - 1)
    start, end = day_range(first, last)
    tz = timezone.get_current_timezone()
    gross: dict[date, int] = defaultdict(int)
    cashless: dict[date, int] = defaultdict(int)
    refunds: dict[date, int] = defaultdict(int)
    for row in (
        paid_orders(merchant=merchant, start=start, end=end)
        .annotate(day=TruncDate("paid_at", tzinfo=tz))
        .values("day", "payment_method")
        .annotate(t=Sum("total"))
    ):
        gross[row["day"]] += int(row["t"])
        if row["payment_method"] in CASHLESS:
            cashless[row["day"]] += int(row["t"])
    for row in (
        succeeded_refunds(merchant=merchant, start=start, end=end)
        .annotate(day=TruncDate("payment_refund__confirmed_at", tzinfo=tz))
        .values("day", "order__payment_method")
        .annotate(t=Sum("amount"))
    ):
        refunds[row["day"]] += int(row["t"])
        if row["order__payment_method"] in CASHLESS:
            cashless[row["day"]] -= int(row["t"])
    series = []
    for i in range(days):
        day = first + timedelta(days=i)
        series.append(
            DayTakings(
                day=day,
                gross=gross[day],
                refunds=refunds[day],
                net=gross[day] - refunds[day],
                cashless_net=cashless[day],
            )
        )
    return series


def top_products(
    *, merchant: Merchant, first: date, last: date, limit: int = 5
) -> tuple[list[ProductFigure], list[ProductFigure]]:
    """Best sellers from the lines as sold (snapshots: name and unit at the time of the sale),
    net of refunds made on a line; sales refunded in full are left out."""
    start, end = day_range(first, last)
    lines = (
        OrderLine.objects.filter(
            order__merchant=merchant,
            order__paid_at__gte=start,
            order__paid_at__lt=end,
            order__status__in=[Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED],
        )
        .values("name", "unit")
        .annotate(q=Sum("quantity"), t=Sum("amount"), n=Count("order", distinct=True))
    )
    line_refunds = {
        (r["line__name"], r["line__unit"]): int(r["t"])
        for r in OrderRefund.objects.filter(
            order__merchant=merchant,
            order__paid_at__gte=start,
            order__paid_at__lt=end,
            order__status__in=[Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED],
            line__isnull=False,
            payment_refund__status=Refund.Status.SUCCEEDED,
        )
        .values("line__name", "line__unit")
        .annotate(t=Sum("amount"))
    }
    figures = [
        ProductFigure(
            name=row["name"],
            unit=row["unit"],
            quantity=Decimal(row["q"] or 0).quantize(Decimal("0.001")),
            revenue=int(row["t"] or 0) - line_refunds.get((row["name"], row["unit"]), 0),
            sales=row["n"],
        )
        for row in lines
    ]
    by_revenue = sorted(figures, key=lambda f: (-f.revenue, f.name))[:limit]
    by_quantity = sorted(figures, key=lambda f: (-f.quantity, f.name))[:limit]
    return by_revenue, by_quantity


def takings(*, merchant: Merchant, today: date | None = None) -> Takings:
    today = today or timezone.localdate()
    week_start = today - timedelta(days=today.weekday())
    month_start = today.replace(day=1)
    periods = [
        period_takings(merchant=merchant, first=today, last=today, key="today", label=_("Hôm nay")),
        period_takings(
            merchant=merchant, first=week_start, last=today, key="week", label=_("Tuần này")
        ),
        period_takings(
            merchant=merchant, first=month_start, last=today, key="month", label=_("Tháng này")
        ),
    ]
    days = daily_series(merchant=merchant, last=today, days=30)
    by_revenue, by_quantity = top_products(
        merchant=merchant, first=today - timedelta(days=29), last=today
    )
    return Takings(
        today=today,
        periods=periods,
        days=days,
        top_by_revenue=by_revenue,
        top_by_quantity=by_quantity,
    )
