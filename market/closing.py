"""Writes for the daily close (chốt sổ): the trader's end of the business day.

A close covers everything since the previous close (or the merchant's first activity) up to the
moment it is made, stores the figures as they were (``reports.close_figures``) with the cash the
trader counted, and never changes afterwards. One close per merchant per local business date:
the merchant's row is locked while closing and a unique constraint backs the check, so two taps
on "Chốt sổ" give one close and a clear "Hôm nay đã chốt sổ" for the other.
"""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import audit_record
from core.errors import Conflict, ValidationFailed
from core.locking import lock_row
from core.text import nfc
from merchants.models import Merchant, User

from . import reports
from .models import DailyClose

MAX_CASH = 10_000_000_000  # 10 tỷ đồng: more cash than this in a drawer is a typo


class AlreadyClosed(Conflict):
    code = "already_closed"
    default_message = _("Hôm nay đã chốt sổ.")


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


def daily_close_create(
    *,
    merchant: Merchant,
    cash_counted: int,
    note: str = "",
    actor: User | None,
    actor_label: str = "",
    now: datetime | None = None,
) -> DailyClose:
    """Close the books for today: figures since the last close, the counted cash, a note."""
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
            start = reports.close_period_start(merchant=merchant, now=end)
            figures = reports.close_figures(merchant=merchant, start=start, end=end)
            close = DailyClose.objects.create(
                merchant=merchant,
                business_date=business_date,
                period_start=start,
                period_end=end,
                figures=figures.as_json(),
                sales_total=figures.sales_total,
                cash_expected=figures.cash_expected,
                cash_counted=cash,
                note=note,
                closed_by=actor,
            )
            audit_record(
                actor=actor,
                actor_label=label,
                action="daily_close.create",
                target=close,
                reason=note,
                data={
                    "business_date": business_date.isoformat(),
                    "sales_total": figures.sales_total,
                    "cash_expected": figures.cash_expected,
                    "cash_counted": cash,
                },
            )
    except IntegrityError:
        # The unique (merchant, business_date) caught a close made in between.
        raise AlreadyClosed() from None
    return close
