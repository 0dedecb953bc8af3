"""The staff dashboard per market: cashless adoption, its weekly trend and the stalls that still
need help. Only users with the explicit dashboard permission see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import NotFound, PermissionDenied
from merchants.models import Membership, User
from payments.models import LedgerEntry

from ..models import Market, Order, Stall
from .periods import (
    ACTIVE_DAYS,
    CASHLESS,
    DASHBOARD_PERMISSION,
    PAID_STATUSES,
    day_range,
    local_midnight,
    percent_text,
    share_percent,
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
