"""Reads for the trader's and the market's figures: the daily close (chốt sổ), takings (doanh
thu), the household-tax estimate (ước tính thuế) and the staff dashboard per market.

Money is counted the way the trader counts it at the end of the day (cash basis):

* a sale counts when it was paid (``Order.paid_at``), for its total;
* a refund counts when it succeeded (its payments ``Refund.confirmed_at``), for its amount;
* bank credits that match no sale (``LedgerEntry`` kinds walk_in and unmatched) count when we
  recorded them (``LedgerEntry.created_at``).

The tax estimate is the exception: there a sale counts for what it finally came to (total minus
what was refunded on it) in the month it was paid, so a month's revenue is never negative.

Local days, weeks (Monday first) and months are those of Asia/Ho_Chi_Minh (settings.TIME_ZONE).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import NotFound, PermissionDenied, ValidationFailed
from merchants.models import Membership, Merchant, User
from payments.models import LedgerEntry, Refund

from . import tax_rules
from .models import DailyClose, Market, Order, OrderLine, OrderRefund, Stall

METHODS: tuple[str, ...] = tuple(Order.PaymentMethod.values)  # bank_qr, ewallet, cash
CASHLESS: tuple[str, ...] = (Order.PaymentMethod.BANK_QR, Order.PaymentMethod.EWALLET)
PAID_STATUSES = (
    Order.Status.PAID,
    Order.Status.PARTIALLY_REFUNDED,
    Order.Status.REFUNDED,
)
DASHBOARD_PERMISSION = "market.view_market_dashboard"
ACTIVE_DAYS = 7
MAX_BOOK_DAYS = 366


# --- time helpers -------------------------------------------------------------------------------


def local_midnight(day: date) -> datetime:
    """The aware start of a local (Asia/Ho_Chi_Minh) day."""
    return timezone.make_aware(datetime.combine(day, time.min))


def day_range(first: date, last: date) -> tuple[datetime, datetime]:
    """[start of ``first``, start of the day after ``last``) as aware datetimes."""
    return local_midnight(first), local_midnight(last + timedelta(days=1))


def parse_day(raw: str | None, *, field_name: str) -> date | None:
    """'2026-03-31' (as an <input type=date> sends it) or '31/03/2026'; empty → None."""
    text = (raw or "").strip()
    if not text:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValidationFailed(
        _("Ngày không hợp lệ, ví dụ 31/03/2026."),
        fields={field_name: [_("Ngày không hợp lệ, ví dụ 31/03/2026.")]},
        code="bad_date",
    )


def book_period(*, raw_from: str | None, raw_to: str | None, today: date) -> tuple[date, date]:
    """The revenue book's period: from the 1st of this year to today unless given."""
    first = parse_day(raw_from, field_name="tu") or date(today.year, 1, 1)
    last = parse_day(raw_to, field_name="den") or today
    if first > last:
        raise ValidationFailed(
            _("Ngày bắt đầu phải trước ngày kết thúc."), code="bad_period", fields={"tu": []}
        )
    if (last - first).days >= MAX_BOOK_DAYS:
        raise ValidationFailed(
            _("Mỗi lần xuất tối đa 366 ngày."), code="period_too_long", fields={"den": []}
        )
    return first, last


def share_percent(part: int, whole: int) -> Decimal | None:
    """part / whole in percent, one decimal (Decimal, never float); None when whole is 0."""
    if whole <= 0:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def percent_text(value: Decimal | None) -> str:
    """Decimal("66.7") → "66,7"; Decimal("50.0") → "50"; None → "—"."""
    if value is None:
        return "—"
    return f"{value.normalize():f}".replace(".", ",")


# --- orders and refunds in a period -----------------------------------------------------------


def paid_orders(*, merchant: Merchant, start: datetime, end: datetime) -> QuerySet[Order]:
    """Orders paid in [start, end), whatever happened to them since (refunds count apart)."""
    return Order.objects.filter(
        merchant=merchant, paid_at__gte=start, paid_at__lt=end, status__in=PAID_STATUSES
    )


def succeeded_refunds(
    *, merchant: Merchant, start: datetime, end: datetime
) -> QuerySet[OrderRefund]:
    """Refunds that went through in [start, end): their state is the payments Refund's."""
    return OrderRefund.objects.filter(
        order__merchant=merchant,
        payment_refund__status=Refund.Status.SUCCEEDED,
        payment_refund__confirmed_at__gte=start,
        payment_refund__confirmed_at__lt=end,
    )


