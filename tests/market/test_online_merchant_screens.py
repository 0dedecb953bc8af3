"""The trader's online-selling screens in a real Chromium at 360×740: an order paid by a shopper
appears live on the queue (beep, badge) without a reload, is accepted, made ready and completed;
the settings, reviews, moderation and catalogue screens fit the phone. Screenshots go to
test-artifacts/online-merchant-*.png."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from playwright.sync_api import Page, expect

from market.models import Order
from market.shop import storefront as shop
from tests import factories
from tests.e2e.test_trader_onboarding import Steps
from tests.market.test_online_merchant import open_shop, paid_online_order, pay_by_bank, place

pytestmark = pytest.mark.e2e

# Records every tone the page asks Web Audio for: headless Chromium plays nothing audible.
AUDIO_SPY = """
window.__tones = 0;
(function () {
  var Real = window.AudioContext || window.webkitAudioContext;
  if (!Real) return;
  var orig = Real.prototype.createOscillator;
  Real.prototype.createOscillator = function () { window.__tones += 1; return orig.call(this); };
})();
"""


def sign_in(page: Page, base: str, phone: str) -> None:
    page.goto(f"{base}/dang-nhap/")
    page.get_by_label("Số điện thoại").fill(phone)
    page.get_by_label("Mật khẩu").fill(factories.PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(f"{base}/")


@pytest.mark.django_db(transaction=True)
def test_the_trader_gets_an_online_order_live_and_hands_it_over(
    chromium_available, live_server, client, page: Page, artifacts_dir, settings
):
    settings.REDIS_URL = ""
    merchant = factories.merchant_with_account(display_name="Hải sản Hùng Thọ Quang")
    open_shop(merchant, delivers=True, delivery_fee=15_000, delivery_area="Hải Châu, Thanh Khê")
    fish = factories.ProductFactory(
        merchant=merchant, name="Cá thu", search_name="ca thu", price=180_000
    )
    squid = factories.ProductFactory(
        merchant=merchant, name="Mực lá", search_name="muc la", price=320_000
    )
    factories.owner_of(merchant, phone="+84905111002", full_name="Trần Văn Hùng")
    earlier = paid_online_order(client, merchant, squid, fulfilment="delivery", quantity="1")
    shop.order_advance(order_id=earlier.pk, to="accepted", actor=None)
    page.add_init_script(AUDIO_SPY)
    steps = Steps(page, artifacts_dir, "online-merchant")
    base = live_server.url

    sign_in(page, base, "0905 111 002")
    page.get_by_role("link", name="Đơn online").first.click()
    expect(page.get_by_role("heading", name="Đơn online")).to_be_visible()
    page.get_by_role("button", name="Bật chuông báo đơn").click()
    expect(page.locator("#sound-toggle")).to_have_attribute("aria-pressed", "true")
    steps.shot("queue-waiting")
    tones_before = page.evaluate("window.__tones")

    # A shopper pays for 0,5 kg of cá thu: the order comes down the live stream.
    order = pay_by_bank(client, place(merchant, fish))
    card = page.locator(f"#order-{order.pk}")
    expect(card).to_be_visible(timeout=10_000)
    expect(page.locator("#new-badge")).to_have_text("1")
    assert page.evaluate("window.__tones") > tones_before
    assert page.title().startswith("(1) ")
    expect(card.get_by_role("link", name="0905 222 333")).to_have_attribute(
        "href", "tel:+84905222333"
    )
    steps.shot("queue-new-order")

    page.evaluate("window.__same_page = true")
    card.get_by_role("button", name="Nhận đơn").click()
    expect(page.locator(f"#order-{order.pk} .badge")).to_have_text("Người bán đã nhận đơn")
    page.locator(f"#order-{order.pk}").get_by_role("button", name="Đã chuẩn bị xong").click()
    steps.shot("queue-ready")
    page.locator(f"#order-{order.pk}").get_by_role("button", name="Hoàn thành").click()
    expect(page.locator(f"#order-{order.pk} .badge")).to_have_text("Đã hoàn thành")
    assert Order.objects.get(pk=order.pk).fulfilment_status == "completed"
    # The steps posted in the background: same page, the sound still unlocked.
    assert page.evaluate("window.__same_page") is True
    expect(page.locator("#sound-toggle")).to_have_attribute("aria-pressed", "true")

    # Cancel the delivery order with a reason: refunded, and the trader is told to pay back.
    delivery = page.locator(f"#order-{earlier.pk}")
    delivery.locator("summary").click()
    delivery.get_by_label("Lý do hủy (khách sẽ thấy)").fill("Hết mực lá")
    steps.shot("queue-cancel-form")
    delivery.get_by_role("button", name="Hủy đơn và hoàn tiền").click()
    expect(page.locator(".flash")).to_contain_text("chuyển khoản trả lại khách")
    steps.shot("queue-done")

    # Settings: a mistake, then saved.
    page.goto(f"{base}/cua-hang/{merchant.pk}/ban-online/")
    page.get_by_label("Giờ mở cửa").fill("17:00")
    page.get_by_label("Giờ đóng cửa").fill("06:00")
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_text("Giờ đóng cửa phải sau giờ mở cửa.")).to_be_visible()
    steps.shot("settings-error")
    page.get_by_label("Giờ mở cửa").fill("05:00")
    page.get_by_label("Giờ đóng cửa").fill("18:00")
    page.get_by_role("button", name="Lưu").click()
    expect(page.locator(".flash")).to_contain_text("đang mở bán trực tuyến")
    steps.shot("settings")

    # Reviews: the shopper's words and the trader's one reply.
    shop.review_create(
        token=order.receipt_token, product_id=fish.pk, rating=4, text="Cá tươi, hơi nhỏ con."
    )
    page.goto(f"{base}/cua-hang/{merchant.pk}/danh-gia/")
    steps.shot("reviews")
    page.get_by_label("Trả lời khách (chỉ được trả lời một lần)").fill(
        "Cảm ơn chị, lần sau em chọn con to hơn ạ!"
    )
    page.get_by_role("button", name="Gửi trả lời").click()
    expect(page.get_by_text("Cửa hàng trả lời")).to_be_visible()
    page.locator(".report summary").click()
    page.get_by_label("Lý do").fill("Khách nói sai sự thật")
    page.get_by_role("button", name="Gửi cán bộ xem xét").click()
    steps.shot("reviews-replied")

    # Catalogue: one tap marks cá thu sold out.
    page.goto(f"{base}/cua-hang/{merchant.pk}/")
    row = page.locator(f"#product-{fish.pk}")
    expect(row.locator(".stock-state")).to_have_text("Còn hàng")
    row.get_by_role("button", name="Đánh dấu hết hàng").click()
    expect(row.locator(".stock-state")).to_have_text("Hết hàng")
    expect(row.get_by_role("button", name="Đánh dấu còn hàng")).to_be_visible()
    steps.shot("catalogue")

    # Staff moderation.
    staff = factories.UserFactory(phone="+84905000009", is_staff=True)
    staff.user_permissions.add(
        Permission.objects.get(codename="moderate_review", content_type__app_label="market")
    )
    page.context.clear_cookies()
    sign_in(page, base, "0905 000 009")
    page.goto(f"{base}/quan-ly/danh-gia/")
    steps.shot("moderation")
    page.get_by_role("button", name="Ẩn đánh giá").click()
    expect(page.get_by_text("Đã ẩn đánh giá.")).to_be_visible()
    steps.shot("moderation-hidden")
