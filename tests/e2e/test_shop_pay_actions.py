"""Issue 16, item 7 at 360×740 in Vietnamese and English: the shopper's online payment page offers
a real "Lưu ảnh mã QR" (a download link to a PNG that answers 200), "Chép" for the account number,
the amount (digits only) and the transfer content (the clipboard holds exactly that, and the page
says "Đã chép"), and "Mở ứng dụng ngân hàng" links in VietQR.io's documented deeplink form.
"""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, expect

from market.models import Fulfilment, Order, Storefront
from market.shop import storefront
from payments.vietqr import parse
from tests import factories
from tests.e2e.a11y import assert_accessible
from tests.e2e.test_pos_sale import _read_qr
from tests.e2e.test_trader_onboarding import Steps

pytestmark = pytest.mark.e2e

TEXT = {
    "vi": {"save": "Lưu ảnh mã QR", "copied": "Đã chép", "apps": "Mở ứng dụng ngân hàng"},
    "en": {"save": "Save the QR image", "copied": "Copied", "apps": "Open a banking app"},
}


def _online_order() -> Order:
    merchant = factories.MerchantFactory(display_name="Cá tươi Bà Lan", slug="ca-tuoi-ba-lan")
    factories.BankAccountFactory(
        merchant=merchant,
        bank_bin="970436",
        account_number="0041000123456",
        holder_name="LE THI LAN",
    )
    market = factories.MarketFactory(name="Chợ Hàn", slug="cho-han")
    factories.StallFactory(market=market, code="B-07", merchant=merchant)
    shop = Storefront.objects.create(
        merchant=merchant, is_open=True, opens_at=time(0, 0), closes_at=time(23, 59)
    )
    fish = factories.ProductFactory(merchant=merchant, name="Cá thu", unit="kg", price=180_000)
    return storefront.checkout(
        merchant=merchant,
        lines=[(fish.pk, Decimal("0.5"))],
        data=storefront.CheckoutInput(
            name="Trần Thị Khách",
            phone="0905 123 456",
            fulfilment=Fulfilment.PICKUP,
            payment_method=Order.PaymentMethod.BANK_QR,
            pickup_at=storefront.pickup_slots(shop)[0],
        ),
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_shopper_saves_the_qr_copies_each_field_and_opens_a_bank_app(
    chromium_available, live_server, browser: Browser, artifacts_dir, lang
):
    order = _online_order()
    intent = order.intent
    assert intent is not None
    text = TEXT[lang]
    base = live_server.url
    ctx = browser.new_context(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="vi-VN" if lang == "vi" else "en-US",
        permissions=["clipboard-read", "clipboard-write"],
    )
    page = ctx.new_page()
    steps = Steps(page, artifacts_dir, f"e2e-khach-tra-{lang}")
    page.goto(f"{base}/don-hang/{order.receipt_token}/")
    switch = page.locator("button[name=language][value=en]")
    if lang == "en" and switch.count():
        switch.click()
    expect(page.locator("html")).to_have_attribute("lang", lang)
    steps.shot("thanh-toan")

    # Save the QR: a download link to a PNG of the very payload on screen.
    save = page.locator("#save-qr")
    expect(save).to_have_text(text["save"])
    expect(save).to_have_attribute("download", f"cho-so-{order.number}-90000d.png")
    href = save.get_attribute("href")
    assert href
    answer = page.request.get(base + href)
    assert answer.status == 200
    assert answer.headers["content-type"] == "image/png"
    png = answer.body()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert _read_qr(png) == intent.qr_payload == _read_qr(page.locator("#qr").screenshot())
    with page.expect_download() as download:
        save.click()
    assert download.value.suggested_filename == f"cho-so-{order.number}-90000d.png"

    # The account number reads in groups of four; its copy is digits only.
    expect(page.locator("#transfer-account")).to_have_text("0041 0001 2345 6")

    # Copy each field: exactly the text a banking app wants, and "Đã chép" on screen.
    for button, expected in (
        ("#copy-account", "0041000123456"),
        ("#copy-amount", "90000"),
        ("#copy-content", intent.reference_code),
    ):
        page.locator(button).click()
        expect(page.locator(button)).to_contain_text(text["copied"])
        expect(page.locator("#copied")).to_contain_text(text["copied"])
        assert page.evaluate("() => navigator.clipboard.readText()") == expected
    steps.shot("da-chep")
    assert parse(intent.qr_payload).amount == 90_000

    # Banking apps: VietQR.io's documented deeplink, filled with this transfer.
    expect(page.locator("#bank-apps h2")).to_have_text(text["apps"])
    links = page.locator("#bank-apps a")
    assert links.count() >= 5
    for n in range(links.count()):
        url = links.nth(n).get_attribute("href") or ""
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc, parts.path) == ("https", "dl.vietqr.io", "/pay")
        query = parse_qs(parts.query)
        assert query["app"] == [links.nth(n).get_attribute("data-app")]
        assert query["am"] == ["90000"]
        assert query["tn"] == [intent.reference_code]
        assert "ba=0041000123456@vcb" in url  # "@" kept as documented
        box = links.nth(n).bounding_box()
        assert box and box["height"] >= 44
    steps.shot("ung-dung")
    assert_accessible(page)

    # Once paid, nothing to save: the PNG is gone with the QR.
    Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELED)
    assert page.request.get(base + href).status == 404
    assert re.fullmatch(r"/don-hang/[^/]+/ma-qr\.png", href)
    ctx.close()
