"""Writes for the daily close (chốt sổ): the trader's end of the business day.

A close covers one local business day: today from midnight (or from yesterday's close, so what
was sold after it is counted) up to the moment it is made. It stores the figures as they were
(``day_close.close_figures``) with the cash the trader counted, and never changes afterwards.

Earlier days with activity and no close of their own (the first close after weeks of sales, a
day the trader forgot) are closed first, in the same transaction, each as its own day: its own
figures, the cash taken as the book says (nobody counted it, so no invented difference) and a
note saying it was closed automatically (``figures["auto"]``). See ``day_close.close_plan``.

One close per merchant per local business date: the merchant's row is locked while closing and
a unique constraint backs the check, so two taps on "Chốt sổ" give one close and a clear
"Hôm nay đã chốt sổ" for the other.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from core.audit import audit_record
from core.errors import Conflict, ValidationFailed
from core.locking import lock_row
from core.text import nfc
from merchants.models import Merchant, User

from ..models import DailyClose
from . import day_close

MAX_CASH = 10_000_000_000  # 10 tỷ đồng: more cash than this in a drawer is a typo


class AlreadyClosed(Conflict):
    code = "already_closed"
    default_message = _("Hôm nay đã chốt sổ.")


# Stored as written (Vietnamese, like the trader's notes); the pages show it translated.
AUTO_NOTE = gettext_noop("Tự động chốt: ngày chưa chốt sổ, tiền mặt chưa đếm")


def _clean_cash(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(
            fields={"cash_counted": [_("Tiền mặt đếm được là số đồng nguyên, ví dụ 1.250.000.")]}
        )
    if value < 0 or value > MAX_CASH:
        raise ValidationFailed(
            fields={"cash_counted": [_("Tiền mặt đếm được phải từ 0 đến 10.000.000.000 đ.")]}
        )
    return value


def _record_close(
    *,
    merchant: Merchant,
    period: day_close.ClosePeriod,
    cash_counted: int | None,
    note: str,
    actor: User | None,
    actor_label: str,
) -> DailyClose:
    """One close over ``period``; ``cash_counted=None`` closes a day nobody counted (auto)."""
    figures = day_close.close_figures(merchant=merchant, start=period.start, end=period.end)
    # An earlier day's period ends at the next midnight: the day is the period's, not the end's.
    figures = replace(figures, business_date=period.business_date)
    auto = cash_counted is None
    data = figures.as_json()
    if auto:
        data["auto"] = True
    # Nobody counted an auto day's cash: take the book's, so no difference is invented (a day
    # whose cash refunds exceed its cash sales books 0, the least a drawer can hold).
    cash = max(figures.cash_expected, 0) if cash_counted is None else cash_counted
    close = DailyClose.objects.create(
        merchant=merchant,
        business_date=period.business_date,
        period_start=period.start,
        period_end=period.end,
        figures=data,
        sales_total=figures.sales_total,
        cash_expected=figures.cash_expected,
        cash_counted=cash,
        note=note,
        closed_by=None if auto else actor,
    )
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="daily_close.create",
        target=close,
        reason=note,
        data={
            "business_date": period.business_date.isoformat(),
            "sales_total": figures.sales_total,
            "cash_expected": figures.cash_expected,
            "cash_counted": cash,
            "auto": auto,
        },
    )
    return close


def daily_close_create(
    *,
    merchant: Merchant,
    cash_counted: int,
    note: str = "",
    actor: User | None,
    actor_label: str = "",
    now: datetime | None = None,
) -> DailyClose:
    """Close the books for today with the counted cash and a note; earlier days with activity
    and no close are closed first, each on its own, uncounted. Returns today's close."""
    cash = _clean_cash(cash_counted)
    note = nfc(note or "").strip()
    if len(note) > 255:
        raise ValidationFailed(fields={"note": [_("Ghi chú tối đa 255 ký tự.")]})
    label = actor_label or (f"user:{actor.pk}" if actor is not None else "system")
    try:
        with transaction.atomic(durable=True):
            # One closer at a time per merchant; the second waits here, then sees the first.
            lock_row(Merchant, merchant.pk)
            end = now or timezone.now()
            business_date = timezone.localdate(end)
            if DailyClose.objects.filter(merchant=merchant, business_date=business_date).exists():
                raise AlreadyClosed()
            previous = day_close.last_close(merchant=merchant)
            if previous is not None and previous.business_date > business_date:
                raise AlreadyClosed()  # a later day is closed already: no closing back in time
            plan = day_close.close_plan(merchant=merchant, now=end)
            for period in plan.earlier:
                _record_close(
                    merchant=merchant,
                    period=period,
                    cash_counted=None,
                    note=AUTO_NOTE,
                    actor=actor,
                    actor_label=label,
                )
            close = _record_close(
                merchant=merchant,
                period=plan.today,
                cash_counted=cash,
                note=note,
                actor=actor,
                actor_label=label,
            )
    except IntegrityError:
        # The unique (merchant, business_date) caught a close made in between.
        raise AlreadyClosed() from None
    return close
