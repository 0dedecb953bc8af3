"""Issue 16 at 360×740: the trader whose stall was approved sees the notice at the top of home
(axe-core, 44 px targets), taps "Đã xem" and it is gone; the SMS went out once."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect

from market.stalls.services import stall_application_approve
from tests import factories
from tests.conftest import PHONE
from tests.e2e.a11y import assert_accessible
from tests.e2e.test_trader_onboarding import Steps

pytestmark = pytest.mark.e2e

TEXT = {
    "vi": {"title": "Sạp A-12 ở Chợ Hàn đã được duyệt", "dismiss": "Đã xem"},
    "en": {"title": "Stall A-12 at Chợ Hàn has been approved", "dismiss": "Dismiss"},
}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_trader_sees_the_approval_on_home_until_dismissing_it(
    chromium_available, live_server, sms, browser: Browser, artifacts_dir, lang
):
    market = factories.MarketFactory(name="Chợ Hàn")
    factories.StallFactory(market=market, code="A-12")
    merchant = factories.MerchantFactory(display_name="Hải sản Hùng")
    trader = factories.member_of(merchant, phone="+84905444111", full_name="Trần Văn Hùng")
    application = factories.StallApplicationFactory(
        merchant=merchant, market=market, requested_code="A-12", created_by=trader
    )
    stall_application_approve(actor=factories.staff_reviewer(), application_id=application.pk)
    assert len(sms.outbox(to=trader.phone)) == 1
    ctx = browser.new_context(**{**PHONE, "locale": "vi-VN" if lang == "vi" else "en-US"})
    page = ctx.new_page()
    steps = Steps(page, artifacts_dir, f"e2e-thong-bao-sap-{lang}")
    base = live_server.url

    page.goto(f"{base}/dang-nhap/")
    page.locator("input[name=username]").fill("0905 444 111")
    page.locator("input[type=password]").fill(factories.PASSWORD)
    page.locator("form button[type=submit]").last.click()
    notice = page.locator(f"#decision-notice-{application.pk}")
    expect(notice.locator("h2")).to_have_text(TEXT[lang]["title"])
    steps.shot("thong-bao")
    assert_accessible(page)

    notice.get_by_role("button", name=TEXT[lang]["dismiss"]).click()
    expect(page).to_have_url(f"{base}/")
    expect(page.locator(f"#decision-notice-{application.pk}")).to_have_count(0)
    ctx.close()
