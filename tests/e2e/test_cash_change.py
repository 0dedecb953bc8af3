"""Issue 16, item 6 at 360×740 in Vietnamese and English: after a cash sale the trader taps or
keys what the shopper handed over ("khách đưa") and sees the change ("tiền thừa"), big; quick
buttons offer the next round note above the total; less than the total is refused, with the
shortfall. The screen shows it; the cash record stays the order's total.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from market.models import Order
from tests import factories
from tests.e2e.a11y import assert_accessible
from tests.e2e.test_trader_onboarding import Steps

pytestmark = pytest.mark.e2e

TEXT = {
    "vi": {"exact": "Vừa đủ", "change": "Tiền thừa trả khách", "short": "còn thiếu 35.000 đ"},
    "en": {"exact": "Exact amount", "change": "Change to give back", "short": "35.000 đ short"},
}


def _sign_in(page: Page, base: str, phone: str, lang: str) -> None:
    page.goto(f"{base}/dang-nhap/")
    switch = page.locator("button[name=language][value=en]")
    if lang == "en" and switch.count():
        switch.click()
    expect(page.locator("html")).to_have_attribute("lang", lang)
    page.locator("input[name=username], input[name=phone]").first.fill(phone)
    page.locator("input[type=password]").fill(factories.PASSWORD)
    page.locator("form button[type=submit]").last.click()
    expect(page).not_to_have_url(re.compile(r"/dang-nhap/"))


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_cash_sale_tendered_and_change(
    chromium_available, live_server, browser: Browser, artifacts_dir, lang
):
    merchant = factories.MerchantFactory(display_name="Rau sạch Cô Ba")
    factories.BankAccountFactory(merchant=merchant, bank_bin="970436")
    factories.member_of(merchant, phone="+84905111061", full_name="Trần Thị Ba")
    ctx = browser.new_context(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="vi-VN" if lang == "vi" else "en-US",
    )
    page = ctx.new_page()
    steps = Steps(page, artifacts_dir, f"e2e-tien-thua-{lang}")
    base = live_server.url
    text = TEXT[lang]
    _sign_in(page, base, "0905 111 061", lang)
    page.goto(f"{base}/cua-hang/{merchant.pk}/ban-hang/")
    for key in ("1", "3", "5", "000"):
        page.locator(f'.keypad .key[data-key="{key}"]').click()
    expect(page.locator("#pos-total")).to_have_text("135.000 đ")
    page.locator("#pay-cash").click()
    expect(page.locator("#paid-box")).to_be_visible()
    box = page.locator("#change-box")
    expect(box).to_be_visible()

    # The exact amount, then the next round 10k/50k/100k/200k/500k above 135.000 đ.
    notes = box.locator("#quick-notes button")
    expect(notes).to_have_text([text["exact"], "140.000 đ", "150.000 đ", "200.000 đ", "500.000 đ"])
    notes.filter(has_text="200.000 đ").click()
    expect(page.locator("#tendered")).to_have_value("200000")
    expect(page.locator("#change-out")).to_be_visible()
    expect(page.locator("#change-out")).to_contain_text(text["change"])
    expect(page.locator("#change")).to_have_text("65.000 đ")
    assert page.locator("#change").evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 32
    steps.shot("200k")
    assert_accessible(page)

    # Less than the total: refused, with what is missing; no change shown.
    page.locator("#tendered").fill("100000")
    expect(page.locator("#tendered-error")).to_be_visible()
    expect(page.locator("#tendered-error")).to_contain_text(text["short"])
    expect(page.locator("#change-out")).to_be_hidden()
    steps.shot("thieu")

    # Keyed the Vietnamese way, with dots: whole đồng.
    page.locator("#tendered").fill("500.000")
    expect(page.locator("#tendered-error")).to_be_hidden()
    expect(page.locator("#change")).to_have_text("365.000 đ")
    notes.filter(has_text=text["exact"]).click()
    expect(page.locator("#change")).to_have_text("0 đ")
    steps.shot("vua-du")

    # The cash record is the sale's total, whatever was handed over.
    order = Order.objects.get(merchant=merchant)
    assert order.is_paid and order.payment_method == "cash"
    assert order.amount_paid == 135_000
    ctx.close()
