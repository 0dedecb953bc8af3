"""The PDF: rendered after commit by the task, stored with its hash, never re-rendered."""

from __future__ import annotations

import hashlib

import pytest
from django.test import Client
from django.urls import reverse

from einvoice import services
from einvoice.models import Invoice
from einvoice.pdf import invoice_pdf_render
from einvoice.pdf_tasks import render_invoice_pdf

from .conftest import goods, register_series, seller

pytestmark = pytest.mark.django_db


def test_it_renders_and_stores_the_pdf_once_after_commit(django_capture_on_commit_callbacks):
    merchant = seller()
    register_series(merchant)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = services.invoice_issue(
            merchant=merchant,
            buyer=services.Buyer(name="Bà Nguyễn Thị Ánh Tuyết"),
            lines=[goods("Cá thu một nắng", "0.35", 180_000, "KCT")],
        )
    invoice.refresh_from_db()
    data = invoice.pdf.read()
    assert data.startswith(b"%PDF")
    assert hashlib.sha256(data).hexdigest() == invoice.pdf_sha256
    name, digest = invoice.pdf.name, invoice.pdf_sha256
    assert (
        render_invoice_pdf.apply(args=[invoice.pk]).get(disable_sync_subtasks=False) == digest
    )  # idempotent
    invoice.refresh_from_db()
    assert (invoice.pdf.name, invoice.pdf_sha256) == (name, digest)
    assert invoice.events.filter(kind="pdf_rendered").count() == 1


def test_the_lookup_download_renders_a_missing_pdf_once():
    merchant = seller()
    register_series(merchant)
    invoice = services.invoice_issue(merchant=merchant, lines=[goods(rate="KCT")])
    assert invoice.pdf_sha256 == ""
    r = Client().get(reverse("einvoice_lookup_pdf", args=[invoice.lookup_code]))
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    body = b"".join(r.streaming_content)
    stored = Invoice.objects.get(pk=invoice.pk)
    assert hashlib.sha256(body).hexdigest() == stored.pdf_sha256
    assert invoice_pdf_render(invoice_id=invoice.pk).pdf_sha256 == stored.pdf_sha256
