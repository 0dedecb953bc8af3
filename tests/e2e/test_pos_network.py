"""Issue 16, items 2-4, at 360×740 in Vietnamese: what the POS does when the network or the trader
leaves the sale halfway.

* A sale that cannot be sent (offline) stays in the cart, on the display, with a notice; sent again
  once online it makes one sale of the same amount, never a doubled one; a send whose answer was
  lost is sent again with the same idempotency key and gives the same sale.
* Back while the QR shows: the POS offers the open sale (resume or cancel); when the shopper pays,
  the POS (and any other page of the trader's) says the amount and shows it, and the recent sales
  turn paid without a reload. Only the trader's own shops: another trader hears nothing.
* The network lost right after the screen turned green: no browser offline page; an inline
  notice, and the receipt as soon as the network is back.
"""

from __future__ import annotations

import io
import re
import time
from urllib.parse import urlencode

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import Page, Route, expect

from market.models import Order
from payments.models import PaymentIntent
from tests import factories
from tests.e2e.test_collect_payment import SPEECH_SPY
from tests.e2e.test_trader_onboarding import Steps

pytestmark = pytest.mark.e2e


@pytest.fixture
def shop():
    merchant = factories.MerchantFactory(display_name="Rau Cô Ba")
    factories.BankAccountFactory(
        merchant=merchant, bank_bin="970436", account_number="0041000999888", holder_name="LE BA"
    )
    factories.ProductFactory(
        merchant=merchant, name="Rau muống", unit="bó", price=10_000, sold_by_weight=False
    )
    factories.owner_of(merchant, phone="+84905111031", full_name="Lê Thị Ba")
    return merchant


