"""Cash sales made at the stall while the phone had no network (issue 16).

The POS keeps such a sale on the phone with its idempotency key and the phone's time of the sale,
and sends it when the network is back (static/js/offline-queue.js), perhaps 20 minutes later. The
notes went into the drawer at the time of the sale, so the sale belongs to that time's takings:
a sale made at 09:00 and synced at 09:20 is paid at 09:00. The phone's clock is not trusted
beyond that:

* never in the future (a clock ahead): the time it arrives;
* never more than ``MAX_AGE`` back (a clock years behind, a phone offline for days): the time it
  arrives;
* never in or before a period already closed (chốt sổ, market/figures/closing.py): a close never
  changes, so a sale from before it is booked when it arrives, in the open period.

The last rule is checked twice: when the sale arrives (``sale_time``) and again when the cash is
recorded, inside the money's transaction with the merchant's row locked (``book_time``, from
``settling.on_payment_settled``) — the lock a close takes — so a close made in between cannot leave
the sale in a period it did not count. The time the phone claimed stays in the sale's audit row.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import ValidationFailed
from core.locking import lock_row
from core.text import parse_digits
from merchants.models import Merchant

from ..models import DailyClose

log = logging.getLogger(__name__)

MAX_AGE = timedelta(hours=24)


def parse_client_time(raw: str) -> datetime:
    """The phone's time of the sale: milliseconds since the epoch (JavaScript's Date.now())."""
    millis = parse_digits(raw.strip(), None, max_digits=14)  # up to the year 5138: no overflow
    if millis is None:
        raise ValidationFailed(
            fields={"sold_at": [_("Thời điểm bán không hợp lệ (mili giây từ 1970).")]}
        )
    return datetime.fromtimestamp(millis / 1000, tz=UTC)


def _closed_until(merchant_id: int) -> datetime | None:
    return (
        DailyClose.objects.filter(merchant_id=merchant_id)
        .order_by("-period_end")
        .values_list("period_end", flat=True)
        .first()
    )


def sale_time(*, merchant_id: int, claimed: datetime, now: datetime | None = None) -> datetime:
    """The time a cash sale made offline is booked at: the phone's time within the bounds above,
    else the time it arrived."""
    now = now or timezone.now()
    closed = _closed_until(merchant_id)
    if claimed > now or claimed < now - MAX_AGE or (closed is not None and claimed <= closed):
        log.info(
            "offline sale of merchant %s claims %s: booked at %s (closed until %s)",
            merchant_id,
            claimed.isoformat(),
            now.isoformat(),
            closed.isoformat() if closed else "-",
        )
        return now
    return claimed


def book_time(*, merchant_id: int, paid_at: datetime) -> datetime:
    """Inside the money's transaction: the merchant's row locked as a close locks it, a time
    before the last close becomes now."""
    lock_row(Merchant, merchant_id)
    closed = _closed_until(merchant_id)
    if closed is not None and paid_at <= closed:
        return timezone.now()
    return paid_at
