"""What every figure shares: the payment methods and paid statuses, local days and periods, the
paid orders and succeeded refunds of a period.

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

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import ValidationFailed
from merchants.models import Merchant
from payments.models import Refund

from ..models import Order, OrderRefund

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
