"""Issue 14 item 2: a coded (C…) invoice carries the authority's code.

The gateway answers an accepted coded invoice with its document: our XML with MCCQT filled in and
the authority's signature in DSCKS/CQT. We store that document and serve it as the invoice's
public XML; the page and the PDF show the code, and say "waiting for the tax authority's code"
until it exists.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from lxml import etree

import einvoice.tasks  # noqa: F401 - connects transmission to invoice_issued
from einvoice import attempts, pdf, selectors, services, transmission
from einvoice.models import Invoice

from .conftest import ISSUED_AT, goods, register_series, seller, vat_series

pytestmark = pytest.mark.django_db(transaction=True)

KEY = "sk_test_authority_document"
DS = "{http://www.w3.org/2000/09/xmldsig#}"
WAITING = "Đang chờ mã của cơ quan thuế"


@pytest.fixture
def gateway(settings):
    from sandboxes.taxgateway import TaxGatewaySandbox

    with TaxGatewaySandbox([KEY], answer_delay=0, seed=3) as sandbox:
        settings.TAXGATEWAY_URL = sandbox.url
        settings.TAXGATEWAY_API_KEY = KEY
        settings.TAXGATEWAY_TIMEOUT_SECONDS = 2
        attempts._registered.clear()
        yield sandbox


def coded_invoice() -> Invoice:
    merchant = seller()
    vat_series(merchant, "C26TAA")
    return services.invoice_issue(
        merchant=merchant, lines=[goods("Cá thu", "0.35", 180_000)], issued_at=ISSUED_AT
    )


def test_before_the_code_the_page_and_pdf_say_it_is_awaited():
    invoice = coded_invoice()  # the gateway is unreachable in tests: no code yet
    invoice = Invoice.objects.get(pk=invoice.pk)
    assert invoice.awaits_authority_code
    page = Client().get(reverse("einvoice_lookup_detail", args=[invoice.lookup_code]))
    assert WAITING in page.content.decode()
    assert WAITING in pdf.invoice_html(invoice)
    # No PDF is stored without the code (it would never show it).
    assert Invoice.objects.get(pk=invoice.pk).pdf_sha256 == ""
    # The public XML is the authority's document: there is none yet.
    xml = Client().get(reverse("einvoice_lookup_xml", args=[invoice.lookup_code]))
    assert xml.status_code == 409 and WAITING in xml.content.decode()


def test_the_authority_document_is_stored_and_served_as_the_public_xml(gateway):
    invoice = coded_invoice()
    transmission.transmit_invoice(invoice_id=invoice.pk, force=True)
    invoice = Invoice.objects.get(pk=invoice.pk)
    assert invoice.status == Invoice.Status.ACCEPTED
    assert len(invoice.authority_code) == 34
    assert not invoice.awaits_authority_code

    root = etree.fromstring(invoice.authority_xml.encode())
    assert root.findtext("MCCQT") == invoice.authority_code
    assert root.find(f"DSCKS/CQT/{DS}Signature") is not None
    assert root.find(f"DSCKS/NBan/{DS}Signature") is not None
    # Our DLHDon is untouched and the seller's signature still verifies in it.
    ours = etree.fromstring(invoice.xml.encode())
    assert etree.tostring(root.find("DLHDon"), method="c14n") == etree.tostring(
        ours.find("DLHDon"), method="c14n"
    )
    cert = selectors.certificate_of(invoice=invoice)
    from einvoice.signing import verify

    assert cert is not None and verify(invoice.authority_xml, cert.certificate_pem)
    assert selectors.signature_valid(invoice=invoice)

    client = Client()
    xml = client.get(reverse("einvoice_lookup_xml", args=[invoice.lookup_code]))
    assert xml.status_code == 200 and xml.content.decode() == invoice.authority_xml
    page = client.get(reverse("einvoice_lookup_detail", args=[invoice.lookup_code])).content
    assert invoice.authority_code in page.decode() and WAITING not in page.decode()
    html = pdf.invoice_html(invoice)
    assert invoice.authority_code in html and WAITING not in html
    # The PDF is rendered once the code is there (the acceptance queued it).
    assert invoice.pdf_sha256


def test_the_api_says_the_code_is_awaited():
    from einvoice.schemas import InvoiceOut

    invoice = Invoice.objects.get(pk=coded_invoice().pk)
    assert InvoiceOut.from_orm(invoice).awaits_authority_code is True


def test_an_uncoded_or_cash_register_invoice_waits_for_no_code():
    merchant = seller()
    register_series(merchant)
    invoice = services.invoice_issue(merchant=merchant, lines=[goods(rate="KCT")])
    assert not invoice.awaits_authority_code
    page = Client().get(reverse("einvoice_lookup_detail", args=[invoice.lookup_code]))
    assert WAITING not in page.content.decode()
    k = seller()
    vat_series(k, "K26TAA")
    uncoded = services.invoice_issue(merchant=k, lines=[goods()], issued_at=ISSUED_AT)
    assert not uncoded.awaits_authority_code
