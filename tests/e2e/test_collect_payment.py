"""End to end, the sale the whole platform exists for (ARCHITECTURE.md §3 "POS sale, bank QR"):
the trader keys 150.000 đ on "Thu tiền", the QR shows; a shopper scans it and pays from the
sandbox bank's app page (over real HTTP, with a real signed notification); the trader's page turns
green and says "Đã nhận một trăm năm mươi nghìn đồng" aloud; today's list shows the payment.

The QR is read off the trader's screenshot with zxing-cpp, as a shopper's camera would.
"""

from __future__ import annotations

import io
from urllib.parse import urlencode

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, expect

from payments.models import LedgerEntry, PaymentIntent
from payments.vietqr import parse
from sandboxes.ewallet import EWalletSandbox
from tests import factories
from tests.e2e.test_trader_onboarding import Steps

pytestmark = pytest.mark.e2e

# The browser's speech engine is replaced by a recorder: headless Chromium has no voices, and the
# test must know exactly what the phone would have said.
SPEECH_SPY = """
window.__spoken = [];
window.SpeechSynthesisUtterance = function (text) { this.text = text; this.lang = ""; };
Object.defineProperty(window, "speechSynthesis", {
  configurable: true,
  value: { speak: function (u) { window.__spoken.push({ text: u.text, lang: u.lang }); },
           cancel: function () {} },
});
"""


