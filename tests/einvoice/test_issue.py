"""Issuing an invoice: totals, validation, idempotency, numbering, immutability."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction

from core.errors import Conflict, ValidationFailed
from einvoice import services, xmlbuild
from einvoice.models import ImmutableInvoice, Invoice, InvoiceEvent, InvoiceLine
from einvoice.services import Buyer, LineInput
from tests.factories import enterprise_tax_code

from .conftest import ISSUED_AT, VN, goods, register_series, seller, vat_series

pytestmark = pytest.mark.django_db


def test_it_issues_a_vat_invoice_with_totals_per_rate():
    merchant = seller()
    series = vat_series(merchant)
    invoice = services.invoice_issue(
        merchant=merchant,
        series=series,
        buyer=Buyer(name="Công ty TNHH Biển Xanh", tax_code=enterprise_tax_code(7)),
        lines=[
            goods("Cá thu", "0.350", 180_000, "8%"),
            goods("Tôm sú", "1.2", 350_000, "8%"),
            goods("Nước mắm", "2", 45_000, "10%", unit="chai"),
            LineInput(name="Rau muống", amount=15_000, tax_rate="KCT"),
        ],
        payment_method="TM/CK",
        issued_at=ISSUED_AT,
    )
    assert (invoice.number, invoice.year, invoice.series_symbol) == (1, 2026, "C26TAA")
    assert invoice.total_before_tax == 63_000 + 420_000 + 90_000 + 15_000
    # Tax rounded per line: 5.040 + 33.600 at 8%, 9.000 at 10%.
    assert invoice.total_tax == 5_040 + 33_600 + 9_000
    assert invoice.total_payable == 588_000 + 47_640
    assert invoice.amount_in_words == "Sáu trăm ba mươi lăm nghìn sáu trăm bốn mươi đồng"
    assert invoice.is_signed and not invoice.is_cash_register and invoice.register_code == ""
    assert invoice.status == Invoice.Status.ISSUED
    assert len(invoice.lookup_code) >= 10
    assert not set(invoice.lookup_code) & set("01IO")
    assert [line.tax_amount for line in invoice.lines.all()] == [5_040, 33_600, 9_000, 0]
    assert InvoiceEvent.objects.get(invoice=invoice).kind == "issued"
    assert xmlbuild.schema_errors(xmlbuild_root(invoice)) == []


def xmlbuild_root(invoice: Invoice):
    from lxml import etree

    return etree.fromstring(invoice.xml.encode())


def test_it_issues_a_cash_register_sales_invoice_unsigned_with_its_code():
    merchant = seller()
    series = register_series(merchant)
    invoice = services.invoice_issue(
        merchant=merchant, lines=[goods(rate="KCT")], issued_at=ISSUED_AT
    )
    assert invoice.series == series  # the auto-issue series is the default
    assert invoice.register_code == "M2-26-A1B2C-00000000001"
    assert invoice.is_cash_register and not invoice.is_signed
    assert invoice.total_tax == 0  # a sales invoice carries no VAT
    assert "<MCCQT>M2-26-A1B2C-00000000001</MCCQT>" in invoice.xml
    assert "TSuat" not in invoice.xml


def test_it_numbers_consecutively_within_its_year():
    merchant = seller()
    series = vat_series(merchant)
    numbers = [
        services.invoice_issue(
            merchant=merchant, series=series, lines=[goods()], issued_at=ISSUED_AT
        ).number
        for _ in range(5)
    ]
    assert numbers == [1, 2, 3, 4, 5]
    # Late on 31 December in Vietnam is still the series' year, whatever UTC says.
    late = services.invoice_issue(
        merchant=merchant,
        series=series,
        lines=[goods()],
        issued_at=datetime(2026, 12, 31, 23, 59, tzinfo=VN),
    )
    assert (late.year, late.number, late.series_symbol) == (2026, 6, "C26TAA")
    # 2027 needs a 27 series, which starts at 1 (see test_real_world for the refusal).
    next_year = vat_series(merchant, "C27TAA")
    new_year = services.invoice_issue(
        merchant=merchant,
        series=next_year,
        lines=[goods()],
        issued_at=datetime(2027, 1, 1, 0, 5, tzinfo=VN),
    )
    assert (new_year.year, new_year.number, new_year.series_symbol) == (2027, 1, "C27TAA")


def test_it_stores_nothing_when_the_schema_refuses_the_invoice(monkeypatch):
    merchant = seller()
    series = vat_series(merchant)
    monkeypatch.setattr(xmlbuild, "FORMAT_VERSION", "9.9.9")
    with pytest.raises(ValidationFailed) as caught:
        services.invoice_issue(merchant=merchant, series=series, lines=[goods()])
    assert caught.value.code == "invoice_schema_invalid"
    assert not Invoice.objects.exists()
    assert not InvoiceLine.objects.exists()
    monkeypatch.undo()
    assert services.invoice_issue(merchant=merchant, series=series, lines=[goods()]).number == 1


def test_it_is_idempotent_per_source_ref():
    merchant = seller()
    vat_series(merchant)
    first = services.invoice_issue(merchant=merchant, lines=[goods()], source_ref="DH-0001")
    again = services.invoice_issue(merchant=merchant, lines=[goods(price=5)], source_ref="DH-0001")
    assert again.pk == first.pk
    other = services.invoice_issue(merchant=merchant, lines=[goods()], source_ref="DH-0002")
    assert other.number == 2
    # Another merchant may use the same reference.
    merchant2 = seller()
    vat_series(merchant2)
    assert (
        services.invoice_issue(merchant=merchant2, lines=[goods()], source_ref="DH-0001").pk
        != first.pk
    )


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (
            LineInput(name="Cá", quantity=Decimal("2"), unit_price=10_000, amount=19_999),
            "lines.0.amount",
        ),
        (
            LineInput(name="Cá", quantity=Decimal("0.35"), unit_price=10_000, amount=3_500.0),
            "lines.0.amount",
        ),  # type: ignore[arg-type]
        (LineInput(name="Cá", quantity=2.0, unit_price=10_000, amount=20_000), "lines.0.quantity"),  # type: ignore[arg-type]
        (
            LineInput(name="Cá", quantity=Decimal("0.00001"), unit_price=10_000, amount=0),
            "lines.0.quantity",
        ),
        (
            LineInput(name="Cá", quantity=Decimal("-1"), unit_price=10_000, amount=-10_000),
            "lines.0.quantity",
        ),
        (LineInput(name="Cá", quantity=Decimal("1"), amount=10_000), "lines.0.quantity"),
        (LineInput(name="Cá", amount=10_000, tax_rate="7%"), "lines.0.tax_rate"),
        (LineInput(name="Cá", amount=10_000, kind="gift"), "lines.0.kind"),
        (LineInput(name="", amount=10_000), "lines.0.name"),
        (LineInput(name="Giảm giá", amount=-5, kind="discount"), "lines.0.amount"),
        (LineInput(name="Ghi chú", kind="note"), "lines"),
    ],
)
def test_it_refuses_bad_lines(line, field):
    merchant = seller()
    vat_series(merchant)
    with pytest.raises(ValidationFailed) as caught:
        services.invoice_issue(merchant=merchant, lines=[line])
    assert field in caught.value.fields
    assert not Invoice.objects.exists()


def test_it_refuses_no_lines_and_a_naive_time():
    merchant = seller()
    vat_series(merchant)
    with pytest.raises(ValidationFailed):
        services.invoice_issue(merchant=merchant, lines=[])
    with pytest.raises(ValidationFailed) as caught:
        services.invoice_issue(merchant=merchant, lines=[goods()], issued_at=datetime(2026, 1, 1))
    assert "issued_at" in caught.value.fields


@pytest.mark.parametrize(
    ("code", "field_ok"),
    [("0401234560", False), ("048123456789", True), ("999123456789", False), ("12345", False)],
)
def test_it_checks_the_buyer_tax_code(code, field_ok):
    merchant = seller()
    vat_series(merchant)
    buyer = Buyer(name="Chị Lan", tax_code=code)
    if field_ok:
        invoice = services.invoice_issue(merchant=merchant, buyer=buyer, lines=[goods()])
        assert invoice.buyer_citizen_id == code and invoice.buyer_tax_code == ""
        assert f"<CCCDan>{code}</CCCDan>" in invoice.xml
    else:
        with pytest.raises(ValidationFailed) as caught:
            services.invoice_issue(merchant=merchant, buyer=buyer, lines=[goods()])
        assert "buyer.tax_code" in caught.value.fields


def test_it_accepts_a_valid_enterprise_and_branch_tax_code():
    merchant = seller()
    vat_series(merchant)
    code = enterprise_tax_code(42)
    invoice = services.invoice_issue(
        merchant=merchant, buyer=Buyer(name="Cty A", tax_code=f"{code}-001"), lines=[goods()]
    )
    assert invoice.buyer_tax_code == f"{code}-001"
    assert f"<MST>{code}-001</MST>" in invoice.xml


def test_it_needs_a_usable_series():
    merchant = seller()
    with pytest.raises(Conflict) as caught:
        services.invoice_issue(merchant=merchant, lines=[goods()])
    assert caught.value.code == "no_invoice_series"
    services.series_create(merchant=merchant, form="2", symbol="C26MAB")
    with pytest.raises(Conflict) as caught:
        services.invoice_issue(merchant=merchant, lines=[goods()])
    assert caught.value.code == "register_not_registered"
    other = seller()
    with pytest.raises(ValidationFailed):
        services.invoice_issue(merchant=merchant, series=vat_series(other), lines=[goods()])


def test_it_writes_nfc_text():
    merchant = seller()
    vat_series(merchant)
    decomposed = "Cá thu".replace("á", "a\u0301")
    invoice = services.invoice_issue(
        merchant=merchant,
        buyer=Buyer(name="Nguye\u0302\u0303n Lan"),
        lines=[goods(name=decomposed)],
    )
    assert invoice.lines.get().name == "Cá thu"
    assert invoice.buyer_name == "Nguyễn Lan"
    assert "Cá thu" in invoice.xml


def test_it_applies_a_discount_line_to_its_rate():
    merchant = seller()
    vat_series(merchant)
    invoice = services.invoice_issue(
        merchant=merchant,
        lines=[
            goods("Gạo ST25", "10", 30_000, "5%"),
            LineInput(name="Chiết khấu 10%", amount=30_000, tax_rate="5%", kind="discount"),
            LineInput(name="Giao tại chợ Hàn", kind="note"),
        ],
    )
    assert (invoice.total_before_tax, invoice.total_tax, invoice.total_payable) == (
        270_000,
        13_500,
        283_500,
    )
    assert "<TChat>3</TChat>" in invoice.xml and "<TChat>4</TChat>" in invoice.xml
    assert "<TTCKTMai>30000</TTCKTMai>" in invoice.xml


class TestImmutability:
    def test_it_refuses_to_change_or_delete_an_issued_invoice(self):
        merchant = seller()
        vat_series(merchant)
        invoice = services.invoice_issue(merchant=merchant, lines=[goods()])
        with pytest.raises(ImmutableInvoice):
            invoice.delete()
        with pytest.raises(ImmutableInvoice):
            Invoice.objects.filter(pk=invoice.pk).delete()
        with pytest.raises(ImmutableInvoice):
            Invoice.objects.filter(pk=invoice.pk).update(total_payable=1)
        with pytest.raises(ImmutableInvoice):
            invoice.save(update_fields=["xml"])
        with pytest.raises(ImmutableInvoice):
            invoice.lines.get().delete()

    def test_the_database_refuses_a_changed_document_column(self):
        merchant = seller()
        vat_series(merchant)
        invoice = services.invoice_issue(merchant=merchant, lines=[goods()])
        original_xml = invoice.xml
        for field, value in [
            ("xml", "<HDon/>"),
            ("number", 99),
            ("total_payable", 1),
            ("buyer_name", "X"),
        ]:
            setattr(invoice, field, value)
            with pytest.raises(DatabaseError), transaction.atomic():
                invoice.save()
            invoice.refresh_from_db()
        line = invoice.lines.get()
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE einvoice_invoiceline SET amount = 1 WHERE id = %s", [line.pk])
        assert Invoice.objects.get(pk=invoice.pk).xml == original_xml

    def test_transmission_columns_and_the_pdf_once_may_be_written(self):
        merchant = seller()
        vat_series(merchant)
        invoice = services.invoice_issue(merchant=merchant, lines=[goods()])
        invoice.status = Invoice.Status.ACCEPTED
        invoice.authority_code = "M1-26-ABCDE-00000000001"
        invoice.attempts = 1
        invoice.save()  # whole-row save with unchanged document columns is fine
        Invoice.objects.filter(pk=invoice.pk).update(pdf_sha256="a" * 64, pdf="x.pdf")
        with pytest.raises(DatabaseError), transaction.atomic():
            Invoice.objects.filter(pk=invoice.pk).update(pdf_sha256="b" * 64)
        invoice.refresh_from_db()
        assert (invoice.status, invoice.pdf_sha256) == ("accepted", "a" * 64)
