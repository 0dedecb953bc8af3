"""Corrections: adjustment, replacement, cancellation and the buyer-name notice.
Originals are never modified."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import Conflict, ValidationFailed
from einvoice import services
from einvoice.models import Invoice, InvoiceEvent
from einvoice.services import Buyer, LineInput

from .conftest import goods, register_series, seller, vat_series

pytestmark = pytest.mark.django_db


def original() -> Invoice:
    merchant = seller()
    vat_series(merchant)
    return services.invoice_issue(
        merchant=merchant,
        buyer=Buyer(name="Cty Biển Đông", tax_code="0401234566", address="Đà Nẵng"),
        lines=[goods("Mực lá", "1.2", 420_000, "8%")],
    )


def snapshot(invoice: Invoice) -> tuple:
    invoice.refresh_from_db()
    return (invoice.xml, invoice.xml_sha256, invoice.number, invoice.total_payable, invoice.status)


def test_it_replaces_an_invoice_with_a_new_one_that_refers_to_it():
    first = original()
    before = snapshot(first)
    replacement = services.invoice_replace(
        original=first,
        buyer=Buyer(name="Cty Biển Đông", tax_code="0401234566-001"),
        lines=[goods("Mực lá", "1.2", 420_000, "8%")],
        reason="Sai mã số thuế",
        actor_label="user:1",
    )
    assert (replacement.kind, replacement.related_id, replacement.number) == (
        "replacement",
        first.pk,
        2,
    )
    assert "<TCHDon>1</TCHDon>" in replacement.xml
    assert "<SHDCLQuan>1</SHDCLQuan>" in replacement.xml
    assert snapshot(first) == before
    assert list(first.events.values_list("kind", flat=True)) == ["issued", "replaced"]
    assert first.events.last().payload["by_invoice"] == replacement.pk
    with pytest.raises(Conflict):
        services.invoice_replace(original=first, buyer=None, lines=[goods()], reason="Lần hai")


def test_it_adjusts_with_negative_differences():
    first = original()
    before = snapshot(first)
    adjustment = services.invoice_adjust(
        original=first,
        lines=[
            LineInput(
                name="Giảm giá Mực lá",
                quantity=Decimal("-0.2"),
                unit_price=420_000,
                amount=-84_000,
                unit="kg",
                tax_rate="8%",
            )
        ],
        reason="Cân thiếu",
    )
    assert (adjustment.total_before_tax, adjustment.total_tax) == (-84_000, -6_720)
    assert adjustment.buyer_tax_code == first.buyer_tax_code
    assert "<TCHDon>2</TCHDon>" in adjustment.xml
    assert snapshot(first) == before
    assert first.events.last().kind == "adjusted"


def test_negative_lines_are_only_for_adjustments():
    first = original()
    with pytest.raises(ValidationFailed):
        services.invoice_replace(
            original=first,
            buyer=None,
            lines=[LineInput(name="x", amount=-1)],
            reason="x",
        )


def test_a_correction_needs_a_reason():
    with pytest.raises(ValidationFailed) as caught:
        services.invoice_adjust(original=original(), lines=[goods()], reason="  ")
    assert "reason" in caught.value.fields


def test_it_cancels_once_and_keeps_the_xml():
    first = original()
    xml = first.xml
    canceled = services.invoice_cancel(invoice=first, reason="Khách trả hàng", actor_label="t")
    again = services.invoice_cancel(invoice=first, reason="Lần hai")
    assert canceled.status == again.status == Invoice.Status.CANCELED
    assert Invoice.objects.get(pk=first.pk).xml == xml
    assert first.events.filter(kind="canceled").count() == 1
    with pytest.raises(Conflict):
        services.invoice_replace(original=first, buyer=None, lines=[goods()], reason="x")


def test_a_wrong_buyer_name_is_a_notice_not_a_new_invoice():
    first = original()
    before = snapshot(first)
    event = services.invoice_notice_buyer_fix(
        invoice=first, buyer_name="Công ty TNHH Biển Đông", reason="Viết tắt tên"
    )
    assert event.kind == InvoiceEvent.Kind.NOTICE
    assert event.payload["new"]["buyer_name"] == "Công ty TNHH Biển Đông"
    assert event.payload["old"]["buyer_name"] == "Cty Biển Đông"
    assert snapshot(first) == before
    assert Invoice.objects.count() == 1
    with pytest.raises(ValidationFailed):
        services.invoice_notice_buyer_fix(invoice=first)


def test_a_cash_register_invoice_can_be_replaced_in_its_series():
    merchant = seller()
    register_series(merchant)
    first = services.invoice_issue(merchant=merchant, lines=[goods(rate="KCT")])
    second = services.invoice_replace(
        original=first, buyer=Buyer(name="Chị Hoa"), lines=[goods(rate="KCT")], reason="Sai giá"
    )
    assert second.register_code == "M2-26-A1B2C-00000000002"
    assert "<KHHDCLQuan>C26MAB</KHHDCLQuan>" in second.xml
