"""Invoice numbers (SHDon): consecutive from 1 per series and year, no gaps, no duplicates.

The next number comes from a per-(series, year) counter row, taken by one ``UPDATE … SET
last_number = last_number + 1 … RETURNING last_number`` inside the issuing transaction: the
UPDATE locks the row until the transaction ends, so a concurrent issue waits and then reads the
number after ours (PostgreSQL re-reads the updated row; SQLite writes one at a time), and a
rolled-back issue gives its number back with the rollback. A series' first invoice of a year
makes the row first (``INSERT … ON CONFLICT DO NOTHING``, then the UPDATE again). The unique
constraint (series, year, number) on Invoice is the backstop.

The same statement reads the merchant's active signing certificate (its id and key fingerprint),
which signing needs next: one round trip instead of two.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.utils.translation import gettext_lazy as _

from core.errors import Conflict

from .models import Series, SeriesCounter, SigningCertificate

MAX_NUMBER = 99_999_999  # at most 8 digits


@dataclass(frozen=True)
class Allocation:
    number: int
    # The merchant's active signing certificate when the number was taken (None: none yet).
    certificate_id: int | None
    key_fingerprint: str | None  # signing.key_fingerprint of its encrypted key


def _allocate_sql() -> str:
    quote = connection.ops.quote_name
    counter = quote(SeriesCounter._meta.db_table)
    cert = quote(SigningCertificate._meta.db_table)
    key = quote(SigningCertificate._meta.get_field("key_encrypted").column)
    last = quote(SeriesCounter._meta.get_field("last_number").column)
    series = quote(SeriesCounter._meta.get_field("series").column)
    year = quote(SeriesCounter._meta.get_field("year").column)
    merchant = quote(SigningCertificate._meta.get_field("merchant").column)
    active = quote(SigningCertificate._meta.get_field("is_active").column)
    of_merchant = f"FROM {cert} WHERE {merchant} = %s AND {active} = %s"
    # The fingerprint is the key's last 16 characters (SUBSTR from LENGTH - 15: both databases).
    # Names from the models' metadata, values as parameters.
    update = f"UPDATE {counter} SET {last} = {last} + 1"  # noqa: S608
    where = f"WHERE {series} = %s AND {year} = %s AND {last} < %s"
    certificate = f"(SELECT id {of_merchant})"
    fingerprint = f"(SELECT SUBSTR({key}, LENGTH({key}) - 15) {of_merchant})"
    return f"{update} {where} RETURNING {last}, {certificate}, {fingerprint}"


def number_allocate(*, series: Series, year: int) -> Allocation:
    """The next number of ``series`` in ``year``. Must run inside the issuing transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("number_allocate() must run inside transaction.atomic()")
    sql = _allocate_sql()
    params = [series.pk, year, MAX_NUMBER, series.merchant_id, True, series.merchant_id, True]
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
    number, certificate_id, fingerprint = row
    return Allocation(int(number), certificate_id, fingerprint)


def register_code(*, form: str, year: int, prefix: str, number: int) -> str:
    """The cash-register code M{form}-{YY}-{prefix}-{11 digits}, made locally (no online call).

    The 11 digits are the invoice number: unique because (form, prefix) names one series and
    numbers are unique per series and year (the code carries the year).
    """
    return f"M{form}-{year % 100:02d}-{prefix}-{number:011d}"