def _login(page: Page, base: str, phone: str = "0905 111 031") -> None:
    page.goto(f"{base}/dang-nhap/")
    page.get_by_label("Số điện thoại").fill(phone)
    page.get_by_label("Mật khẩu").fill(factories.PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state("load")


def _key(page: Page, *keys: str) -> None:
    for key in keys:
        page.locator(f'.keypad .key[data-key="{key}"]').click()


def _read_qr(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert results, "no QR code could be read off the trader's screen"
    return results[0].text


def _shopper_pays(context, bank, payload: str) -> None:
    shopper = context.new_page()
    shopper.goto(f"{bank.url}/?{urlencode({'payload': payload})}")
    shopper.get_by_role("button", name="Tiếp tục").click()
    shopper.get_by_role("button", name="Chuyển").click()
    expect(shopper.get_by_text("Chuyển khoản thành công")).to_be_visible()
    shopper.close()


def _in_view(page: Page, selector: str) -> None:
    """On the phone's screen, not hidden under the fixed pay bar."""
    box = page.locator(selector).bounding_box()
    pay = page.locator(".pos-pay").bounding_box()
    assert box and pay, selector
    assert box["y"] >= 0 and box["y"] + box["height"] <= pay["y"], f"{selector} is out of view"


# --- item 2: a failed charge never silently doubles the next sale ------------------------------


@pytest.mark.django_db(transaction=True)
def test_an_offline_charge_keeps_the_sale_visible_and_sends_it_once(
    chromium_available, live_server, page: Page, context, shop, artifacts_dir
):
    steps = Steps(page, artifacts_dir, "e2e-pos-mat-mang")
    base = live_server.url
    _login(page, base)
    page.goto(f"{base}/cua-hang/{shop.pk}/ban-hang/")
    _key(page, "1", "4", "0", "000")

    context.set_offline(True)
    page.get_by_role("button", name="Thu tiền QR").click()
    # Still the POS (not the browser's offline page), saying what happened.
    notice = page.locator("#pos-failed")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Mất mạng")
    assert page.url.endswith("/ban-hang/")
    # The display and the total agree, in view: the 140.000 đ is in the cart.
    expect(page.locator("#pos-total")).to_have_text("140.000 đ")
    expect(page.locator("#pos-cart-summary")).to_contain_text("1 món")
    expect(page.locator("#pos-cart-total")).to_have_text("140.000 đ")
    page.evaluate("() => window.scrollTo(0, 0)")
    _in_view(page, "#pos-cart-summary")
    page.screenshot(path=str(artifacts_dir / "e2e-pos-mat-mang-01-chua-gui.png"))
    assert Order.objects.count() == 0

    # Back online, one more tap: one sale of 140.000 đ, not 280.000 đ.
    context.set_offline(False)
    page.get_by_role("button", name="Thu tiền QR").click()
    expect(page.locator("#amount")).to_have_text("140.000 đ")
    order = Order.objects.get()
    assert order.total == 140_000
    steps.shot("da-gui")

    # Back on the POS, the cart is empty and a new sale starts from zero.
    page.go_back()
    expect(page.locator("#pos-total")).to_have_text("0 đ")
    expect(page.locator("#pos-cart-summary")).to_be_hidden()
    _key(page, "5", "000")
    expect(page.locator("#pos-total")).to_have_text("5.000 đ")


@pytest.mark.django_db(transaction=True)
def test_a_send_whose_answer_was_lost_is_sent_again_with_the_same_key(
    chromium_available, live_server, page: Page, shop
):
    base = live_server.url
    _login(page, base)
    page.goto(f"{base}/cua-hang/{shop.pk}/ban-hang/")
    page.locator(".product-key", has_text="Rau muống").click()
    page.locator(".product-key", has_text="Rau muống").click()
    sent_keys: list[str] = []

    def lose_the_answer(route: Route) -> None:
        body = route.request.post_data or ""
        sent_keys.extend(re.findall(r'name="idempotency_key"\r\n\r\n(\w+)', body))
        route.fetch()  # the server makes the sale...
        route.abort("internetdisconnected")  # ...and the phone never hears back

    page.route(re.compile(r".*/ban-hang/$"), lose_the_answer, times=1)
    page.get_by_role("button", name="Thu tiền QR").click()
    expect(page.locator("#pos-failed")).to_be_visible()
    assert Order.objects.count() == 1  # made on the server, unknown to the phone
    expect(page.locator("#pos-cart-total")).to_have_text("20.000 đ")
    # The network being up, the POS finds out and shows the sale it made as the open sale.
    expect(page.locator("#open-sale")).to_contain_text("20.000 đ")

    # The trader opens the POS again (a new page, a new key drawn by the server): the cart is
    # still there, in view, and still goes with the key it was sent with.
    page.goto(f"{base}/cua-hang/{shop.pk}/ban-hang/")
    expect(page.locator("#pos-cart-total")).to_have_text("20.000 đ")
    expect(page.locator("#pos-total")).to_have_text("20.000 đ")
    with page.expect_request(lambda r: r.method == "POST") as sent:
        page.get_by_role("button", name="Thu tiền QR").click()
    expect(page.locator("#amount")).to_have_text("20.000 đ")
    again = re.findall(r'name="idempotency_key"\r\n\r\n(\w+)', sent.value.post_data or "")
    assert sent_keys and again == sent_keys
    assert Order.objects.count() == 1


# --- item 3: back while the QR shows; the trader-wide live channel -------------------------------


@pytest.mark.django_db(transaction=True)
def test_back_from_the_qr_the_pos_offers_the_open_sale_and_announces_its_payment(
    chromium_available, live_server, bank, page: Page, context, browser, shop, artifacts_dir
):
    page.add_init_script(SPEECH_SPY)
    steps = Steps(page, artifacts_dir, "e2e-pos-quay-lai")
    base = live_server.url
    # Another trader, signed in on their own phone, must hear nothing of this shop's money.
    other_shop = factories.merchant_with_account(display_name="Cá Cô Tư")
    factories.owner_of(other_shop, phone="+84905111032")
    other = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    other.add_init_script(SPEECH_SPY)
    other_page = other.new_page()
    _login(other_page, base, "0905 111 032")
    other_page.goto(f"{base}/cua-hang/{other_shop.pk}/ban-hang/")
    expect(other_page.locator('#live[data-state="open"]')).to_have_count(1)
    assert other_page.request.get(f"{base}/cua-hang/{shop.pk}/su-kien/").status == 404

    _login(page, base)
    page.goto(f"{base}/cua-hang/{shop.pk}/ban-hang/")
    _key(page, "5", "0", "000")
    page.get_by_role("button", name="Thu tiền QR").click()
    expect(page.locator("#amount")).to_have_text("50.000 đ")
    payload = _read_qr(page.locator("#qr").screenshot())

    page.go_back()
    expect(page.locator('#live[data-state="open"]')).to_have_count(1)
    open_sale = page.locator("#open-sale")
    expect(open_sale).to_be_visible()
    expect(open_sale).to_contain_text("50.000 đ")
    expect(page.get_by_role("link", name="Mở lại mã QR")).to_be_visible()
    expect(page.get_by_role("button", name="Hủy đơn")).to_be_visible()
    expect(page.locator("#pos-total")).to_have_text("0 đ")
    expect(page.locator("#recent")).to_contain_text("Chờ thanh toán")
    steps.shot("don-dang-cho")

    _shopper_pays(context, bank, payload)
    toast = page.locator("#live .toast")
    expect(toast).to_contain_text("Đã nhận 50.000 đ", timeout=10_000)
    page.wait_for_function("window.__spoken.length > 0")
    assert page.evaluate("window.__spoken")[0]["text"] == "Đã nhận năm mươi nghìn đồng"
    expect(open_sale).to_be_hidden()
    expect(page.locator("#recent")).to_contain_text("Đã thanh toán")
    expect(page.locator("#recent")).not_to_contain_text("Chờ thanh toán")
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts_dir / "e2e-pos-quay-lai-01b-da-nhan.png"))

    # Any page of the trader's: the order list hears the next payment (a transfer with the code).
    _key(page, "3", "0", "000")
    page.get_by_role("button", name="Thu tiền QR").click()
    expect(page.locator("#amount")).to_have_text("30.000 đ")
    page.goto(f"{base}/cua-hang/{shop.pk}/don/")
    expect(page.locator('#live[data-state="open"]')).to_have_count(1)  # subscribed
    intent = PaymentIntent.objects.filter(merchant=shop, amount=30_000).get()
    bank.transfer(
        bin="970436",
        account_number="0041000999888",
        amount=30_000,
        description=intent.reference_code,
    )
    expect(page.locator("#live .toast").first).to_contain_text("Đã nhận 30.000 đ", timeout=10_000)
    # ...and its list shows the sale paid, without a reload.
    expect(page.locator("#orders li").first).to_contain_text("Đã thanh toán")
    expect(page.locator("#orders")).not_to_contain_text("Chờ thanh toán")
    steps.shot("trang-khac-nghe-thay")
    assert [s["text"] for s in page.evaluate("window.__spoken")][-1] == "Đã nhận ba mươi nghìn đồng"
    assert other_page.evaluate("window.__spoken") == []
    expect(other_page.locator("#live .toast")).to_have_count(0)
    other.close()


