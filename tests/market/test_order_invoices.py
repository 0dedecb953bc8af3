"""Orders and e-invoices: a paid sale of an auto-invoicing stall gets its invoice; the shopper's
request from the receipt puts their details on it (a replacement if one was already issued); a
refund lowers it by an adjustment; nothing is issued twice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from einvoice import services as einvoice
from einvoice.models import Invoice
from market.sales import invoicing, orders
from market.sales.orders import BuyerInput, LineInput
from tests.factories import (
    ProductFactory,
    banknotify_deliver,
    banknotify_payload,
    enterprise_tax_code,
    member_of,
    merchant_with_account,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def merchant():
    m = merchant_with_account(display_name="Cá tươi Bà Lan")
    einvoice.series_create(merchant=m, form="2", symbol="C26TBL", auto_issue=True)
    return m


@pytest.fixture
def fish(merchant):
    return ProductFactory(merchant=merchant, name="Cá thu", unit="kg", price=180_000)


def qr_sale(client, merchant, fish) -> orders.Order:
    order = orders.order_create(
        merchant=merchant,
        lines=[
            LineInput(product_id=fish.pk, quantity=Decimal("0.35")),
            LineInput(unit_price=20_000),
        ],
        payment_method="bank_qr",
        actor=member_of(merchant, role="cashier"),
    )
    banknotify_deliver(
        client,
        banknotify_payload(
            account=order.intent.bank_account,
            amount=order.total,
            description=order.intent.reference_code,
        ),
    )
    order.refresh_from_db()
    return order


def test_a_paid_sale_gets_its_invoice_with_the_same_lines_and_total(client, merchant, fish):
    order = qr_sale(client, merchant, fish)
    invoice = Invoice.objects.get(source_ref=order.number)
    assert (invoice.total_payable, invoice.number, invoice.series_symbol) == (83_000, 1, "C26TBL")
    assert [(line.name, line.amount) for line in invoice.lines.order_by("position")] == [
        ("Cá thu", 63_000),
        ("Tiền hàng", 20_000),
    ]
    assert invoice.payment_method == "CK"
    # Dated when issued (right after the payment); the sale's day is the same, so not named.
    assert invoice.issued_at >= order.paid_at and invoice.sold_on is None
    # Again (a duplicate task, the sweep): the same invoice.
    assert invoicing.order_invoice_issue(order_id=order.pk) == invoice
    assert invoicing.invoices_issue_due() == 0
    assert Invoice.objects.count() == 1


def test_an_unpaid_sale_gets_no_invoice(merchant, fish):
    orders.order_create(
        merchant=merchant,
        lines=[LineInput(product_id=fish.pk)],
        payment_method="bank_qr",
        actor=None,
    )
    assert not Invoice.objects.exists()


def test_without_automatic_invoicing_only_a_request_issues_one(client):
    m = merchant_with_account()
    einvoice.series_create(merchant=m, form="2", symbol="C26TBM", auto_issue=False)
    order = orders.order_create(
        merchant=m, lines=[LineInput(unit_price=50_000)], payment_method="cash", actor=None
    )
    assert not Invoice.objects.exists()
    orders.order_request_invoice(
        order_id=order.pk, buyer=BuyerInput(name="Nguyễn Văn An", email="an@example.vn")
    )
    invoice = Invoice.objects.get()
    assert (invoice.buyer_name, invoice.buyer_email, invoice.payment_method) == (
        "Nguyễn Văn An",
        "an@example.vn",
        "TM",
    )


def test_a_request_after_the_automatic_invoice_replaces_it_with_the_buyer(client, merchant, fish):
    order = qr_sale(client, merchant, fish)
    original = Invoice.objects.get()
    tax_code = enterprise_tax_code(5)
    response = client.post(
        f"/bien-nhan/{order.receipt_token}/",
        {
            "name": "Công ty TNHH Biển Xanh",
            "tax_code": tax_code,
            "email": "ketoan@bienxanh.vn",
            "address": "12 Bạch Đằng, Hải Châu, Đà Nẵng",
        },
    )
    assert response.status_code == 302
    replacement = Invoice.objects.get(kind=Invoice.Kind.REPLACEMENT)
    assert replacement.related == original
    assert (replacement.buyer_name, replacement.buyer_tax_code) == (
        "Công ty TNHH Biển Xanh",
        tax_code,
    )
    assert replacement.total_payable == original.total_payable
    original.refresh_from_db()
    assert original.buyer_name == ""  # the original is never changed
    page = client.get(f"/bien-nhan/{order.receipt_token}/").content.decode()
    # A coded (C…) invoice's link is shown once the tax authority has given its code.
    assert replacement.lookup_code not in page and "Đang chờ mã của cơ quan thuế" in page
    Invoice.objects.filter(pk=replacement.pk).update(
        status="accepted", authority_code="0000000001" + "A" * 24
    )
    page = client.get(f"/bien-nhan/{order.receipt_token}/").content.decode()
    assert f"/hoa-don/{replacement.lookup_code}/" in page


def test_a_refund_lowers_the_invoice_by_an_adjustment(client, merchant, fish):
    order = qr_sale(client, merchant, fish)
    original = Invoice.objects.get()
    owner = member_of(merchant)
    line = order.lines.get(name="Tiền hàng")
    orders.order_refund(
        order_id=order.pk, amount=None, line_id=line.pk, reason="Trả lại", actor=owner
    )
    adjustment = Invoice.objects.get(kind=Invoice.Kind.ADJUSTMENT)
    assert adjustment.related == original
    assert adjustment.total_payable == -20_000
    assert adjustment.source_ref.startswith(f"{order.number}/A")


def test_an_invoice_asked_for_at_online_checkout_is_issued_when_the_payment_arrives(client):
    from datetime import time

    from market.models import Storefront
    from market.shop import storefront

    m = merchant_with_account(display_name="Đặc sản Sông Hàn")
    einvoice.series_create(merchant=m, form="2", symbol="C26TSH", auto_issue=False)
    Storefront.objects.create(
        merchant=m, is_open=True, delivers=True, opens_at=time(0), closes_at=time(23, 59)
    )
    product = ProductFactory(merchant=m, name="Chả bò", unit="kg", price=300_000)
    tax_code = enterprise_tax_code(6)
    order = storefront.checkout(
        merchant=m,
        lines=[(product.pk, Decimal(1))],
        data=storefront.CheckoutInput(
            name="Lê Văn Kế Toán",
            phone="0905123456",
            fulfilment="delivery",
            address="45 Lê Duẩn, Hải Châu, Đà Nẵng",
            payment_method="bank_qr",
            tax_code=tax_code,
            invoice_name="Công ty TNHH Biển Xanh",
            invoice_address="12 Bạch Đằng, Hải Châu, Đà Nẵng",
        ),
    )
    assert not Invoice.objects.exists()
    banknotify_deliver(
        client,
        banknotify_payload(
            account=order.intent.bank_account,
            amount=order.total,
            description=order.intent.reference_code,
        ),
    )
    invoice = Invoice.objects.get()
    assert (invoice.buyer_name, invoice.buyer_tax_code, invoice.total_payable) == (
        "Công ty TNHH Biển Xanh",
        tax_code,
        order.total,
    )
