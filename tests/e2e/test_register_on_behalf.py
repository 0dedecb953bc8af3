"""Issue 16 at 360×740 in Vietnamese and English: a community digital-technology team member
signs in, opens "Đăng ký giúp tiểu thương" from home, types an elderly trader's name and phone
(and shop and market), the trader reads out the code texted to them (the sandbox SMS gateway's
outbox), and the officer sees the account created. axe-core and 44 px tap targets on each page.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, Permission
from playwright.sync_api import Browser, expect

from merchants.models import User
from tests import factories
from tests.conftest import PHONE
from tests.e2e.a11y import assert_accessible
from tests.e2e.test_trader_onboarding import Steps

pytestmark = pytest.mark.e2e

TEXT = {
    "vi": {"done": "Đã tạo tài khoản", "card": "Đăng ký giúp tiểu thương"},
    "en": {"done": "Account created", "card": "Register a trader"},
}
TRADER = "+84935666777"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_staff_register_a_trader_who_confirms_by_the_sms_code(
    chromium_available, live_server, sms, browser: Browser, artifacts_dir, lang
):
    market = factories.MarketFactory(name="Chợ Hàn")
    officer = factories.UserFactory(
        phone="+84905000077", full_name="Phan Văn Tổ (Tổ CNS)", is_staff=True
    )
    team, _ = Group.objects.get_or_create(name="Tổ công nghệ số cộng đồng")
    team.permissions.add(
        Permission.objects.get(codename="register_on_behalf", content_type__app_label="merchants")
    )
    officer.groups.add(team)
    ctx = browser.new_context(**{**PHONE, "locale": "vi-VN" if lang == "vi" else "en-US"})
    page = ctx.new_page()
    steps = Steps(page, artifacts_dir, f"e2e-dang-ky-ho-{lang}")
    base = live_server.url

    page.goto(f"{base}/dang-nhap/")
    switch = page.locator("button[name=language][value=en]")
    if lang == "en" and switch.count():
        switch.click()
    expect(page.locator("html")).to_have_attribute("lang", lang)
    page.locator("input[name=username]").fill("0905 000 077")
    page.locator("input[type=password]").fill(factories.PASSWORD)
    page.locator("form button[type=submit]").last.click()
    card = page.locator("#onboarding-card a")
    expect(card).to_have_text(TEXT[lang]["card"])
    card.click()
    expect(page).to_have_url(f"{base}/quan-ly/dang-ky-ho/")
    steps.shot("mau")
    assert_accessible(page)

    page.locator("input[name=full_name]").fill("Bà Lê Thị Sáu")
    page.locator("input[name=phone]").fill("0935 666 777")
    page.locator("input[name=shop_name]").fill("Bánh tráng bà Sáu")
    page.locator("select[name=market]").select_option(str(market.pk))
    page.locator("form.card button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/quan-ly/dang-ky-ho/\d+/$"))
    expect(page.get_by_text("0935 666 777")).to_be_visible()
    assert not User.objects.filter(phone=TRADER).exists()
    steps.shot("nhap-ma")
    assert_accessible(page)

    (message,) = sms.outbox(to=TRADER)
    code = re.search(r"\b(\d{6})\b", message["text"]).group(1)
    page.locator("input[name=code]").fill(code)
    page.locator("form.card button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/quan-ly/dang-ky-ho/\d+/xong/$"))
    expect(page.locator("h1")).to_have_text(TEXT[lang]["done"])
    expect(page.locator("#onboarding-done")).to_contain_text("Bánh tráng bà Sáu")
    steps.shot("xong")
    assert_accessible(page)

    trader = User.objects.get(phone=TRADER)
    assert trader.full_name == "Bà Lê Thị Sáu"
    assert len(sms.outbox(to=TRADER)) == 2  # the code, then how to set a password
    ctx.close()
