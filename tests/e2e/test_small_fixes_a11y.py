"""Issue 16, item 9 in the browser at 360×740, in Vietnamese and English, on the demo data: no
serious or critical axe-core violation and every tap target at least 44 px on the pages the
small fixes touched; the paid screen's green reads at 4.5:1; chart labels are at least 12 px on
screen; the POS loads small thumbnails; the fair report names its booths and nothing in it
scrolls sideways; "/" takes a shopper to the marketplace; the booth page links to the cart.
"""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import call_command
from playwright.sync_api import Browser, Page, expect

from market.models import Order
from merchants.models import Merchant
from payments.models import PaymentIntent
from tests.e2e.a11y import assert_accessible, axe_violations
from tests.e2e.test_trader_onboarding import Steps
from virtual_expo.models import Booth, Exhibition

pytestmark = pytest.mark.e2e

PASSWORD = "cho-so-2026"


def _context(browser: Browser, lang: str):
    return browser.new_context(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="vi-VN" if lang == "vi" else "en-US",
    )


def _to_english(page: Page, lang: str) -> None:
    """English by the header's switch (an English browser is served English already)."""
    switch = page.locator("button[name=language][value=en]")
    if lang == "en" and switch.count():
        switch.click()
    expect(page.locator("html")).to_have_attribute("lang", lang)


