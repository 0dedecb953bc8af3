"""Invoice numbers (SHDon): consecutive from 1 per series and year, no gaps, no duplicates.

The next number comes from a per-(series, year) counter row locked (SELECT … FOR UPDATE) inside
the issuing transaction; a rolled-back issue gives its number back with the rollback. The unique
constraint (series, year, number) on Invoice is the backstop.
"""

from __future__ import annotations

from django.db import connection
from django.utils.translation import gettext_lazy as _

from core.errors import Conflict
from core.locking import lock_row

from .models import Series, SeriesCounter

MAX_NUMBER = 99_999_999  # at most 8 digits


def number_allocate(*, series: Series, year: int) -> int:
    """The next number of ``series`` in ``year``. Must run inside the issuing transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("number_allocate() must run inside transaction.atomic()")
    counter, _created = SeriesCounter.objects.get_or_create(series=series, year=year)
    counter = lock_row(SeriesCounter, counter.pk)
    if counter.last_number >= MAX_NUMBER:
        raise Conflict(
            _("Ký hiệu %(symbol)s đã dùng hết số hóa đơn của năm %(year)s.")
            % {"symbol": series.symbol, "year": year},
            code="series_exhausted",
        )
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return counter.last_number


def register_code(*, form: str, year: int, prefix: str, number: int) -> str:
    """The cash-register code M{form}-{YY}-{prefix}-{11 digits}, made locally (no online call).

    The 11 digits are the invoice number: unique because (form, prefix) names one series and
    numbers are unique per series and year (the code carries the year).
    """
    return f"M{form}-{year % 100:02d}-{prefix}-{number:011d}"
