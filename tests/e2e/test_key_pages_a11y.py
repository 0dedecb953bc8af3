"""Issue 16: axe-core (no serious or critical violation) and tap targets of at least 44 px on the
key pages not already checked in test_small_fixes_a11y.py, at 360×740 in Vietnamese and English,
on the demo data: sign-in, sign-up, the trader's set-up forms (shop, bank account, product, stall
application), the sales list, a receipt; the shopper's stall shop, the fairs, an exhibition and
the online order's payment page. (The home of a new trader is checked in test_first_day.py.)
"""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from market.models import Order
from merchants.models import Merchant
from tests.e2e.test_small_fixes_a11y import _check, _context, _sign_in, _to_english
from tests.e2e.test_trader_onboarding import Steps
from virtual_expo.models import Booth, Exhibition

pytestmark = pytest.mark.e2e


def _visit(page: Page, steps: Steps, name: str, url: str) -> None:
    """The page answers (a 404 page must not pass for the page), then the checks."""
    response = page.goto(url)
    assert response is not None and response.ok, f"{url}: {response and response.status}"
    _check(page, steps, name)


@pytest.mark.django_db(transaction=True)
def test_the_key_pages_are_accessible_on_a_phone(
    chromium_available, live_server, browser: Browser, artifacts_dir
):
    call_command("demo", sales_days=1, stdout=io.StringIO())
    base = live_server.url
    seller = Merchant.objects.get(display_name="Hải sản Hùng Thọ Quang")
    pottery = Merchant.objects.get(display_name="Đặc sản Sông Hàn")
    shop_market = seller.stalls.select_related("market").first().market
    exhibition = Exhibition.objects.get()
    booth = Booth.objects.get(merchant=pottery)
    paid = Order.objects.filter(merchant=seller, paid_at__isnull=False).first()

    for lang in ("vi", "en"):
        # --- a shopper, not signed in ------------------------------------------------------
        ctx = _context(browser, lang)
        page = ctx.new_page()
        steps = Steps(page, artifacts_dir, f"e2e-a11y-{lang}-khach")
        page.goto(f"{base}/dang-nhap/")
        _to_english(page, lang)
        _check(page, steps, "dang-nhap")
        _visit(page, steps, "dang-ky", f"{base}/dang-ky/")
        _visit(page, steps, "cua-hang-online", f"{base}/cho/{shop_market.slug}/{seller.slug}/")
        _visit(page, steps, "hoi-cho", f"{base}/hoi-cho/")
        _visit(page, steps, "trien-lam", f"{base}/hoi-cho/{exhibition.slug}/")
        _visit(page, steps, "bien-nhan", f"{base}/bien-nhan/{paid.receipt_token}/")
        # An online order, to its payment page.
        page.goto(f"{base}/hoi-cho/{exhibition.slug}/gian/{booth.pk}/")
        page.locator(".expo-product").first.locator("button.buy").click()
        expect(page.locator("#cart-link .badge")).to_have_text("1")
        page.goto(f"{base}/gio-hang/{pottery.pk}/dat-hang/")
        page.locator("#name").fill("Trần Thị Khách")
        page.locator("#phone").fill("0905 123 456")
        page.locator("#pickup_at").select_option(index=1)
        page.locator("form button[type=submit]").last.click()
        expect(page).to_have_url(re.compile(r"/don-hang/"))
        expect(page.locator("#qr svg, #qr img").first).to_be_visible()
        _check(page, steps, "tra-tien-don")
        ctx.close()

        # --- the README's trader: the set-up forms and the sales --------------------------
        ctx = _context(browser, lang)
        page = ctx.new_page()
        steps = Steps(page, artifacts_dir, f"e2e-a11y-{lang}-nguoi-ban")
        _sign_in(page, base, "0905 111 002", lang)
        _visit(page, steps, "tao-cua-hang", f"{base}/cua-hang/moi/")
        _visit(page, steps, "ngan-hang", f"{base}/cua-hang/{seller.pk}/ngan-hang/them/")
        _visit(page, steps, "san-pham", f"{base}/cua-hang/{seller.pk}/san-pham/them/")
        _visit(page, steps, "dang-ky-sap", f"{base}/sap/dang-ky/")
        _visit(page, steps, "don-hang", f"{base}/cua-hang/{seller.pk}/don/")
        ctx.close()
