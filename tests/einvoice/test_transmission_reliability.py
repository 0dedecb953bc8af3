"""Invariant 4 under faults: every invoice reaches the authority's answer and is accepted exactly
once, whatever 5xx answers, timeouts (recorded but unanswered) and worker deaths happen.

The sandbox gateway runs with 30 % of requests answered 503 before doing anything, 10 % recorded
and then left hanging past the client's timeout, 5 % recorded and then answered 500; the fault
RNG is seeded. 24 VAT invoices and 6 cash-register invoices are issued by the engine; some
workers die right after their HTTP submit returned. Then the beat's work is driven by hand
(transmit_due, poll_answers, the nightly batch) with the clock moved past every backoff until
nothing is left to do.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

import einvoice.tasks  # noqa: F401 - connects transmission to invoice_issued
from einvoice import attempts, services, transmission
from einvoice.models import Invoice, InvoiceEvent
from sandboxes.taxgateway import TaxGatewaySandbox

from .conftest import ISSUED_AT, goods, register_series, seller, vat_series

pytestmark = pytest.mark.django_db(transaction=True)

S = Invoice.Status
KEY = "sk_test_reliability"
VAT_INVOICES = 24
CASH_REGISTER_INVOICES = 6


class WorkerKilled(Exception):
    """Plays a worker process killed between the HTTP submit and the database update."""


def die(_invoice: Invoice) -> None:
    raise WorkerKilled


@pytest.fixture
def gateway(settings):
    with TaxGatewaySandbox([KEY], answer_delay=0.05, seed=2026) as sandbox:
        settings.TAXGATEWAY_URL = sandbox.url
        settings.TAXGATEWAY_API_KEY = KEY
        settings.TAXGATEWAY_TIMEOUT_SECONDS = 0.2
        settings.TAXGATEWAY_CONNECT_TIMEOUT_SECONDS = 0.5
        settings.TAXGATEWAY_RETRY_BASE_SECONDS = 30
        settings.TAXGATEWAY_RETRY_CAP_SECONDS = 1800
        settings.TAXGATEWAY_MAX_ATTEMPTS = 40
        attempts._registered.clear()
        yield sandbox


def test_every_invoice_is_accepted_exactly_once_despite_faults_and_crashes(gateway):
    started = time.monotonic()
    gateway.set_faults(error_rate=0.3, timeout_rate=0.1, error_after_rate=0.05, hang_seconds=0.6)
    merchant = seller()
    vat = vat_series(merchant)
    register = register_series(merchant)
    invoices: list[Invoice] = []
    for n in range(VAT_INVOICES + CASH_REGISTER_INVOICES):
        series = vat if n < VAT_INVOICES else register
        invoices.append(
            services.invoice_issue(
                merchant=merchant,
                series=series,
                lines=[goods("Cá thu", "0.350", 180_000 + n, "8%")],
                issued_at=ISSUED_AT + timedelta(minutes=n),
            )
        )
    ids = [invoice.pk for invoice in invoices]

    # Workers die right after sending, for the VAT invoices whose first try did not get through.
    now = timezone.now()
    crashed = 0
    for invoice in Invoice.objects.filter(pk__in=ids, status=S.ISSUED, is_cash_register=False):
        try:
            transmission.transmit_invoice(
                invoice_id=invoice.pk, now=invoice.next_attempt_at or now, after_send=die
            )
        except WorkerKilled:
            crashed += 1

    rounds = 0
    transmission.transmit_cash_register_batch(day=ISSUED_AT.date(), now=now)
    while Invoice.objects.filter(pk__in=ids).exclude(status=S.ACCEPTED).exists():
        rounds += 1
        assert rounds <= 60, "transmission did not settle"
        now += timedelta(minutes=31)  # past the longest backoff: every retry is due
        transmission.transmit_due(now=now)
        time.sleep(0.06)  # the gateway's answer delay
        transmission.poll_answers(now=now)

    stats = gateway.stats()
    elapsed = time.monotonic() - started
    print(
        f"\n{len(ids)} invoices accepted in {rounds} rounds, {elapsed:.1f} s; crashed workers "
        f"{crashed}; gateway requests {stats['totals']['requests']}, faults "
        f"{stats['totals']['faults']}, submissions {stats['totals']['submissions']}, duplicate "
        f"submissions {stats['totals']['duplicates']}; attempts "
        f"{sorted(Invoice.objects.filter(pk__in=ids).values_list('attempts', flat=True))}"
    )

    for inv in Invoice.objects.filter(pk__in=ids).order_by("id"):
        print(
            inv.number,
            inv.is_cash_register,
            inv.attempts,
            [e.kind for e in inv.events.exclude(kind="pdf_rendered")],
        )
    assert crashed >= 1
    assert stats["totals"]["faults"] > 0
    assert stats["totals"]["invoices"] == len(ids)
    assert stats["totals"]["accepted"] == len(ids)
    for invoice in Invoice.objects.filter(pk__in=ids):
        remote = stats["invoices"][str(invoice.uuid)]
        assert remote["records"] == 1, invoice.uuid
        assert remote["accepted"] == 1, invoice.uuid
        assert remote["rejected"] == 0, invoice.uuid
        assert invoice.authority_code
        if invoice.is_cash_register:
            assert invoice.authority_code == invoice.register_code
        accepted_events = InvoiceEvent.objects.filter(invoice=invoice, kind="accepted").count()
        assert accepted_events == 1, invoice.pk
    # Nothing is left to do.
    later = now + timedelta(days=1)
    assert transmission.transmit_due(now=later) == {}
    assert transmission.poll_answers(now=later) == {}
