"""End to end at 360×740, selling online: a shopper searches "ca thu" (no diacritics), adds
0,5 kg, checks out with pickup at the stall and pays in the sandbox bank; the trader's phone gets
the order live, accepts it, marks it ready and completed; the shopper leaves a review.
"""

from __future__ import annotations

from datetime import time
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from market.models import Order, Review, Storefront
from payments.vietqr import parse
from tests import factories
from tests.e2e.test_collect_payment import SPEECH_SPY
from tests.e2e.test_pos_sale import _login, _read_qr
from tests.e2e.test_trader_onboarding import Steps

pytestmark = pytest.mark.e2e


@pytest.mark.django_db(transaction=True)
def test_a_shopper_buys_online_and_the_trader_hands_it_over(
    chromium_available, live_server, bank, page: Page, browser, artifacts_dir
):
    merchant = factories.MerchantFactory(
        display_name="Cá tươi Bà Lan", slug="ca-tuoi-ba-lan", phone="+84905111022"
    )
    factories.BankAccountFactory(
        merchant=merchant, bank_bin="970436", account_number="0041000123456"
    )
    market = factories.MarketFactory(name="Chợ Hàn", slug="cho-han")
    factories.StallFactory(market=market, code="B-07", merchant=merchant)
    Storefront.objects.create(
        merchant=merchant, is_open=True, opens_at=time(0, 0), closes_at=time(23, 59)
    )
    factories.ProductFactory(
        merchant=merchant, name="Cá thu", search_name="ca thu", unit="kg", price=180_000
    )
    factories.ProductFactory(
        merchant=merchant, name="Mực lá", search_name="muc la", unit="kg", price=320_000
    )
    factories.member_of(merchant, phone="+84905111022", full_name="Lê Thị Lan")
    base = live_server.url
    shots = Steps(page, artifacts_dir, "e2e-shop")

    # The trader's phone is on the online-orders screen, listening.
    trader_context = browser.new_context(
        viewport={"width": 360, "height": 740}, locale="vi-VN", device_scale_factor=2
    )
    trader = trader_context.new_page()
    trader.add_init_script(SPEECH_SPY)
    _login(trader, base, "0905 111 022")
    trader.goto(f"{base}/cua-hang/{merchant.pk}/don-online/")
    trader_shots = Steps(trader, artifacts_dir, "e2e-shop-nguoi-ban")

    # The shopper searches without diacritics and adds half a kilo.
    page.goto(f"{base}/mua/")
    page.get_by_role("searchbox").fill("ca thu")
    page.get_by_role("button", name="Tìm", exact=True).click()
    expect(page.locator("#results")).to_contain_text("Cá thu")
    expect(page.locator("#results")).not_to_contain_text("Mực lá")
    shots.shot("tim-ca-thu")
    page.get_by_label("Số lượng (kg)").fill("0,5")
    page.get_by_role("button", name="Thêm Cá thu vào giỏ").click()
    page.goto(f"{base}/gio-hang/")
    expect(page.locator(".cart-group")).to_contain_text("90.000 đ")
    shots.shot("gio-hang")
    page.get_by_role("link", name="Đặt hàng ở sạp này").click()

    page.get_by_label("Tên người nhận").fill("Trần Thị Khách")
    page.get_by_label("Số điện thoại").fill("0905 123 456")
    page.get_by_label("Giờ lấy hàng").select_option(index=1)
    expect(page.locator("#checkout-total")).to_have_text("90.000 đ")
    shots.shot("dat-hang")
    page.get_by_role("button", name="Đặt hàng và thanh toán").click()

    # Pay: the QR's payload goes to the sandbox bank (the shopper's banking app).
    expect(page.locator("#transfer-code")).to_be_visible()
    shots.shot("thanh-toan")
    payload = _read_qr(page.locator("#qr").screenshot())
    order = Order.objects.get(merchant=merchant)
    assert parse(payload).amount == 90_000
    bank_page = browser.new_page()
    bank_page.goto(f"{bank.url}/?{urlencode({'payload': payload})}")
    bank_page.get_by_role("button", name="Tiếp tục").click()
    bank_page.get_by_role("button", name="Chuyển").click()
    expect(bank_page.get_by_text("Chuyển khoản thành công")).to_be_visible()
    bank_page.close()
    expect(page.locator("#order-status")).to_have_text("Đã thanh toán", timeout=15_000)
    shots.shot("da-thanh-toan")

    # The trader's phone: the order arrived live (with a sound), accept → ready → completed.
    expect(trader.get_by_text(order.number)).to_be_visible(timeout=15_000)
    trader_shots.shot("don-moi")
    trader.get_by_role("button", name="Nhận đơn").click()
    trader.get_by_role("button", name="Đã chuẩn bị xong").click()
    trader_shots.shot("san-sang")
    trader.get_by_role("button", name="Hoàn thành").click()
    # The step is posted in the background; the card leaves the queue once it is recorded.
    expect(trader.get_by_role("button", name="Hoàn thành", exact=True)).to_have_count(
        0, timeout=10_000
    )
    trader_context.close()
    order.refresh_from_db()
    assert (order.status, order.fulfilment_status) == ("paid", "completed")

    # The shopper sees the timeline and leaves a review.
    page.reload()
    expect(page.locator("#timeline")).to_contain_text("Đã hoàn thành")
    page.get_by_label("Đánh giá cho").select_option(label="Cá thu")
    page.get_by_label("Nhận xét").fill("Cá tươi, cân đủ.")
    page.get_by_role("button", name="Gửi đánh giá").click()
    expect(page.get_by_text("Cảm ơn bạn đã đánh giá!")).to_be_visible()
    shots.shot("danh-gia")
    review = Review.objects.get()
    assert (review.rating, review.product.name) == (5, "Cá thu")
    page.goto(f"{base}/cho/cho-han/ca-tuoi-ba-lan/")
    expect(page.get_by_text("Cá tươi, cân đủ.")).to_be_visible()
    shots.shot("cua-hang")
