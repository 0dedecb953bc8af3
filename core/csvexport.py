"""CSV downloads that a spreadsheet opens safely.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel / LibreOffice as a formula (``=HYPERLINK(…)`` in a product or customer name, say): it gets
a leading apostrophe, which makes it text (OWASP "CSV injection"). Only strings: a negative
amount is an ``int`` and stays a number. Every CSV export goes through :func:`csv_response`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from django.http import HttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: object) -> object:
    """The cell as written: a text cell that a spreadsheet would run as a formula is quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_response(filename: str, rows: Iterable[Sequence[object]]) -> HttpResponse:
    """An attachment in UTF-8 with a BOM, so Excel opens the Vietnamese text as it is."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([csv_safe(cell) for cell in row])
    response = HttpResponse(
        ("\ufeff" + buffer.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
