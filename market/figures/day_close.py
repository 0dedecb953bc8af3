"""The daily close (chốt sổ): what a close shows and stores, the days still to close, past
closes. Money is counted as ``market.figures.periods`` says (cash basis, local days)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import NotFound
from merchants.models import Merchant
from payments.models import LedgerEntry

from ..models import DailyClose, Order, OrderRefund
from .periods import (
    CASHLESS,
    _by_method,
    local_midnight,
    paid_orders,
    succeeded_refunds,
)

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