def _by_method(rows: QuerySet[Any], amount_field: str, method_field: str) -> dict[str, dict]:
    out = {m: {"count": 0, "total": 0} for m in METHODS}
    for row in rows.values(method_field).annotate(n=Count("pk"), t=Sum(amount_field)):
        out[row[method_field]] = {"count": row["n"], "total": int(row["t"] or 0)}
    return out


# --- the daily close (chốt sổ) ------------------------------------------------------------------


@dataclass(frozen=True)
class CloseFigures:
    """What a daily close shows and stores (``DailyClose.figures``), every amount int VND."""

    period_start: datetime
    period_end: datetime
    business_date: date
    sales_by_method: dict[str, dict[str, int]]
    sales_count: int
    sales_total: int
    refunds_by_method: dict[str, dict[str, int]]
    refunds_count: int
    refunds_total: int
    net_total: int
    walk_in_count: int
    walk_in_total: int
    overpaid_count: int
    overpaid_extra: int  # how much more than asked the shoppers sent
    underpaid_count: int
    underpaid_total: int
    unmatched_credits: list[dict[str, Any]] = field(default_factory=list)
    unmatched_total: int = 0
    cash_sales: int = 0
    cash_refunds: int = 0
    cash_expected: int = 0

    @property
    def cashless_total(self) -> int:
        return sum(self.sales_by_method[m]["total"] for m in CASHLESS)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["period_start"] = self.period_start.isoformat()
        data["period_end"] = self.period_end.isoformat()
        data["business_date"] = self.business_date.isoformat()
        return data


def last_close(*, merchant: Merchant) -> DailyClose | None:
    return DailyClose.objects.filter(merchant=merchant).order_by("-period_end", "-pk").first()


# A first close after a long while closes at most this many earlier days on their own.
MAX_CATCH_UP_DAYS = 400


@dataclass(frozen=True)
class ClosePeriod:
    """One close to make: the local day it is for and the [start, end) it counts."""

    business_date: date
    start: datetime
    end: datetime


@dataclass(frozen=True)
class ClosePlan:
    """What closing at ``today.end`` does: first the earlier days that had activity and no close
    yet, each closed on its own (``earlier``, oldest first), then today."""

    earlier: list[ClosePeriod]
    today: ClosePeriod


def activity_days(*, merchant: Merchant, start: datetime, end: datetime) -> set[date]:
    """Local days with something a close counts in [start, end): a sale paid, a refund that
    succeeded, a bank credit recorded."""
    tz = timezone.get_current_timezone()
    days: set[date] = set()
    for rows, moment in (
        (paid_orders(merchant=merchant, start=start, end=end), "paid_at"),
        (
            LedgerEntry.objects.filter(
                merchant=merchant, created_at__gte=start, created_at__lt=end
            ),
            "created_at",
        ),
    ):
        days.update(
            rows.annotate(day=TruncDate(moment, tzinfo=tz))
            .order_by()
            .values_list("day", flat=True)
            .distinct()
        )
    # Refunds are few; their moment is read as succeeded_refunds defines it.
    for refund in succeeded_refunds(merchant=merchant, start=start, end=end).select_related(
        "payment_refund"
    ):
        if refund.confirmed_at is not None:
            days.add(timezone.localdate(refund.confirmed_at))
    return days


def _close_start(
    *, day: date, previous_end: datetime | None, previous_day: date | None
) -> datetime:
    """Where the close of ``day`` starts: at the previous close's end when that close was the day
    before (what was sold after it counts now), else at the day's midnight."""
    midnight = local_midnight(day)
    if previous_end is None or previous_day is None:
        return midnight
    if previous_day == day - timedelta(days=1):
        return previous_end
    return max(previous_end, midnight)


