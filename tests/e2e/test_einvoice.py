"""End to end at 360×740, a sale becomes a legal invoice: a stall with automatic invoicing sells
(cash); its invoice is issued; the shopper opens the receipt, follows the invoice link to the public
lookup page, enters the lookup code there too, and downloads the PDF, which is rendered to PNG
(pdftoppm) for a person to look at: the Vietnamese must be right.
"""

from __future__ import annotations

import shutil
import subprocess
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from einvoice import services as einvoice
from einvoice.models import Invoice
from market.sales import orders
from tests import factories
from tests.e2e.test_trader_onboarding import Steps

pytestmark = pytest.mark.e2e


@pytest.mark.django_db(transaction=True)
def test_a_sale_is_invoiced_and_the_invoice_is_found_by_its_code(
    chromium_available, live_server, page: Page, artifacts_dir, settings
):
    settings.EINVOICE_PUBLIC_URL = live_server.url
    merchant = factories.MerchantFactory(
        display_name="Bánh tráng Túy Loan Bà Sáu",
        legal_name="Hộ kinh doanh Nguyễn Thị Sáu",
        address="Chợ Hàn, 119 Trần Phú, Hải Châu, Đà Nẵng",
    )
    factories.BankAccountFactory(merchant=merchant)
    einvoice.series_create(
        merchant=merchant, form="2", symbol="C26MAS", register_prefix="DNG06", auto_issue=True
    )
    rice_paper = factories.ProductFactory(
        merchant=merchant, name="Bánh tráng nướng mè đen", unit="gói", price=25_000
    )
    order = orders.order_create(
        merchant=merchant,
        lines=[
            orders.LineInput(product_id=rice_paper.pk, quantity=Decimal(4)),
            orders.LineInput(unit_price=12_000, name="Nước mắm nhĩ Nam Ô"),
        ],
        payment_method="cash",
        actor=None,
    )
    invoice = Invoice.objects.get(source_ref=order.number)
    assert invoice.total_payable == 112_000
    steps = Steps(page, artifacts_dir, "e2e-hoa-don")

    page.goto(f"{live_server.url}/bien-nhan/{order.receipt_token}/")
    expect(page.locator("#invoice")).to_contain_text(f"Hóa đơn số {invoice.number}")
    steps.shot("bien-nhan")
    page.locator("#invoice-link").click()
    expect(page.locator("main")).to_contain_text("Một trăm mười hai nghìn đồng")
    expect(page.locator("main")).to_contain_text("Bánh tráng nướng mè đen")
    steps.shot("tra-cuu")

    # The lookup form: the code printed on the invoice finds it; a wrong one finds nothing.
    page.goto(f"{live_server.url}/hoa-don/tra-cuu/")
    steps.shot("form-tra-cuu")
    page.get_by_label("Mã tra cứu").fill(invoice.lookup_code)
    page.get_by_role("button", name="Tra cứu").click()
    expect(page.locator("main")).to_contain_text("Hộ kinh doanh Nguyễn Thị Sáu")

    # The PDF opens in the phone's viewer; fetch what that link serves.
    href = page.get_by_role("link", name="Tải PDF").get_attribute("href")
    response = page.request.get(f"{live_server.url}{href}")
    assert response.ok and response.headers["content-type"] == "application/pdf"
    pdf = artifacts_dir / "e2e-hoa-don.pdf"
    pdf.write_bytes(response.body())
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftoppm"):
        subprocess.run(
            [
                "pdftoppm",
                "-png",
                "-r",
                "80",
                "-singlefile",
                str(pdf),
                str(artifacts_dir / "e2e-hoa-don-pdf"),
            ],
            check=True,
        )
        assert (artifacts_dir / "e2e-hoa-don-pdf.png").stat().st_size > 10_000
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
        ).stdout
        assert "Bánh tráng nướng mè đen" in text
        assert "Một trăm mười hai nghìn đồng" in text
