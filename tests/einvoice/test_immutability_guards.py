"""Issue 14 item 6: the same guards on SQLite and PostgreSQL.

Issued invoices and their lines are never deleted, history events are never changed or deleted,
and a canceled invoice stays canceled: refused by the models and, for raw SQL, by database
triggers on both databases. These tests run in both passes of bin/test (SQLite, then
PostgreSQL); the ``postgres`` ones check PostgreSQL-only paths.
"""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from einvoice import services
from einvoice.models import ImmutableInvoice, Invoice, InvoiceEvent, InvoiceLine

from .conftest import ISSUED_AT, goods, seller, vat_series

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice() -> Invoice:
    merchant = seller()
    vat_series(merchant)
    return services.invoice_issue(
        merchant=merchant, lines=[goods(), goods("Mực", "1", 90_000)], issued_at=ISSUED_AT
    )


def raw(sql: str, *params: object) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_the_orm_refuses_to_delete_lines(invoice):
    with pytest.raises(ImmutableInvoice):
        InvoiceLine.objects.filter(invoice=invoice).delete()
    with pytest.raises(ImmutableInvoice):
        invoice.lines.all().delete()
    with pytest.raises(ImmutableInvoice):
        InvoiceLine.objects.filter(invoice=invoice).update(amount=1)
    assert invoice.lines.count() == 2


def test_the_database_refuses_to_delete_lines_and_invoices(invoice):
    with pytest.raises(DatabaseError):
        raw("DELETE FROM einvoice_invoiceline WHERE invoice_id = %s", invoice.pk)
    with pytest.raises(DatabaseError):
        raw("DELETE FROM einvoice_invoice WHERE id = %s", invoice.pk)
    assert InvoiceLine.objects.filter(invoice=invoice).count() == 2
    assert Invoice.objects.filter(pk=invoice.pk).exists()


def test_history_events_are_never_changed_or_deleted(invoice):
    event = invoice.events.get(kind="issued")
    with pytest.raises(ImmutableInvoice):
        event.delete()
    with pytest.raises(ImmutableInvoice):
        InvoiceEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(ImmutableInvoice):
        InvoiceEvent.objects.filter(pk=event.pk).update(kind="canceled")
    event.kind = "canceled"
    with pytest.raises(ImmutableInvoice):
        event.save()
    with pytest.raises(DatabaseError):
        raw("DELETE FROM einvoice_invoiceevent WHERE id = %s", event.pk)
    with pytest.raises(DatabaseError):
        raw("UPDATE einvoice_invoiceevent SET kind = 'canceled' WHERE id = %s", event.pk)
    assert InvoiceEvent.objects.get(pk=event.pk).kind == "issued"


def test_a_canceled_invoice_stays_canceled(invoice):
    services.invoice_cancel(invoice=invoice, reason="Khách trả hàng")
    canceled = Invoice.objects.get(pk=invoice.pk)
    canceled.status = Invoice.Status.ISSUED
    with pytest.raises(ImmutableInvoice):
        canceled.save(update_fields=["status"])
    with pytest.raises(ImmutableInvoice):
        Invoice.objects.filter(pk=invoice.pk).update(status=Invoice.Status.ACCEPTED)
    with pytest.raises(DatabaseError):
        raw("UPDATE einvoice_invoice SET status = 'issued' WHERE id = %s", invoice.pk)
    # Transmission may still record the authority's answer of the canceled invoice.
    Invoice.objects.filter(pk=invoice.pk).update(attempts=1)
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.CANCELED


def test_the_authority_code_and_document_are_written_once(invoice):
    raw(
        "UPDATE einvoice_invoice SET authority_code = %s, authority_xml = %s WHERE id = %s",
        "0000000001ABCDEF0123456789ABCDEF01",
        "<HDon/>",
        invoice.pk,
    )
    with pytest.raises(DatabaseError):
        raw("UPDATE einvoice_invoice SET authority_code = 'X' WHERE id = %s", invoice.pk)
    with pytest.raises(DatabaseError):
        raw("UPDATE einvoice_invoice SET authority_xml = '<x/>' WHERE id = %s", invoice.pk)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_triggers_guard_lines_events_and_status():
    merchant = seller()
    vat_series(merchant)
    invoice = services.invoice_issue(merchant=merchant, lines=[goods()], issued_at=ISSUED_AT)
    services.invoice_cancel(invoice=invoice, reason="Sai")
    for sql in (
        "DELETE FROM einvoice_invoiceline",
        "DELETE FROM einvoice_invoiceevent",
        "UPDATE einvoice_invoiceevent SET payload = '{}'",
        "UPDATE einvoice_invoice SET status = 'accepted'",
    ):
        with pytest.raises(DatabaseError):
            raw(sql)
    assert Invoice.objects.get(pk=invoice.pk).status == "canceled"


def test_the_triggers_exist_on_this_database():
    if connection.vendor == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        expected = {
            "einvoice_invoice_immutable",
            "einvoice_invoice_no_delete",
            "einvoice_line_immutable",
            "einvoice_line_no_delete",
            "einvoice_event_immutable",
            "einvoice_event_no_delete",
        }
    else:
        sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        expected = {
            "einvoice_invoice_immutable",
            "einvoice_line_immutable",
            "einvoice_event_immutable",
        }
    with connection.cursor() as cursor:
        cursor.execute(sql)
        names = {row[0] for row in cursor.fetchall()}
    assert expected <= names