def close_plan(*, merchant: Merchant, now: datetime) -> ClosePlan:
    """The closes a close made at ``now`` makes. Today's covers the local day of ``now`` (from
    the previous close's end if that was yesterday's). Every earlier day with activity since the
    previous close (or ever, going back at most ``MAX_CATCH_UP_DAYS``) and no close of its own
    is closed first, as its own day; days with nothing to count get no close. Activity after a
    close on the day of that close counts in the next day's close."""
    today = timezone.localdate(now)
    floor = local_midnight(today - timedelta(days=MAX_CATCH_UP_DAYS))
    previous = last_close(merchant=merchant)
    previous_end = previous.period_end if previous is not None else None
    previous_day = previous.business_date if previous is not None else None
    since = max(previous_end, floor) if previous_end is not None else floor
    closed = set(
        DailyClose.objects.filter(
            merchant=merchant, business_date__gte=timezone.localdate(since)
        ).values_list("business_date", flat=True)
    )
    pending: set[date] = set()
    if since < local_midnight(today):
        for day in activity_days(merchant=merchant, start=since, end=local_midnight(today)):
            while day in closed:  # never re-close a day: its later activity goes to the next
                day += timedelta(days=1)
            if day < today:
                pending.add(day)
    earlier: list[ClosePeriod] = []
    for day in sorted(pending):
        start = _close_start(day=day, previous_end=previous_end, previous_day=previous_day)
        end = local_midnight(day + timedelta(days=1))
        earlier.append(ClosePeriod(business_date=day, start=start, end=end))
        previous_end, previous_day = end, day
    start = _close_start(day=today, previous_end=previous_end, previous_day=previous_day)
    return ClosePlan(
        earlier=earlier,
        today=ClosePeriod(business_date=today, start=min(start, now), end=now),
    )


def close_period_start(*, merchant: Merchant, now: datetime) -> datetime:
    """Where today's close starts (see ``close_plan``)."""
    return close_plan(merchant=merchant, now=now).today.start


def close_figures(*, merchant: Merchant, start: datetime, end: datetime) -> CloseFigures:
    """The figures of a close over [start, end), as the page previews and the close stores."""
    orders = paid_orders(merchant=merchant, start=start, end=end)
    sales = _by_method(orders, "total", "payment_method")
    refunds = _by_method(
        succeeded_refunds(merchant=merchant, start=start, end=end),
        "amount",
        "order__payment_method",
    )
    ledger = LedgerEntry.objects.filter(
        merchant=merchant, created_at__gte=start, created_at__lt=end
    )
    walk_in = ledger.filter(kind=LedgerEntry.Kind.WALK_IN).aggregate(n=Count("pk"), t=Sum("amount"))
    underpaid = ledger.filter(flag="underpaid").aggregate(n=Count("pk"), t=Sum("amount"))
    overpaid = list(ledger.filter(flag="overpaid").select_related("intent"))
    unmatched: list[dict[str, Any]] = [
        {
            "time": timezone.localtime(e.created_at).isoformat(),
            "amount": e.amount,
            "kind": e.kind,
            "flag": e.flag,
            "bank_reference": e.notification.bank_reference if e.notification else "",
            "counter_name": e.notification.counter_name if e.notification else "",
            "description": (e.notification.description if e.notification else e.memo)[:255],
        }
        for e in ledger.filter(kind__in=[LedgerEntry.Kind.WALK_IN, LedgerEntry.Kind.UNMATCHED])
        .select_related("notification")
        .order_by("created_at", "pk")
    ]
    sales_total = sum(v["total"] for v in sales.values())
    refunds_total = sum(v["total"] for v in refunds.values())
    cash_sales = sales[Order.PaymentMethod.CASH]["total"]
    cash_refunds = refunds[Order.PaymentMethod.CASH]["total"]
    return CloseFigures(
        period_start=start,
        period_end=end,
        business_date=timezone.localdate(end),
        sales_by_method=sales,
        sales_count=sum(v["count"] for v in sales.values()),
        sales_total=sales_total,
        refunds_by_method=refunds,
        refunds_count=sum(v["count"] for v in refunds.values()),
        refunds_total=refunds_total,
        net_total=sales_total - refunds_total,
        walk_in_count=walk_in["n"],
        walk_in_total=int(walk_in["t"] or 0),
        overpaid_count=len(overpaid),
        overpaid_extra=sum(
            e.amount - (e.intent.amount if e.intent else e.amount) for e in overpaid
        ),
        underpaid_count=underpaid["n"],
        underpaid_total=int(underpaid["t"] or 0),
        unmatched_credits=unmatched,
        unmatched_total=sum(u["amount"] for u in unmatched),
        cash_sales=cash_sales,
        cash_refunds=cash_refunds,
        cash_expected=cash_sales - cash_refunds,
    )


def close_preview(
    *, merchant: Merchant, now: datetime | None = None, plan: ClosePlan | None = None
) -> CloseFigures:
    """Today's figures as a close made now would store them (earlier days apart)."""
    period = (plan or close_plan(merchant=merchant, now=now or timezone.now())).today
    return close_figures(merchant=merchant, start=period.start, end=period.end)


