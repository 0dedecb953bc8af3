"""Public lookup (only with the code, rate-limited) and the trader's invoice pages."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from einvoice import services
from einvoice.models import Invoice
from tests.factories import PASSWORD, member_of, owner_of

from .conftest import goods, seller, vat_series

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice() -> Invoice:
    merchant = seller()
    vat_series(merchant, "K26TAA")  # uncoded: the public XML is ours
    return services.invoice_issue(
        merchant=merchant, buyer=services.Buyer(name="Chị Hoa"), lines=[goods("Cá thu")]
    )


def test_the_lookup_shows_the_invoice_with_its_code(invoice):
    client = Client()
    r = client.get(reverse("einvoice_lookup_detail", args=[invoice.lookup_code]))
    assert r.status_code == 200
    text = r.content.decode()
    assert "Cá thu" in text and invoice.number_display in text and "Hợp lệ" in text
    form = client.get(reverse("einvoice_lookup"), {"ma": invoice.lookup_code.lower()})
    assert form.status_code == 302 and invoice.lookup_code in form["Location"]
    xml = client.get(reverse("einvoice_lookup_xml", args=[invoice.lookup_code]))
    assert xml.status_code == 200 and xml.content.decode() == invoice.xml


def test_the_lookup_reveals_nothing_without_the_code(invoice):
    client = Client()
    assert client.get(reverse("einvoice_lookup")).status_code == 200
    assert client.get("/hoa-don/KHONGCOMA123/").status_code == 404
    assert client.get("/hoa-don/KHONGCOMA123/xml/").status_code == 404
    assert client.get("/hoa-don/KHONGCOMA123/pdf/").status_code == 404
    assert client.get(reverse("einvoice_lookup"), {"ma": "SAIMA"}).status_code == 404
    assert client.get(f"/hoa-don/{invoice.pk}/").status_code == 404


def test_the_lookup_is_rate_limited_per_ip(invoice, settings):
    settings.EINVOICE_LOOKUP_MAX_MISSES = 5
    client = Client(REMOTE_ADDR="203.0.113.9")
    for n in range(5):
        assert client.get(f"/hoa-don/SAIMA{n:07d}/").status_code == 404
    blocked = client.get(reverse("einvoice_lookup_detail", args=[invoice.lookup_code]))
    assert blocked.status_code == 429 and blocked["Retry-After"]
    assert client.get(reverse("einvoice_lookup"), {"ma": invoice.lookup_code}).status_code == 429
    other_ip = Client(REMOTE_ADDR="203.0.113.10")
    assert (
        other_ip.get(reverse("einvoice_lookup_detail", args=[invoice.lookup_code])).status_code
        == 200
    )


def signed_in(user) -> Client:
    client = Client()
    assert client.login(username=user.phone, password=PASSWORD)
    return client


def test_the_trader_lists_and_opens_invoices(invoice):
    client = signed_in(owner_of(invoice.merchant))
    listing = client.get(reverse("einvoice_list", args=[invoice.merchant_id]))
    assert listing.status_code == 200 and invoice.number_display in listing.content.decode()
    detail = client.get(reverse("einvoice_detail", args=[invoice.merchant_id, invoice.pk]))
    assert detail.status_code == 200
    assert invoice.lookup_code in detail.content.decode()


def test_rejected_invoices_show_reasons_and_the_fix(invoice):
    Invoice.objects.filter(pk=invoice.pk).update(
        status="rejected", rejection_reasons=["Mã số thuế người mua không tồn tại"]
    )
    client = signed_in(owner_of(invoice.merchant))
    listing = client.get(reverse("einvoice_list", args=[invoice.merchant_id]))
    assert "Mã số thuế người mua không tồn tại" in listing.content.decode()
    r = client.post(
        reverse("einvoice_replace", args=[invoice.merchant_id, invoice.pk]),
        {"buyer_name": "Chị Hoa", "buyer_tax_code": "048100000123", "reason": "Sửa MST"},
    )
    assert r.status_code == 302
    replacement = Invoice.objects.get(kind="replacement")
    assert replacement.related_id == invoice.pk and replacement.buyer_citizen_id == "048100000123"
    bad = client.post(
        reverse("einvoice_replace", args=[invoice.merchant_id, invoice.pk]),
        {"buyer_tax_code": "123", "reason": "x"},
    )
    assert bad.status_code == 422


def test_pages_of_another_merchant_are_404(invoice):
    stranger = signed_in(owner_of(seller()))
    for name, args in [
        ("einvoice_list", [invoice.merchant_id]),
        ("einvoice_detail", [invoice.merchant_id, invoice.pk]),
        ("einvoice_xml", [invoice.merchant_id, invoice.pk]),
        ("einvoice_pdf", [invoice.merchant_id, invoice.pk]),
    ]:
        assert stranger.get(reverse(name, args=args)).status_code == 404
    r = stranger.post(
        reverse("einvoice_cancel", args=[invoice.merchant_id, invoice.pk]), {"reason": "x"}
    )
    assert r.status_code == 404
    assert Invoice.objects.get(pk=invoice.pk).status == "issued"


def test_a_cashier_cannot_cancel(invoice):
    cashier = signed_in(member_of(invoice.merchant, role="cashier"))
    r = cashier.post(
        reverse("einvoice_cancel", args=[invoice.merchant_id, invoice.pk]), {"reason": "x"}
    )
    assert r.status_code == 403
    assert cashier.get(reverse("einvoice_list", args=[invoice.merchant_id])).status_code == 200