def _sign_in(page: Page, base: str, phone: str, lang: str) -> None:
    page.goto(f"{base}/dang-nhap/")
    _to_english(page, lang)
    page.locator("input[name=username], input[name=phone]").first.fill(phone)
    page.locator("input[type=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    expect(page).not_to_have_url(re.compile(r"/dang-nhap/"))


def _check(page: Page, steps: Steps, name: str, url: str | None = None) -> None:
    if url:
        page.goto(url)
    page.wait_for_load_state("load")
    steps.shot(name)  # also: nothing scrolls sideways at 360 px
    assert_accessible(page)


def _contrast(page: Page, selector: str) -> float:
    """WCAG contrast of an element's text colour on its background colour."""
    return page.evaluate(
        """(sel) => {
          const el = document.querySelector(sel);
          const rgb = (c) => c.match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number);
          const lum = ([r, g, b]) => {
            const f = (v) => {
              v /= 255;
              return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
            };
            return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
          };
          const s = getComputedStyle(el);
          const [a, b] = [lum(rgb(s.color)), lum(rgb(s.backgroundColor))];
          return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
        }""",
        selector,
    )


def _smallest_chart_label_px(page: Page) -> float:
    """The smallest axis label of the page's charts as drawn on screen, in CSS px."""
    return page.evaluate(
        """() => Math.min(...[...document.querySelectorAll('.chart svg')].flatMap(svg => {
          const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
          return [...svg.querySelectorAll('text.axis')].map(
            t => parseFloat(getComputedStyle(t).fontSize) * scale);
        }))"""
    )


def _overlapping_chart_labels(page: Page) -> list[str]:
    """Axis labels of one chart closer than a space: at 12 px they must still read apart."""
    return page.evaluate(
        """() => [...document.querySelectorAll('.chart svg')].flatMap(svg => {
          const boxes = [...svg.querySelectorAll('text.axis')]
            .map(t => [t.textContent, t.getBoundingClientRect()])
            .filter(([, r]) => r.width > 0);
          const out = [];
          for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
            const [a, ra] = boxes[i], [b, rb] = boxes[j];
            const gap = 4;  // px: a space between two dates, not just no overlap
            const apart = ra.right + gap <= rb.left || rb.right + gap <= ra.left
              || ra.bottom <= rb.top || rb.bottom <= ra.top;
            if (!apart) out.push(`${a} / ${b}`);
          }
          return out;
        })"""
    )


@pytest.mark.django_db(transaction=True)
def test_the_small_fixes_hold_in_the_browser(
    chromium_available, live_server, browser, artifacts_dir
):
    call_command("demo", sales_days=1, stdout=io.StringIO())
    base = live_server.url
    seller = Merchant.objects.get(display_name="Hải sản Hùng Thọ Quang")
    pottery = Merchant.objects.get(display_name="Đặc sản Sông Hàn")
    exhibition = Exhibition.objects.get()
    booth = Booth.objects.get(merchant=pottery)

    for lang in ("vi", "en"):
        # --- a shopper ---------------------------------------------------------------------
        ctx = _context(browser, lang)
        page = ctx.new_page()
        steps = Steps(page, artifacts_dir, f"e2e-small-{lang}-khach")
        page.goto(f"{base}/")
        _to_english(page, lang)
        expect(page).to_have_url(re.compile(r"/mua/$"))
        expect(page.locator("#trader-entry a[href='/dang-nhap/']")).to_be_visible()
        _check(page, steps, "cho-mua")
        _check(page, steps, "tim-ca-thu", f"{base}/mua/?q=ca+thu")
        # The favicon is there.
        assert page.request.get(f"{base}/favicon.ico").ok
        # The booth page: a cart link; buying from the company without a stall.
        _check(page, steps, "gian-hang", f"{base}/hoi-cho/{exhibition.slug}/gian/{booth.pk}/")
        expect(page.locator("#cart-link")).to_be_visible()
        page.locator(".expo-product").first.locator("button.buy").click()
        expect(page.locator("#cart-link .badge")).to_have_text("1")
        page.locator("#cart-link").click()
        _check(page, steps, "gio-hang")
        page.goto(f"{base}/gio-hang/{pottery.pk}/dat-hang/")
        expect(page.locator("input[name=fulfilment][value=delivery]")).to_be_visible()
        _check(page, steps, "dat-hang")
        _check(page, steps, "tra-cuu", f"{base}/hoa-don/tra-cuu/")
        ctx.close()

        # --- the trader of the README --------------------------------------------------------
        ctx = _context(browser, lang)
        page = ctx.new_page()
        steps = Steps(page, artifacts_dir, f"e2e-small-{lang}-nguoi-ban")
        _sign_in(page, base, "0905 111 002", lang)
        _check(page, steps, "trang-chinh")
        _check(page, steps, "cua-hang", f"{base}/cua-hang/{seller.pk}/")
        _check(page, steps, "ban-hang", f"{base}/cua-hang/{seller.pk}/ban-hang/")
        tabs = page.locator(".pos-head .tabs a")
        for n in range(tabs.count()):
            box = tabs.nth(n).bounding_box()
            assert box and box["height"] >= 44, f"POS tab {n}: {box}"
        # A sale waiting for the bank, then its QR expired, then paid (the green screen).
        page.locator(".product-key").first.click()
        page.locator('.keypad .key[data-key="1"]').click()
        page.locator("#key-add").click()
        page.locator("#pay-qr").click()
        expect(page.locator("#qr svg")).to_be_visible()
        _check(page, steps, "cho-chuyen-khoan")
        order = Order.objects.filter(merchant=seller).latest("pk")
        PaymentIntent.objects.filter(pk=order.intent_id).update(status="expired")
        page.reload()
        expect(page.locator("#new-qr")).to_be_visible()
        expect(page.locator("#state .waiting")).to_have_count(0)
        _check(page, steps, "het-han")
        page.locator("#switch-cash").click()
        expect(page.locator("#paid-box")).to_be_visible()
        _check(page, steps, "da-thu")
        assert _contrast(page, "#paid-box") >= 4.5
        # Books with charts: every axis label at least 12 px on the phone.
        _check(page, steps, "doanh-thu", f"{base}/cua-hang/{seller.pk}/doanh-thu/")
        assert _smallest_chart_label_px(page) >= 12
        assert not _overlapping_chart_labels(page)
        _check(page, steps, "thue", f"{base}/cua-hang/{seller.pk}/thue/")
        expect(page.locator("#rules")).not_to_contain_text(".md")
        _check(page, steps, "hoa-don", f"{base}/cua-hang/{seller.pk}/hoa-don/")
        _check(page, steps, "thu-tien", f"{base}/cua-hang/{seller.pk}/thu-tien/")
        ctx.close()

        # --- the company's POS: thumbnails, not the 1200 px photos ---------------------------
        ctx = _context(browser, lang)
        page = ctx.new_page()
        _sign_in(page, base, "0905 111 003", lang)
        page.goto(f"{base}/cua-hang/{pottery.pk}/ban-hang/")
        images = page.locator(".product-key img")
        assert images.count() >= 3
        for n in range(images.count()):
            images.nth(n).scroll_into_view_if_needed()
            images.nth(n).evaluate("img => img.decode()")
            width = images.nth(n).evaluate("img => img.naturalWidth")
            assert width <= 96, f"the 48 px button loads a {width} px image"
        assert not axe_violations(page)
        ctx.close()

        # --- staff -----------------------------------------------------------------------------
        ctx = _context(browser, lang)
        page = ctx.new_page()
        steps = Steps(page, artifacts_dir, f"e2e-small-{lang}-can-bo")
        _sign_in(page, base, "0905 000 001", lang)
        expect(page.locator("h1")).to_contain_text("Quân!")
        expect(page.locator("h1")).not_to_contain_text(")")
        _check(page, steps, "trang-chinh")
        _check(page, steps, "bao-cao-hoi-cho", f"{base}/quan-ly/hoi-cho/{exhibition.pk}/bao-cao/")
        names = page.locator("#revenue-chart .hbar-name").all_inner_texts()
        assert "Đặc sản Sông Hàn" in names
        # The booth table is a stack of cards on the phone: no column is cut off.
        assert page.locator("#booth-table").evaluate("t => t.scrollWidth <= t.clientWidth")
        _check(page, steps, "bao-cao-cho", f"{base}/quan-ly/cho/cho-han/bao-cao/")
        assert _smallest_chart_label_px(page) >= 12
        assert not _overlapping_chart_labels(page)
        ctx.close()