def closes_of(*, merchant: Merchant) -> QuerySet[DailyClose]:
    return DailyClose.objects.filter(merchant=merchant).select_related("closed_by")


def close_of(*, merchant: Merchant, close_id: int) -> DailyClose:
    close = closes_of(merchant=merchant).filter(pk=close_id).first()
    if close is None:
        raise NotFound(_("Không tìm thấy lần chốt sổ."))
    return close


def close_today(*, merchant: Merchant, today: date | None = None) -> DailyClose | None:
    return (
        DailyClose.objects.filter(merchant=merchant, business_date=today or timezone.localdate())
        .order_by("pk")
        .first()
    )


def close_orders(*, close: DailyClose) -> QuerySet[Order]:
    """The sales a close counted (for its CSV): paid within its period."""
    return (
        paid_orders(merchant=close.merchant, start=close.period_start, end=close.period_end)
        .prefetch_related("lines")
        .order_by("paid_at", "pk")
    )


def close_refunds(*, close: DailyClose) -> QuerySet[OrderRefund]:
    return (
        succeeded_refunds(merchant=close.merchant, start=close.period_start, end=close.period_end)
        .select_related("order", "payment_refund")
        .order_by("payment_refund__confirmed_at", "pk")
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
        return tax_rules.format_rate(value)
    if isinstance(value, int):
        return tax_rules.format_vnd(value)
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
                tax_rules.format_vnd(band.max_revenue)
                if band.max_revenue is not None
                else str(_("trở lên"))
            )
            label += f" ({tax_rules.format_vnd(low)} – {high})"
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
    estimate: tax_rules.TaxEstimate | None
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
        tax_rules.estimate_household_tax(
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


# --- staff dashboard per market -----------------------------------------------------------------


def market_for_dashboard(*, user: User, slug: str) -> Market:
    """The market, if the user holds the explicit dashboard permission (else 403)."""
    if not user.has_perm(DASHBOARD_PERMISSION):
        raise PermissionDenied(_("Bạn không có quyền xem báo cáo chợ."))
    market = Market.objects.filter(slug=slug).first()
    if market is None:
        raise NotFound(_("Không tìm thấy chợ."))
    return market


@dataclass
class StallFigure:
    stall_id: int
    code: str
    merchant_id: int
    merchant_name: str
    trader_name: str
    trader_phone: str
    sales_count: int = 0
    sales_total: int = 0
    cashless_count: int = 0
    cashless_total: int = 0
    walk_in_count: int = 0
    walk_in_total: int = 0
    last_sale_at: datetime | None = None
    active: bool = False

    @property
    def cashless_share(self) -> Decimal | None:
        return share_percent(self.cashless_total, self.sales_total)

    @property
    def cashless_share_text(self) -> str:
        return percent_text(self.cashless_share)


@dataclass(frozen=True)
class WeekShare:
    week_start: date
    count: int
    cashless_count: int
    total: int
    cashless_total: int

    @property
    def share_by_value(self) -> Decimal | None:
        return share_percent(self.cashless_total, self.total)

    @property
    def share_by_count(self) -> Decimal | None:
        return share_percent(self.cashless_count, self.count)


@dataclass(frozen=True)
class MarketDashboard:
    market: Market
    first: date
    last: date
    days: int
    stall_count: int
    occupied_count: int
    active_count: int  # a sale in the last 7 days
    sales_count: int
    cashless_count: int
    sales_total: int
    cashless_total: int
    stalls: list[StallFigure]
    needs_help: list[StallFigure]  # occupied stalls with no cashless sale in the period
    weeks: list[WeekShare]

    @property
    def share_by_count(self) -> Decimal | None:
        return share_percent(self.cashless_count, self.sales_count)

    @property
    def share_by_value(self) -> Decimal | None:
        return share_percent(self.cashless_total, self.sales_total)

    @property
    def share_by_count_text(self) -> str:
        return percent_text(self.share_by_count)

    @property
    def share_by_value_text(self) -> str:
        return percent_text(self.share_by_value)


def _owners(merchant_ids: list[int]) -> dict[int, User]:
    owners: dict[int, User] = {}
    for membership in (
        Membership.objects.filter(merchant_id__in=merchant_ids, role=Membership.Role.OWNER)
        .select_related("user")
        .order_by("pk")
    ):
        owners.setdefault(membership.merchant_id, membership.user)
    return owners


def _market_money(
    *, market: Market, stalls: list[Stall], start: datetime, end: datetime
) -> list[tuple[int, datetime, int, bool, bool]]:
    """(stall id, when, amount, cashless, is_walk_in) for every sale at the market's stalls in
    [start, end): paid orders (by their stall) and transfers to a trader's static QR with no sale
    attached (walk-ins, given to the trader's first stall in this market)."""
    stall_of_merchant: dict[int, int] = {}
    for stall in sorted(stalls, key=lambda s: (s.code, s.pk)):
        if stall.merchant_id is not None:
            stall_of_merchant.setdefault(stall.merchant_id, stall.pk)
    money: list[tuple[int, datetime, int, bool, bool]] = []
    for stall_id, paid_at, total, method in Order.objects.filter(
        stall__market=market,
        paid_at__gte=start,
        paid_at__lt=end,
        status__in=PAID_STATUSES,
    ).values_list("stall_id", "paid_at", "total", "payment_method"):
        if paid_at is not None and stall_id is not None:
            money.append((stall_id, paid_at, int(total), method in CASHLESS, False))
    for merchant_id, created_at, amount in LedgerEntry.objects.filter(
        merchant_id__in=list(stall_of_merchant),
        kind=LedgerEntry.Kind.WALK_IN,
        created_at__gte=start,
        created_at__lt=end,
    ).values_list("merchant_id", "created_at", "amount"):
        money.append((stall_of_merchant[merchant_id], created_at, int(amount), True, True))
    return money


def market_dashboard(
    *, market: Market, days: int = 30, today: date | None = None
) -> MarketDashboard:
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    stalls = list(Stall.objects.filter(market=market).select_related("merchant").order_by("code"))
    occupied = [s for s in stalls if s.merchant_id is not None]
    owners = _owners([s.merchant_id for s in occupied if s.merchant_id is not None])
    figures: dict[int, StallFigure] = {}
    for stall in occupied:
        assert stall.merchant is not None
        owner = owners.get(stall.merchant.pk)
        figures[stall.pk] = StallFigure(
            stall_id=stall.pk,
            code=stall.code,
            merchant_id=stall.merchant.pk,
            merchant_name=stall.merchant.display_name,
            trader_name=owner.full_name if owner else stall.merchant.legal_name,
            trader_phone=(owner.phone_display if owner else "") or stall.merchant.phone,
        )
    # Eight whole weeks (Monday first) ending with this one, and the chosen period.
    week0 = today - timedelta(days=today.weekday()) - timedelta(weeks=7)
    earliest = min(first, week0, today - timedelta(days=ACTIVE_DAYS - 1))
    start, end = day_range(earliest, today)
    period_start = local_midnight(first)
    active_since = local_midnight(today - timedelta(days=ACTIVE_DAYS - 1))
    weeks: dict[date, list[int]] = {week0 + timedelta(weeks=i): [0, 0, 0, 0] for i in range(8)}
    for stall_id, when, amount, cashless, walk_in in _market_money(
        market=market, stalls=stalls, start=start, end=end
    ):
        fig = figures.get(stall_id)
        local_day = timezone.localtime(when).date()
        week = local_day - timedelta(days=local_day.weekday())
        if week in weeks:
            w = weeks[week]
            w[0] += 1
            w[1] += int(cashless)
            w[2] += amount
            w[3] += amount if cashless else 0
        if fig is None:
            continue
        if when >= active_since:
            fig.active = True
        if fig.last_sale_at is None or when > fig.last_sale_at:
            fig.last_sale_at = when
        if when >= period_start:
            fig.sales_count += 1
            fig.sales_total += amount
            if cashless:
                fig.cashless_count += 1
                fig.cashless_total += amount
            if walk_in:
                fig.walk_in_count += 1
                fig.walk_in_total += amount
    rows = list(figures.values())
    return MarketDashboard(
        market=market,
        first=first,
        last=today,
        days=days,
        stall_count=len(stalls),
        occupied_count=len(occupied),
        active_count=sum(1 for f in rows if f.active),
        sales_count=sum(f.sales_count for f in rows),
        cashless_count=sum(f.cashless_count for f in rows),
        sales_total=sum(f.sales_total for f in rows),
        cashless_total=sum(f.cashless_total for f in rows),
        stalls=rows,
        needs_help=[f for f in rows if f.cashless_count == 0],
        weeks=[
            WeekShare(
                week_start=k, count=v[0], cashless_count=v[1], total=v[2], cashless_total=v[3]
            )
            for k, v in sorted(weeks.items())
        ],
    )