@pytest.mark.django_db(transaction=True)
def test_the_open_sale_can_be_canceled_from_the_pos(
    chromium_available, live_server, page: Page, shop
):
    base = live_server.url
    _login(page, base)
    page.goto(f"{base}/cua-hang/{shop.pk}/ban-hang/")
    _key(page, "7", "000")
    page.get_by_role("button", name="Thu tiền QR").click()
    expect(page.locator("#amount")).to_have_text("7.000 đ")
    page.goto(f"{base}/cua-hang/{shop.pk}/ban-hang/")
    page.once("dialog", lambda d: d.accept())
    page.locator("#open-sale-cancel").click()
    expect(page.locator("#open-sale")).to_have_count(0)
    assert Order.objects.get().status == Order.Status.CANCELED


# --- item 4: the network lost right after payment ---------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_network_lost_after_payment_shows_the_receipt_when_back(
    chromium_available, live_server, bank, page: Page, context, shop, artifacts_dir
):
    base = live_server.url
    _login(page, base)
    page.goto(f"{base}/cua-hang/{shop.pk}/ban-hang/")
    _key(page, "4", "5", "000")
    page.get_by_role("button", name="Thu tiền QR").click()
    expect(page.locator("#amount")).to_have_text("45.000 đ")
    payload = _read_qr(page.locator("#qr").screenshot())
    _shopper_pays(context, bank, payload)

    expect(page.locator("#collect.paid")).to_be_visible(timeout=10_000)
    context.set_offline(True)
    time.sleep(4)  # the screen would have reloaded after 2.5 s
    assert page.url.startswith(base), page.url
    expect(page.locator("#collect.paid")).to_be_visible()
    expect(page.locator("#net-notice")).to_be_visible()
    expect(page.locator("#net-notice")).to_contain_text("Mất mạng")
    page.screenshot(path=str(artifacts_dir / "e2e-pos-mat-mang-sau-khi-tra-01.png"))

    context.set_offline(False)
    back = time.monotonic()
    expect(page.locator("#receipt-qr svg")).to_be_visible(timeout=8_000)
    assert time.monotonic() - back < 8
    expect(page.locator("#net-notice")).to_be_hidden()
    page.screenshot(path=str(artifacts_dir / "e2e-pos-mat-mang-sau-khi-tra-02.png"))


