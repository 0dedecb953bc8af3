"""Celery tasks of e-invoice transmission: thin, they take ids and call einvoice.transmission.

``einvoice.transmit_invoices`` sends the invoices of one issuing batch (market/sales/invoicing.py)
after it commits, one message for the batch. Beat (config/celery.py): ``einvoice.transmit_due``
(every 30 s: retries, lost first sends, cancellations), ``einvoice.poll_answers`` (every 30 s),
``einvoice.cash_register_batch`` (nightly, yesterday's cash-register invoices).
``run_periodic_forever`` does the same in one process for the embedded default (no Redis, no
beat): bin/run starts it.
"""

from __future__ import annotations

import logging
import time as time_module
from datetime import date

from celery import shared_task
from django.db import close_old_connections

from . import transmission
from .signals import invoice_issued, invoices_issued

log = logging.getLogger(__name__)

# Every issued invoice is queued for transmission after its issuing transaction commits.
invoice_issued.connect(transmission.on_invoice_issued, dispatch_uid="einvoice.transmission")
# Invoices issued in one batch (market/sales/invoicing.py): one task for them all.
invoices_issued.connect(transmission.on_invoices_issued, dispatch_uid="einvoice.transmission_batch")


@shared_task(name="einvoice.transmit_invoice", ignore_result=True)
def transmit_invoice_task(invoice_id: int) -> str:
    return transmission.transmit_invoice(invoice_id=invoice_id)


@shared_task(name="einvoice.transmit_invoices", ignore_result=True)
def transmit_invoices_task(invoice_ids: list[int]) -> dict[str, int]:
    return transmission.transmit_invoices(invoice_ids=invoice_ids)


@shared_task(name="einvoice.transmit_due", ignore_result=True)
def transmit_due_task() -> dict[str, int]:
    return transmission.transmit_due()


@shared_task(name="einvoice.poll_answers", ignore_result=True)
def poll_answers_task() -> dict[str, int]:
    return transmission.poll_answers()


@shared_task(name="einvoice.cash_register_batch", ignore_result=True)
def cash_register_batch_task(day: str | None = None) -> dict[str, int]:
    return transmission.transmit_cash_register_batch(day=date.fromisoformat(day) if day else None)


def run_periodic_forever(interval: float = 5.0) -> None:  # pragma: no cover - a process loop
    """The beat's e-invoice work in a loop (embedded default):
    ``python manage.py shell -c "from einvoice.tasks import run_periodic_forever as r; r()"``."""
    last_batch_day: date | None = None
    while True:
        close_old_connections()
        try:
            transmission.transmit_due()
            transmission.poll_answers()
            today = date.today()
            if last_batch_day != today:
                transmission.transmit_cash_register_batch()
                last_batch_day = today
        except Exception:
            log.exception("e-invoice periodic transmission failed; next round in %ss", interval)
        time_module.sleep(interval)
