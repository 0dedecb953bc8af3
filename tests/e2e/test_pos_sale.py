"""End to end at 360×740, the stall's day: a cashier sells 0,35 kg cá thu and 2 bó rau muống by
bank QR; the shopper pays in the sandbox bank; the receipt opens from the QR on the trader's
screen; the owner refunds one item; a stranger's transfer with no code arrives; the daily close
shows the right totals and that one unmatched credit.
"""

from __future__ import annotations

import io
from urllib.parse import urlencode

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from market.models import DailyClose, Order
from tests import factories
from tests.e2e.test_collect_payment import SPEECH_SPY
from tests.e2e.test_trader_onboarding import Steps

pytestmark = pytest.mark.e2e


def _read_qr(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert results, "no QR code could be read off the screen"
    return results[0].text


def _login(page: Page, base: str, phone: str) -> None:
    page.goto(f"{base}/dang-nhap/")
    page.get_by_label("Số điện thoại").fill(phone)
    page.get_by_label("Mật khẩu").fill(factories.PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()


@pytest.mark.django_db(transaction=True)
def test_a_stall_day_sale_receipt_refund_and_close(
    chromium_available,
    live_server,
    bank,
    page: Page,
    context,
    browser,
    artifacts_dir,
):
    merchant = factories.MerchantFactory(display_name="Cá tươi Bà Lan")
    account = factories.BankAccountFactory(
        merchant=merchant,
        bank_bin="970436",
        account_number="0041000123456",
        holder_name="LE THI LAN",
    )
    market = factories.MarketFactory(name="Chợ Hàn", slug="cho-han")
    factories.StallFactory(market=market, code="B-07", merchant=merchant)
    factories.ProductFactory(
        merchant=merchant, name="Cá thu", unit="kg", price=180_000, sold_by_weight=True
    )
    factories.ProductFactory(
        merchant=merchant, name="Rau muống", unit="bó", price=10_000, sold_by_weight=False
    )
    factories.member_of(merchant, role="cashier", phone="+84905111021", full_name="Lê Văn Thu")
    factories.member_of(merchant, phone="+84905111022", full_name="Lê Thị Lan")
    page.add_init_script(SPEECH_SPY)
    steps = Steps(page, artifacts_dir, "e2e-pos")
    base = live_server.url

    # The cashier sells: 0,35 kg of cá thu on the weight keypad, 2 bó of rau muống.
    _login(page, base, "0905 111 021")
    # A stall and a bank account: the cashier's phone opens on the keypad ("Bán hàng").
    expect(page).to_have_url(f"{base}/cua-hang/{merchant.pk}/ban-hang/")
    steps.shot("ban-hang")
    page.locator(".product-key", has_text="Cá thu").click()
    for key in ("0", ",", "3", "5"):
        page.locator(f'.keypad .key[data-key="{key}"]').click()
    expect(page.locator("#pos-line-total")).to_have_text("= 63.000 đ")
    steps.shot("can-ca")
    # On the phone's first screen, without scrolling: every key clear of the pay bar, which
    # stays at the bottom (a thumb reaches both).
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts_dir / "e2e-pos-man-hinh-dau.png"))
    pay_bar = page.locator(".pos-pay").bounding_box()
    add_key = page.locator("#key-add").bounding_box()
    assert pay_bar and add_key
    assert add_key["y"] + add_key["height"] <= pay_bar["y"], "the keypad hides under the pay bar"
    assert pay_bar["y"] + pay_bar["height"] <= 740
    page.get_by_role("button", name="Thêm", exact=True).click()
    page.locator(".product-key", has_text="Rau muống").click()
    page.locator(".product-key", has_text="Rau muống").click()
    expect(page.locator("#pos-total")).to_have_text("83.000 đ")
    expect(page.locator("#cart-list")).to_contain_text("Cá thu · 0,35 kg")
    expect(page.locator("#cart-list")).to_contain_text("Rau muống · 2 bó")
    steps.shot("gio-hang")
    page.get_by_role("button", name="Thu tiền QR").click()

    expect(page.locator("#amount")).to_have_text("83.000 đ")
    steps.shot("ma-qr")
    payload = _read_qr(page.locator("#qr").screenshot())

    # The shopper pays from their own bank app (the sandbox bank's page).
    shopper = context.new_page()
    shopper.goto(f"{bank.url}/?{urlencode({'payload': payload})}")
    shopper.get_by_role("button", name="Tiếp tục").click()
    shopper.get_by_role("button", name="Chuyển").click()
    expect(shopper.get_by_text("Chuyển khoản thành công")).to_be_visible()
    shopper.close()

    expect(page.get_by_text("ĐÃ NHẬN TIỀN")).to_be_visible(timeout=10_000)
    page.wait_for_function("window.__spoken.length > 0")
    assert page.evaluate("window.__spoken")[0]["text"] == "Đã nhận tám mươi ba nghìn đồng"
    # The page reloads into the receipt QR for the shopper.
    expect(page.locator("#receipt-qr svg")).to_be_visible(timeout=10_000)
    steps.shot("da-nhan-bien-nhan")
    receipt_url = _read_qr(page.locator("#receipt-qr").screenshot())
    order = Order.objects.get(merchant=merchant)
    assert receipt_url.endswith(f"/bien-nhan/{order.receipt_token}/")
    assert order.status == "paid"

    # The shopper opens the receipt from the QR, on a phone with no login.
    shopper_context = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    receipt = shopper_context.new_page()
    receipt.goto(receipt_url)
    expect(receipt.locator("#receipt-total")).to_have_text("83.000 đ")
    expect(receipt.get_by_text("Đã xác nhận bởi ngân hàng")).to_be_visible()
    expect(receipt.get_by_text("Chợ Hàn · sạp B-07")).to_be_visible()
    Steps(receipt, artifacts_dir, "e2e-pos-khach").shot("bien-nhan")
    shopper_context.close()

    # The owner refunds the rau muống (wilted) from the sale's page.
    page.context.clear_cookies()
    _login(page, base, "0905 111 022")
    page.goto(f"{base}/cua-hang/{merchant.pk}/don/{order.pk}/")
    page.get_by_label("Hoàn cho").select_option(label="Rau muống · 20.000 đ")
    page.get_by_label("Lý do").fill("Rau héo")
    page.get_by_role("button", name="Ghi nhận đã trả lại tiền cho khách").click()
    expect(page.locator("#order-status")).to_have_text("Hoàn một phần")
    expect(page.locator("#refunded")).to_have_text("−20.000 đ")
    steps.shot("hoan-tien")

    # A stranger transfers 50.000 đ to the stall's account with no order code.
    bank.transfer(
        bin=account.bank_bin,
        account_number=account.account_number,
        amount=50_000,
        description="chuyen tien",
    )
    assert bank.wait_idle(timeout=10)
    close_day(page, base, merchant, steps)


def close_day(page: Page, base: str, merchant, steps: Steps) -> None:
    """The owner's daily close: 83.000 by QR, a 20.000 refund, one unmatched 50.000; no cash."""
    page.goto(f"{base}/cua-hang/{merchant.pk}/chot-so/")
    body = page.locator("main")
    expect(body).to_contain_text("83.000 đ")
    expect(body).to_contain_text("−20.000 đ")
    expect(body).to_contain_text("50.000 đ")
    steps.shot("chot-so")
    page.get_by_label("Tiền mặt đếm được (đ)").fill("0")
    page.get_by_role("button", name="Chốt sổ", exact=True).click()
    close = DailyClose.objects.get(merchant=merchant)
    figures = close.figures
    assert (close.sales_total, figures["refunds_total"], figures["net_total"]) == (
        83_000,
        20_000,
        63_000,
    )
    assert figures["sales_by_method"]["bank_qr"] == {"count": 1, "total": 83_000}
    assert [c["amount"] for c in figures["unmatched_credits"]] == [50_000]
    assert (close.cash_expected, close.cash_counted) == (0, 0)
    steps.shot("da-chot-so")