@pytest.mark.django_db(transaction=True)
def test_in_english_an_offline_charge_and_the_open_sale(
    chromium_available, live_server, page: Page, context, shop, artifacts_dir
):
    base = live_server.url
    _login(page, base)
    page.goto(f"{base}/cua-hang/{shop.pk}/ban-hang/")
    page.get_by_role("button", name="EN").click()
    page.wait_for_load_state("load")
    _key(page, "1", "4", "0", "000")
    context.set_offline(True)
    page.get_by_role("button", name="QR payment").click()
    expect(page.locator("#pos-failed")).to_contain_text("No network: the sale was not sent")
    expect(page.locator("#net-notice")).to_contain_text("No network")
    expect(page.locator("#pos-cart-summary")).to_contain_text("In the cart: 1")
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts_dir / "e2e-pos-mat-mang-en-01.png"))
    sideways = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(sideways) <= 0, "the page scrolls sideways at 360 px"
    context.set_offline(False)
    page.get_by_role("button", name="QR payment").click()
    expect(page.locator("#amount")).to_have_text("140.000 đ")
    page.go_back()
    expect(page.locator("#open-sale")).to_contain_text("Waiting to be paid")
    expect(page.get_by_role("link", name="Show the QR again")).to_be_visible()
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(artifacts_dir / "e2e-pos-mat-mang-en-02.png"))
    assert Order.objects.get().total == 140_000


@pytest.mark.django_db(transaction=True)
def test_quick_collect_offline_stays_on_the_keypad_and_sends_once_when_back(
    chromium_available, live_server, page: Page, context, shop
):
    base = live_server.url
    _login(page, base)
    page.goto(f"{base}/cua-hang/{shop.pk}/thu-tien/")
    for key in ("1", "5", "0", "000"):
        page.locator(f'.keypad .key[data-key="{key}"]').click()
    context.set_offline(True)
    page.get_by_role("button", name="Hiện mã QR").click()
    expect(page.locator("#net-notice")).to_contain_text("Mất mạng")
    expect(page.locator("#amount")).to_have_value("150.000")
    assert page.url.endswith("/thu-tien/")
    context.set_offline(False)
    expect(page.locator("#net-notice")).to_be_hidden()
    page.get_by_role("button", name="Hiện mã QR").click()
    expect(page.locator("#amount")).to_have_text("150.000 đ")
    assert Order.objects.get().total == 150_000

    # An answer that is not a redirect (an amount of nothing) shows the form's own error.
    page.goto(f"{base}/cua-hang/{shop.pk}/thu-tien/")
    page.get_by_role("button", name="Hiện mã QR").click()
    expect(page.locator("#keypad-form .errors")).to_be_visible()
    assert Order.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_link_tapped_offline_waits_for_the_network_instead_of_the_offline_page(
    chromium_available, live_server, page: Page, context, shop
):
    base = live_server.url
    _login(page, base)
    page.goto(f"{base}/cua-hang/{shop.pk}/ban-hang/")
    context.set_offline(True)
    page.get_by_role("link", name="Đơn hàng").click()
    expect(page.locator("#net-notice")).to_contain_text("Mất mạng")
    assert page.url.endswith("/ban-hang/")
    expect(page.locator("#pos")).to_be_visible()
    context.set_offline(False)
    page.wait_for_url(f"{base}/cua-hang/{shop.pk}/don/", timeout=8_000)