def _read_qr(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert results, "no QR code could be read off the trader's screen"
    return results[0].text


@pytest.mark.django_db(transaction=True)
def test_a_bank_qr_sale_is_confirmed_and_spoken(
    chromium_available, live_server, bank, page: Page, context, artifacts_dir
):
    merchant = factories.MerchantFactory(display_name="Hải sản Hùng Thọ Quang")
    factories.BankAccountFactory(
        merchant=merchant,
        bank_bin="970415",
        account_number="101870123456",
        holder_name="TRAN VAN HUNG",
    )
    factories.owner_of(merchant, phone="+84905111002", full_name="Trần Văn Hùng")
    page.add_init_script(SPEECH_SPY)
    steps = Steps(page, artifacts_dir, "e2e-collect")

    page.goto(f"{live_server.url}/dang-nhap/")
    page.get_by_label("Số điện thoại").fill("0905 111 002")
    page.get_by_label("Mật khẩu").fill(factories.PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("link", name="Thu tiền").first.click()

    # Key 150.000 on the big keypad.
    for key in ("1", "5", "0", "000"):
        page.locator(f'.keypad .key[data-key="{key}"]').click()
    expect(page.locator("#amount")).to_have_value("150.000")
    steps.shot("ban-phim")
    page.get_by_role("button", name="Hiện mã QR").click()

    expect(page.locator("#amount")).to_have_text("150.000 đ")
    expect(page.get_by_text("Đang chờ khách chuyển khoản…")).to_be_visible()
    steps.shot("ma-qr")
    payload = _read_qr(page.locator("#qr").screenshot())
    intent = PaymentIntent.objects.get(merchant=merchant)
    qr = parse(payload)
    assert (qr.bin, qr.account, qr.amount, qr.purpose) == (
        "970415",
        "101870123456",
        150_000,
        intent.reference_code,
    )

    # The shopper, on their own phone, pays the scanned payload in the (sandbox) bank app.
    shopper = context.new_page()
    shopper.goto(f"{bank.url}/?{urlencode({'payload': payload})}")
    shopper.get_by_role("button", name="Tiếp tục").click()
    expect(shopper.get_by_text("150.000 đ").first).to_be_visible()
    shopper.get_by_role("button", name="Chuyển").click()
    expect(shopper.get_by_text("Chuyển khoản thành công")).to_be_visible()
    shopper.screenshot(path=str(artifacts_dir / "e2e-collect-03-khach-chuyen.png"), full_page=True)
    shopper.close()

    # Confirmed by the bank's own notification: green, amount, spoken in Vietnamese.
    expect(page.locator("#collect.paid")).to_be_visible(timeout=10_000)
    expect(page.get_by_text("ĐÃ NHẬN TIỀN")).to_be_visible()
    page.wait_for_function("window.__spoken.length > 0")
    spoken = page.evaluate("window.__spoken")
    assert spoken[0] == {"text": "Đã nhận một trăm năm mươi nghìn đồng", "lang": "vi-VN"}
    steps.shot("da-nhan")

    intent.refresh_from_db()
    assert intent.status == PaymentIntent.Status.SUCCEEDED
    assert intent.amount_received == 150_000
    assert LedgerEntry.objects.filter(merchant=merchant).count() == 1

    page.goto(f"{live_server.url}/cua-hang/{merchant.pk}/tien-vao/")
    expect(page.get_by_text("+150.000 đ")).to_be_visible()
    expect(page.get_by_text("Ngân hàng xác nhận")).to_be_visible()
    steps.shot("tien-vao-hom-nay")


@pytest.mark.django_db(transaction=True)
def test_a_payment_made_while_offline_shows_when_the_page_comes_back(
    chromium_available, live_server, bank, page: Page, artifacts_dir
):
    """A sale is never lost: the payment settles server-side; the reopened page shows it."""
    merchant = factories.MerchantFactory()
    factories.BankAccountFactory(merchant=merchant)
    factories.owner_of(merchant, phone="+84905111003")
    page.add_init_script(SPEECH_SPY)
    page.goto(f"{live_server.url}/dang-nhap/")
    page.get_by_label("Số điện thoại").fill("0905 111 003")
    page.get_by_label("Mật khẩu").fill(factories.PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.goto(f"{live_server.url}/cua-hang/{merchant.pk}/thu-tien/")
    page.locator("#amount").fill("45000")
    page.get_by_role("button", name="Hiện mã QR").click()
    # The keypad sends with fetch first (static/js/net.js), then goes to the QR once answered.
    expect(page.locator("#qr")).to_be_visible()
    qr_url = page.url
    intent = PaymentIntent.objects.get(merchant=merchant)

    page.goto("about:blank")  # the trader's phone loses the page (or the network)
    bank.pay_qr(intent.qr_payload)
    assert bank.wait_idle(timeout=10)

    page.goto(qr_url)
    expect(page.locator("#collect.paid")).to_be_visible()
    expect(page.get_by_text("45.000 đ").first).to_be_visible()
    intent.refresh_from_db()
    assert intent.status == PaymentIntent.Status.SUCCEEDED


@pytest.fixture
def wallet(live_server, settings):
    settings.EWALLET_WEBHOOK_SECRET = "e2e-wallet-secret"
    settings.EWALLET_API_KEY = "sk_test_e2e"
    sandbox = EWalletSandbox(
        webhook_url=f"{live_server.url}/api/v1/payments/webhooks/ewallet",
        webhook_secret="e2e-wallet-secret",
        api_keys=["sk_test_e2e"],
        backoff_base=0.05,
    ).start()
    settings.EWALLET_URL = sandbox.url
    yield sandbox
    sandbox.stop()


def start_wallet_sale_of_85_000(page: Page, base: str):
    """A trader (0905 111 006, "Mì Quảng Bà Vị", with a bank account) signs in, keys 85.000 đ on
    "Thu tiền" and taps "Khách trả bằng ví điện tử"; the browser's speech is spied on."""
    merchant = factories.MerchantFactory(display_name="Mì Quảng Bà Vị")
    factories.BankAccountFactory(merchant=merchant)
    factories.owner_of(merchant, phone="+84905111006")
    page.add_init_script(SPEECH_SPY)
    page.goto(f"{base}/dang-nhap/")
    page.get_by_label("Số điện thoại").fill("0905 111 006")
    page.get_by_label("Mật khẩu").fill(factories.PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.get_by_role("link", name="Thu tiền").first.click()
    for key in ("8", "5", "000"):
        page.locator(f'.keypad .key[data-key="{key}"]').click()
    page.get_by_role("button", name="Khách trả bằng ví điện tử").click()
    return merchant


@pytest.mark.django_db(transaction=True)
def test_an_e_wallet_sale_is_approved_by_the_shopper_and_spoken(
    chromium_available, live_server, wallet, page: Page, context, artifacts_dir
):
    merchant = start_wallet_sale_of_85_000(page, live_server.url)
    steps = Steps(page, artifacts_dir, "e2e-ewallet")

    expect(page.locator("#amount")).to_have_text("85.000 đ")
    expect(page.get_by_text("Đang chờ khách xác nhận trên ví…")).to_be_visible()
    steps.shot("ma-qr-vi")
    pay_url = _read_qr(page.locator("#qr").screenshot())
    intent = PaymentIntent.objects.get(merchant=merchant)
    assert pay_url == intent.qr_payload and pay_url.startswith(wallet.url + "/pay/")

    # The shopper's phone opens the wallet's pay page from the QR, signs in, approves.
    shopper = context.new_page()
    shopper.goto(pay_url)
    shopper.get_by_label("Số điện thoại").fill("0909 000 001")
    shopper.get_by_role("button", name="Tiếp tục").click()
    expect(shopper.get_by_text("85.000 đ").first).to_be_visible()
    expect(shopper.get_by_text("Mì Quảng Bà Vị").first).to_be_visible()
    shopper.screenshot(path=str(artifacts_dir / "e2e-ewallet-02-vi-khach.png"), full_page=True)
    shopper.get_by_role("button", name="Xác nhận thanh toán").click()
    # Close only once the navigation has committed: Chromium can ack closing a page caught
    # mid-commit without closing it, and page.close() then waits forever (playwright#42366).
    expect(shopper.get_by_text("Thanh toán thành công")).to_be_visible()
    shopper.close()

    expect(page.locator("#collect.paid")).to_be_visible(timeout=10_000)
    page.wait_for_function("window.__spoken.length > 0")
    assert page.evaluate("window.__spoken")[0] == {
        "text": "Đã nhận tám mươi lăm nghìn đồng",
        "lang": "vi-VN",
    }
    steps.shot("da-nhan-vi")
    intent.refresh_from_db()
    assert (intent.status, intent.amount_received) == (PaymentIntent.Status.SUCCEEDED, 85_000)

    # Later the owner opens the sale again and gives 20.000 đ back through the wallet.
    page.reload()
    page.get_by_label("Số tiền hoàn (đồng)").fill("20000")
    page.get_by_label("Lý do").fill("Hết mì gà, đổi món rẻ hơn")
    page.get_by_role("button", name="Hoàn tiền qua ví điện tử").click()
    expect(page.get_by_text("Đã hoàn tiền cho khách.")).to_be_visible()
    expect(page.locator("#refunds").get_by_text("Đã hoàn")).to_be_visible()
    steps.shot("hoan-tien-vi")
    assert wallet.payment(intent.provider_payment_id)["amount_refunded"] == 20_000
