"""Issue 14, "E-invoices the real world accepts": sales and their invoices.

A VAT invoice of a paid sale totals exactly what was paid; a late invoice request is dated the
day it is issued and names the sale date; a refund's adjustment line is named after the goods; the
public page of a replaced invoice says so; the receipt shows no link to a coded invoice before the
tax authority's code exists.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from lxml import etree

from einvoice import services as einvoice
from einvoice.models import Invoice
from market.sales import invoicing, orders
from market.sales.orders import BuyerInput, LineInput
from tests.factories import ProductFactory, enterprise_tax_code, member_of, merchant_with_account

pytestmark = pytest.mark.django_db(transaction=True)

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def at(day: int, month: int = 11, hour: int = 10):
    return time_machine.travel(datetime(2026, month, day, hour, tzinfo=VN), tick=False)


def cash_sale(merchant, lines) -> orders.Order:
    order = orders.order_create(
        merchant=merchant,
        lines=lines,
        payment_method="cash",
        actor=member_of(merchant, role="cashier"),
    )
    order.refresh_from_db()
    assert order.is_paid
    return order


@pytest.fixture
def vat_merchant():
    m = merchant_with_account(
        display_name="Công ty Hải sản Sông Hàn", kind="enterprise", tax_code=enterprise_tax_code(77)
    )
    einvoice.series_create(merchant=m, form="1", symbol="K26TAA", auto_issue=True)
    return m


def test_a_vat_invoice_of_a_pos_sale_totals_exactly_what_was_paid(vat_merchant):
    # 710.000 đ at 10%: 645.455 before tax + 64.546 tax made 710.001 đ when each was rounded.
    crab = ProductFactory(merchant=vat_merchant, name="Cua", unit="con", price=710_000)
    crab.tax_category = "10%"
    crab.sold_by_weight = False
    crab.save()
    fish = ProductFactory(merchant=vat_merchant, name="Cá ngừ", price=236_667, tax_category="10%")
    squid = ProductFactory(merchant=vat_merchant, name="Mực", price=118_333, tax_category="8%")
    order = cash_sale(vat_merchant, [LineInput(product_id=crab.pk, quantity=Decimal(1))])
    invoice = Invoice.objects.get(source_ref=order.number)
    assert invoice.form == "1" and order.total == 710_000
    assert invoice.total_payable == order.amount_paid == 710_000
    assert (invoice.total_before_tax, invoice.total_tax) == (645_455, 64_545)
    order = cash_sale(
        vat_merchant,
        [
            LineInput(product_id=fish.pk, quantity=Decimal("1.5")),
            LineInput(product_id=squid.pk, quantity=Decimal("1")),
            LineInput(product_id=fish.pk, quantity=Decimal("0.5")),
            LineInput(product_id=crab.pk, quantity=Decimal(3)),
        ],
    )
    invoice = Invoice.objects.get(source_ref=order.number)
    assert invoice.total_payable == order.total == order.amount_paid
    assert invoice.total_before_tax + invoice.total_tax == order.total


def test_the_books_agree_to_the_dong_for_a_vat_sale_refunded_in_part(vat_merchant):
    from market.figures import books

    crab = ProductFactory(merchant=vat_merchant, name="Cua", unit="con", price=710_000)
    crab.tax_category = "10%"
    crab.save()
    squid = ProductFactory(merchant=vat_merchant, name="Mực", price=118_333, tax_category="8%")
    order = cash_sale(
        vat_merchant,
        [
            LineInput(product_id=crab.pk, quantity=Decimal(1)),
            LineInput(product_id=squid.pk, quantity=Decimal("0.7")),
        ],
    )
    orders.order_refund(
        order_id=order.pk, amount=100_001, reason="Cua nhỏ", actor=member_of(vat_merchant)
    )
    adjustment = Invoice.objects.get(kind=Invoice.Kind.ADJUSTMENT)
    assert adjustment.total_payable == -100_001
    report = books.books_check(merchant_ids=[vat_merchant.pk])
    assert report.clean, "\n".join(str(d) for d in report.differences)


def test_an_invoice_issued_after_a_refund_carries_that_refund_as_an_adjustment():
    # The shopper asks for the invoice after part of the sale was given back (or one worker
    # issues the invoice while another settled the refund and found no invoice to adjust).
    from market.figures import books

    m = merchant_with_account(display_name="Sạp cá Cô Lan")
    einvoice.series_create(merchant=m, form="2", symbol="K26TBL", auto_issue=False)
    order = cash_sale(m, [LineInput(unit_price=176_000)])
    orders.order_refund(order_id=order.pk, amount=76_000, reason="Cá nhỏ", actor=member_of(m))
    assert not Invoice.objects.exists()

    orders.order_request_invoice(order_id=order.pk, buyer=BuyerInput(name="Chị Hoa"))
    invoicing.order_invoice_issue(order_id=order.pk, requested=True)  # a retry issues nothing more

    invoices = Invoice.objects.order_by("number")
    assert [(i.kind, i.total_payable) for i in invoices] == [
        (Invoice.Kind.ORIGINAL, 176_000),
        (Invoice.Kind.ADJUSTMENT, -76_000),
    ]
    report = books.books_check(merchant_ids=[m.pk])
    assert report.clean, "\n".join(str(d) for d in report.differences)


def test_a_late_request_is_dated_today_after_earlier_numbers_and_names_the_sale_date():
    m = merchant_with_account(display_name="Sạp cá Cô Lan")
    einvoice.series_create(merchant=m, form="2", symbol="K26TBL", auto_issue=False)
    with at(6):
        old = cash_sale(m, [LineInput(unit_price=50_000)])
    with at(4, month=12):
        for _ in range(3):
            recent = cash_sale(m, [LineInput(unit_price=20_000)])
            orders.order_request_invoice(order_id=recent.pk, buyer=BuyerInput(name="Chị Hoa"))
        orders.order_request_invoice(order_id=old.pk, buyer=BuyerInput(name="Anh Nam"))
        late = Invoice.objects.get(source_ref=old.number)
        today = timezone.localdate()
    numbers = list(Invoice.objects.order_by("number").values_list("number", "issued_at"))
    assert [n for n, _ in numbers] == [1, 2, 3, 4]
    dates = [when for _, when in numbers]
    assert dates == sorted(dates)
    assert late.number == 4
    assert timezone.localtime(late.issued_at).date() == today
    assert late.sold_on == timezone.localtime(old.paid_at).date()
    root = etree.fromstring(late.xml.encode())
    assert root.findtext("DLHDon/TTChung/NLap") == today.isoformat()
    assert root.findtext("DLHDon/TTChung/TTKhac/TTin/DLieu") == late.sold_on.isoformat()
    from einvoice.pdf import invoice_html

    assert "Ngày bán" in invoice_html(late) and "06/11/2026" in invoice_html(late)


def test_a_refund_adjustment_is_named_after_the_goods_with_the_reason_in_a_note():
    m = merchant_with_account(display_name="Sạp cá Cô Lan")
    einvoice.series_create(merchant=m, form="2", symbol="K26TBL", auto_issue=True)
    fish = ProductFactory(merchant=m, name="Cá thu", unit="kg", price=180_000)
    order = cash_sale(m, [LineInput(product_id=fish.pk, quantity=Decimal("0.5"))])
    line = order.lines.get()
    orders.order_refund(
        order_id=order.pk,
        amount=None,
        line_id=line.pk,
        reason="Cá không tươi",
        actor=member_of(m),
    )
    adjustment = Invoice.objects.get(kind=Invoice.Kind.ADJUSTMENT)
    rows = list(adjustment.lines.order_by("position"))
    goods = [r for r in rows if r.kind == "goods"]
    notes = [r for r in rows if r.kind == "note"]
    assert [(g.name, g.unit, g.amount) for g in goods] == [("Cá thu", "kg", -90_000)]
    assert any("Cá không tươi" in n.name for n in notes)
    assert adjustment.total_payable == -90_000


def test_a_partial_refund_of_a_whole_sale_adjusts_its_goods_lines():
    m = merchant_with_account(display_name="Sạp rau")
    einvoice.series_create(merchant=m, form="2", symbol="K26TBR", auto_issue=True)
    order = cash_sale(
        m,
        [LineInput(unit_price=30_000, name="Rau muống"), LineInput(unit_price=10_000, name="Hành")],
    )
    orders.order_refund(order_id=order.pk, amount=20_000, reason="Thiếu hàng", actor=member_of(m))
    adjustment = Invoice.objects.get(kind=Invoice.Kind.ADJUSTMENT)
    goods = adjustment.lines.filter(kind="goods").order_by("position")
    assert [(g.name, g.amount) for g in goods] == [("Rau muống", -15_000), ("Hành", -5_000)]
    assert adjustment.total_payable == -20_000


def test_the_public_page_of_a_replaced_invoice_says_so_and_links_the_replacement():
    m = merchant_with_account(display_name="Sạp cá Cô Lan")
    einvoice.series_create(merchant=m, form="2", symbol="K26TBL", auto_issue=True)
    order = cash_sale(m, [LineInput(unit_price=50_000)])
    original = Invoice.objects.get(source_ref=order.number)
    orders.order_request_invoice(order_id=order.pk, buyer=BuyerInput(name="Chị Hoa"))
    replacement = Invoice.objects.get(kind=Invoice.Kind.REPLACEMENT)
    page = Client().get(f"/hoa-don/{original.lookup_code}/").content.decode()
    assert "Hóa đơn này đã được thay thế" in page
    assert f"/hoa-don/{replacement.lookup_code}/" in page


def test_the_receipt_shows_no_link_to_a_coded_invoice_before_its_code():
    m = merchant_with_account(display_name="Sạp cá Cô Lan")
    einvoice.series_create(merchant=m, form="2", symbol="C26TBL", auto_issue=True)
    order = cash_sale(m, [LineInput(unit_price=50_000)])
    invoice = Invoice.objects.get(source_ref=order.number)
    assert invoice.awaits_authority_code  # the gateway is unreachable in tests
    page = Client().get(f"/bien-nhan/{order.receipt_token}/").content.decode()
    assert invoice.lookup_code not in page
    assert "Đang chờ mã của cơ quan thuế" in page
    # Once the code is there, the link is shown.
    Invoice.objects.filter(pk=invoice.pk).update(
        status="accepted", authority_code="0000000001" + "A" * 24
    )
    page = Client().get(f"/bien-nhan/{order.receipt_token}/").content.decode()
    assert f"/hoa-don/{invoice.lookup_code}/" in page


def test_the_sale_date_is_not_written_when_the_invoice_is_issued_the_same_day():
    m = merchant_with_account(display_name="Sạp cá Cô Lan")
    einvoice.series_create(merchant=m, form="2", symbol="K26TBL", auto_issue=True)
    order = cash_sale(m, [LineInput(unit_price=50_000)])
    invoice = invoicing.order_invoice_issue(order_id=order.pk)
    assert invoice is not None and invoice.sold_on is None and "TTKhac" not in invoice.xml
    assert invoice.issued_at >= order.paid_at - timedelta(seconds=1)
