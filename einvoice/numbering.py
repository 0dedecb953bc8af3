"""Invoice numbers (SHDon): consecutive from 1 per series and year, no gaps, no duplicates.

The next number comes from a per-(series, year) counter row, taken by one ``UPDATE … SET
last_number = last_number + 1 … RETURNING last_number`` inside the issuing transaction: the
UPDATE locks the row until the transaction ends, so a concurrent issue waits and then reads the
number after ours (PostgreSQL re-reads the updated row; SQLite writes one at a time), and a
rolled-back issue gives its number back with the rollback. A series' first invoice of a year
makes the row first (``INSERT … ON CONFLICT DO NOTHING``, then the UPDATE again). The unique
constraint (series, year, number) on Invoice is the backstop.

Dates never go backwards within a series: the row keeps the time of the last invoice
(``last_issued_at``) and the same statement moves it to the new invoice's time only when that is
not earlier, answering the time it holds afterwards (the row's newest version, as the number).
The same statement reads the merchant's active signing certificate (its id and key fingerprint),
which signing needs next: one round trip instead of four.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from core.errors import Conflict

from .models import Series, SeriesCounter, SigningCertificate

MAX_NUMBER = 99_999_999  # at most 8 digits


@dataclass(frozen=True)
class Allocation:
    number: int
    # The time of the series' last invoice now: the one asked for, or the previous invoice's when
    # that is later (then the caller refuses an explicit time, or dates "now" as that).
    issued_at: datetime
    # The merchant's active signing certificate when the number was taken (None: none yet).
    certificate_id: int | None
    key_fingerprint: str | None  # signing.key_fingerprint of its encrypted key


def _allocate_sql() -> str:
    quote = connection.ops.quote_name
    counter = quote(SeriesCounter._meta.db_table)
    cert = quote(SigningCertificate._meta.db_table)
    key = quote(SigningCertificate._meta.get_field("key_encrypted").column)
    last = quote(SeriesCounter._meta.get_field("last_number").column)
    stamp = quote(SeriesCounter._meta.get_field("last_issued_at").column)
    series = quote(SeriesCounter._meta.get_field("series").column)
    year = quote(SeriesCounter._meta.get_field("year").column)
    merchant = quote(SigningCertificate._meta.get_field("merchant").column)
    active = quote(SigningCertificate._meta.get_field("is_active").column)
    of_merchant = f"FROM {cert} WHERE {merchant} = %s AND {active} = %s"
    # The fingerprint is the key's last 16 characters (SUBSTR from LENGTH - 15: both databases).
    # Names from the models' metadata, values as parameters.
    later = f"CASE WHEN {stamp} IS NULL OR {stamp} < %s THEN %s ELSE {stamp} END"
    update = f"UPDATE {counter} SET {last} = {last} + 1, {stamp} = {later}"  # noqa: S608
    where = f"WHERE {series} = %s AND {year} = %s AND {last} < %s"
    certificate = f"(SELECT id {of_merchant})"
    fingerprint = f"(SELECT SUBSTR({key}, LENGTH({key}) - 15) {of_merchant})"
    return f"{update} {where} RETURNING {last}, {stamp}, {certificate}, {fingerprint}"


def _aware(value: datetime | str) -> datetime:
    """A datetime as the driver answers it (SQLite: naive UTC text) → aware."""
    parsed = parse_datetime(value) if isinstance(value, str) else value
    if parsed is None:
        raise ValueError(f"not a datetime: {value!r}")
    return timezone.make_aware(parsed, UTC) if timezone.is_naive(parsed) else parsed


def number_allocate(*, series: Series, year: int, issued_at: datetime) -> Allocation:
    """The next number of ``series`` in ``year`` for an invoice of ``issued_at``. Must run inside
    the issuing transaction, which rolls back (number and time) when the caller refuses."""
    if not connection.in_atomic_block:
        raise RuntimeError("number_allocate() must run inside transaction.atomic()")
    sql = _allocate_sql()
    stamp = connection.ops.adapt_datetimefield_value(issued_at)
    params = [
        stamp,
        stamp,
        series.pk,
        year,
        MAX_NUMBER,
        series.merchant_id,
        True,
        series.merchant_id,
        True,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            # No row yet (the series' first invoice of the year), or the year is used up.
            SeriesCounter.objects.bulk_create(
                [SeriesCounter(series=series, year=year)], ignore_conflicts=True
            )
            cursor.execute(sql, params)
            row = cursor.fetchone()
    if row is None:
        raise Conflict(
            _("Ký hiệu %(symbol)s đã dùng hết số hóa đơn của năm %(year)s.")
            % {"symbol": series.symbol, "year": year},
            code="series_exhausted",
        )
    number, last_issued_at, certificate_id, fingerprint = row
    return Allocation(int(number), _aware(last_issued_at), certificate_id, fingerprint)


def register_code(*, form: str, year: int, prefix: str, number: int) -> str:
    """The cash-register code M{form}-{YY}-{prefix}-{11 digits}, made locally (no online call).

    The 11 digits are the invoice number: unique because (form, prefix) names one series and
    numbers are unique per series and year (the code carries the year).
    """
    return f"M{form}-{year % 100:02d}-{prefix}-{number:011d}"
