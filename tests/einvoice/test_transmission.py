"""Transmission to the tax gateway: invoices issued by the engine, sent to the sandbox gateway
over real HTTP, retried, polled, batched and canceled through einvoice.transmission."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

import einvoice.tasks  # noqa: F401 - connects transmission to invoice_issued
from core.models import AuditLog
from einvoice import attempts, services, transmission
from einvoice.models import Invoice, InvoiceEvent
from sandboxes.taxgateway import TaxGatewaySandbox
from sandboxes.taxgateway.samples import invoice_xml

from .conftest import ISSUED_AT, goods, register_series, seller, vat_series

pytestmark = pytest.mark.django_db(transaction=True)

S = Invoice.Status
KEY = "sk_test_transmission"


@pytest.fixture
def gateway(settings):
    with TaxGatewaySandbox([KEY], answer_delay=0, seed=5) as sandbox:
        settings.TAXGATEWAY_URL = sandbox.url
        settings.TAXGATEWAY_API_KEY = KEY
        settings.TAXGATEWAY_TIMEOUT_SECONDS = 0.3
        settings.TAXGATEWAY_CONNECT_TIMEOUT_SECONDS = 0.5
        settings.TAXGATEWAY_RETRY_BASE_SECONDS = 30
        settings.TAXGATEWAY_RETRY_CAP_SECONDS = 1800
        settings.TAXGATEWAY_MAX_ATTEMPTS = 5
        attempts._registered.clear()
        yield sandbox


@pytest.fixture
def merchant():
    return seller()


@pytest.fixture
def series(merchant):
    return vat_series(merchant)


def issue(merchant, series, **kwargs) -> Invoice:
    invoice = services.invoice_issue(
        merchant=merchant,
        series=series,
        lines=[goods("Cá thu", "0.350", 180_000, "8%"), goods("Nước mắm", "2", 45_000, "10%")],
        issued_at=kwargs.pop("issued_at", ISSUED_AT),
        **kwargs,
    )
    return Invoice.objects.get(pk=invoice.pk)


def fresh(invoice: Invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def kinds(invoice: Invoice) -> list[str]:
    events = InvoiceEvent.objects.filter(invoice=invoice).exclude(kind="pdf_rendered")
    return list(events.values_list("kind", flat=True))


def counter(gateway, invoice: Invoice) -> dict:
    return gateway.stats()["invoices"][str(invoice.uuid)]


def test_it_sends_an_issued_invoice_after_commit_and_stores_the_authority_code(
    gateway, merchant, series
):
    invoice = fresh(issue(merchant, series))

    assert invoice.status == S.ACCEPTED
    assert len(invoice.authority_code) == 34
    assert invoice.attempts == 1
    assert invoice.sent_at is not None and invoice.answered_at is not None
    assert invoice.next_attempt_at is None
    assert kinds(invoice) == ["issued", "transmit_attempt", "sent", "accepted"]
    assert counter(gateway, invoice)["records"] == 1
    assert counter(gateway, invoice)["accepted"] == 1


def test_it_polls_for_an_answer_that_comes_later(gateway, merchant, series):
    gateway.set_faults(answer_delay=0.2)
    invoice = fresh(issue(merchant, series))
    assert invoice.status == S.SENT
    assert transmission.poll_answers() == {"processing": 1}

    time.sleep(0.25)
    assert transmission.poll_answers() == {"accepted": 1}
    invoice = fresh(invoice)
    assert invoice.status == S.ACCEPTED and invoice.authority_code
    assert transmission.poll_answers() == {}


def test_it_stores_a_rejection_with_its_reasons(gateway, merchant, series):
    # Someone else's invoice already holds number 1 of this series at the gateway.
    transmission.series_register(series=series)
    gateway.submit(
        KEY,
        {
            "uuid": str(uuid.uuid4()),
            "xml": invoice_xml(
                tax_code=merchant.tax_code, series="C26TAA", number=1, issued_on=ISSUED_AT.date()
            ),
        },
    )
    invoice = fresh(issue(merchant, series))

    assert invoice.status == S.REJECTED
    assert [r["code"] for r in invoice.rejection_reasons] == ["number_duplicate"]
    assert kinds(invoice)[-1] == "rejected"
    assert AuditLog.objects.filter(action="einvoice.rejected", target_id=str(invoice.pk)).exists()


def test_it_retries_5xx_with_backoff_without_sleeping(gateway, merchant, series):
    gateway.set_faults(fail_next=3, fail_next_mode="error")  # registration + 2 submissions
    started = time.monotonic()
    invoice = fresh(issue(merchant, series))
    assert time.monotonic() - started < 5
    assert invoice.status == S.ISSUED
    assert invoice.attempts == 1
    assert "503" in invoice.last_error
    first_retry = invoice.next_attempt_at
    now = timezone.now()

    assert transmission.transmit_invoice(invoice_id=invoice.pk, now=now) == "not_due"
    assert transmission.transmit_due(now=first_retry + timedelta(seconds=1)) == {"error": 1}
    invoice = fresh(invoice)
    assert invoice.attempts == 2
    assert invoice.next_attempt_at - (first_retry + timedelta(seconds=1)) == timedelta(seconds=60)
    assert transmission.transmit_due(now=invoice.next_attempt_at) == {"error": 1}
    later = fresh(invoice).next_attempt_at
    assert transmission.transmit_due(now=later) == {"accepted": 1}
    assert fresh(invoice).status == S.ACCEPTED
    assert [e for e in kinds(invoice) if e == "transmit_error"] == ["transmit_error"] * 3


def test_it_caps_the_backoff(settings):
    assert transmission.retry_delay(1) == timedelta(seconds=30)
    assert transmission.retry_delay(3) == timedelta(seconds=120)
    assert transmission.retry_delay(20) == timedelta(minutes=30)


def test_it_asks_the_gateway_before_sending_again_after_a_timeout(gateway, merchant, series):
    transmission.series_register(series=series)
    gateway.set_faults(fail_next=1, fail_next_mode="timeout", hang_seconds=1)
    invoice = fresh(issue(merchant, series))
    assert invoice.status == S.ISSUED
    assert "timeout" in invoice.last_error.lower()

    outcome = transmission.transmit_due(now=invoice.next_attempt_at)

    assert outcome == {"accepted": 1}
    assert counter(gateway, invoice)["submissions"] == 1  # looked up, not sent again
    attempts = InvoiceEvent.objects.filter(invoice=invoice, kind="transmit_attempt")
    assert [e.payload["query_first"] for e in attempts] == [False, True]


def test_it_recovers_when_the_worker_dies_right_after_sending(gateway, merchant, series):
    transmission.series_register(series=series)
    gateway.set_faults(fail_next=1, fail_next_mode="error")  # the first send is lost…
    invoice = fresh(issue(merchant, series))

    class WorkerKilled(Exception):
        pass

    def die(_invoice):
        raise WorkerKilled

    with pytest.raises(WorkerKilled):  # …the second reaches the gateway, the worker dies
        transmission.transmit_invoice(
            invoice_id=invoice.pk, now=invoice.next_attempt_at, after_send=die
        )
    dead = fresh(invoice)
    assert (dead.status, dead.attempts, dead.sent_at) == (S.ISSUED, 2, None)

    assert transmission.transmit_due(now=dead.next_attempt_at) == {"accepted": 1}
    assert fresh(invoice).status == S.ACCEPTED
    assert counter(gateway, invoice) | {"status": None} == {
        "submissions": 1,
        "duplicates": 0,
        "conflicts": 0,
        "records": 1,
        "accepted": 1,
        "rejected": 0,
        "cancellations": 0,
        "status": None,
    }


def test_it_fails_visibly_after_max_attempts_and_alerts_staff(
    gateway, merchant, series, settings, caplog
):
    settings.TAXGATEWAY_MAX_ATTEMPTS = 2
    settings.ADMINS = [("Ops", "ops@example.com")]
    gateway.set_faults(error_rate=1.0)
    invoice = fresh(issue(merchant, series))
    transmission.transmit_due(now=invoice.next_attempt_at)

    invoice = fresh(invoice)
    assert invoice.status == S.FAILED
    assert invoice.next_attempt_at is None
    assert kinds(invoice)[-1] == "failed"
    assert AuditLog.objects.filter(
        action="einvoice.transmission_failed", target_id=str(invoice.pk)
    ).exists()
    assert "transmission failed" in caplog.text
    from django.core import mail

    assert any("not transmitted" in m.subject for m in mail.outbox)
    assert transmission.transmit_due(now=timezone.now() + timedelta(days=1)) == {}

    gateway.set_faults(error_rate=0.0)
    transmission.invoice_transmission_retry(invoice_id=invoice.pk, actor_label="staff:test")
    assert transmission.transmit_due() == {"accepted": 1}
    assert counter(gateway, invoice)["records"] == 1


def test_it_sends_cash_register_invoices_in_the_end_of_day_batch(gateway, merchant):
    series = register_series(merchant)
    invoices = [fresh(issue(merchant, series)) for _ in range(3)]
    assert {i.status for i in invoices} == {S.ISSUED}  # nothing sent at issue
    assert transmission.transmit_due() == {}

    outcome = transmission.transmit_cash_register_batch(day=ISSUED_AT.date())

    assert outcome == {"sent": 1}
    for invoice in invoices:
        invoice = fresh(invoice)
        assert invoice.status == S.ACCEPTED
        assert invoice.authority_code == invoice.register_code
    assert gateway.stats()["totals"]["batches"] == 1
    assert transmission.transmit_cash_register_batch(day=ISSUED_AT.date()) == {}


def test_it_retries_a_failed_batch_and_asks_first(gateway, merchant):
    series = register_series(merchant)
    invoices = [fresh(issue(merchant, series)) for _ in range(2)]
    transmission.series_register(series=series)
    gateway.set_faults(fail_next=1, fail_next_mode="timeout", hang_seconds=1)
    assert transmission.transmit_cash_register_batch(day=ISSUED_AT.date()) == {"error": 1}
    retry_at = fresh(invoices[0]).next_attempt_at

    assert transmission.transmit_due(now=retry_at) == {"batch_found": 1}
    assert {fresh(i).status for i in invoices} == {S.ACCEPTED}
    assert all(counter(gateway, i)["submissions"] == 1 for i in invoices)


def test_it_transmits_a_cancellation_once_the_original_is_accepted(gateway, merchant, series):
    invoice = fresh(issue(merchant, series))
    services.invoice_cancel(invoice=invoice, reason="Khách trả hàng")

    assert transmission.transmit_due() == {"canceled": 1}
    assert transmission.transmit_due() == {}
    remote = gateway.stats()["invoices"][str(invoice.uuid)]
    assert remote["cancellations"] == 1
    invoice = fresh(invoice)
    assert invoice.status == S.CANCELED and invoice.authority_code
    assert kinds(invoice)[-2:] == ["cancel_attempt", "cancel_sent"]


def test_it_sends_a_canceled_invoice_first_then_its_cancellation(gateway, merchant, series):
    gateway.set_faults(error_rate=1.0)
    invoice = fresh(issue(merchant, series))
    services.invoice_cancel(invoice=invoice, reason="Lập nhầm")
    gateway.set_faults(error_rate=0.0)

    # One sweep: the original goes first, its cancellation right after.
    outcome = transmission.transmit_due(now=fresh(invoice).next_attempt_at)
    assert outcome == {"accepted": 1, "canceled": 1}
    assert transmission.transmit_due(now=timezone.now() + timedelta(days=1)) == {}
    assert fresh(invoice).status == S.CANCELED
    assert counter(gateway, invoice)["cancellations"] == 1


def test_it_sends_again_an_invoice_the_gateway_lost(gateway, merchant, series):
    gateway.set_faults(answer_delay=60)
    invoice = fresh(issue(merchant, series))
    assert invoice.status == S.SENT
    gateway.reset()  # the gateway forgot everything
    gateway.set_faults(answer_delay=0)
    attempts._registered.clear()

    assert transmission.poll_answers() == {"resend": 1}
    assert transmission.transmit_due() == {"accepted": 1}
