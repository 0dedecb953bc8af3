"""Issue 16, the traders' installable app, at 360×740 in Vietnamese (and English):

* installable: the manifest is fetched and valid, the service worker registered and in control;
* a lost network never shows the browser's offline page: the POS opens from the phone's copy,
  any other trader page shows our "Mất mạng — đang chờ mạng" page, which opens the page by
  itself when the network is back;
* cash sales made offline are kept with their keys ("Chưa đồng bộ: 2") and recorded exactly once
  when the network is back, at the time they were made, also when the sync is cut halfway or two
  tabs sync at once; QR sales say they need the network (the cart stays);
* signing out forgets the POS copy, so the next trader on a shared phone does not see it.
"""

from __future__ import annotations

import re
import time

import pytest
from django.utils import timezone
from playwright.sync_api import Page, Route, expect

from market.models import Order
from payments.models import PaymentIntent
from tests import factories
from tests.e2e.a11y import assert_accessible
from tests.e2e.test_pos_network import _key, _login
from tests.e2e.test_pos_real_stall import _all_in_view
from tests.e2e.test_trader_onboarding import Steps

pytestmark = pytest.mark.e2e

BROWSER_ERROR = re.compile(r"^chrome-error://")


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


def _controlled(page: Page, timeout: float = 20.0) -> None:
    """The service worker is installed (the shell cached) and controls this page. A page that
    was loading while the worker activated may be left out of its claim: a reload is in."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if page.evaluate("() => navigator.serviceWorker.controller !== null"):
            return
        active = page.evaluate(
            "async () => !!(await navigator.serviceWorker.getRegistration())?.active"
        )
        if active:
            page.reload()
        else:
            page.wait_for_timeout(200)
    raise AssertionError("no service worker controls the page")


def _pos(page: Page, base: str, shop) -> str:
    url = f"{base}/cua-hang/{shop.pk}/ban-hang/"
    page.goto(url)
    _controlled(page)
    page.reload()  # the worker keeps the copy of the POS it serves
    expect(page.locator("#pos")).to_be_visible()
    return url


def _sell_cash(page: Page, *keys: str) -> None:
    _key(page, *keys)
    page.get_by_role("button", name="Tiền mặt").click()


def _not_the_browsers_page(page: Page, base: str) -> None:
    assert not BROWSER_ERROR.match(page.url), page.url
    assert page.url.startswith(base), page.url


@pytest.mark.django_db(transaction=True)
def test_the_app_is_installable(chromium_available, live_server, page: Page, shop):
    base = live_server.url
    _login(page, base)
    _pos(page, base, shop)

    manifest = page.evaluate(
        """async () => {
          const link = document.querySelector('link[rel=manifest]');
          const r = await fetch(link.href);
          return {type: r.headers.get('content-type'), body: await r.json()};
        }"""
    )
    assert manifest["type"].startswith("application/manifest+json")
    body = manifest["body"]
    assert body["name"] == "Chợ Số" and body["display"] == "standalone"
    assert body["start_url"] == "/"
    for icon in body["icons"]:
        assert page.request.get(base + icon["src"]).ok, icon
    scope = page.evaluate("async () => (await navigator.serviceWorker.ready).scope")
    assert scope == base + "/"


@pytest.mark.django_db(transaction=True)
def test_two_cash_sales_offline_are_recorded_once_each_when_back(
    chromium_available, live_server, page: Page, context, shop, artifacts_dir
):
    steps = Steps(page, artifacts_dir, "e2e-pwa-ban-offline")
    base = live_server.url
    _login(page, base)
    url = _pos(page, base, shop)

    context.set_offline(True)
    page.reload()  # the POS, from the phone's copy: not the browser's offline page
    _not_the_browsers_page(page, base)
    expect(page.locator("#pos")).to_be_visible()
    expect(page.locator("#net-notice")).to_contain_text("Mất mạng")

    _sell_cash(page, "2", "5", "000")
    badge = page.locator("#offline-count")
    expect(badge).to_have_text("Chưa đồng bộ: 1")
    expect(page.locator("#pos-total")).to_have_text("0 đ")  # the cart is free for the next one
    page.locator(".product-key", has_text="Rau muống").click()
    page.locator(".product-key", has_text="Rau muống").click()
    page.get_by_role("button", name="Tiền mặt").click()
    expect(badge).to_have_text("Chưa đồng bộ: 2")
    expect(page.locator("#pos-failed")).to_be_hidden()
    steps.shot("chua-dong-bo-2")
    assert_accessible(page)
    # Offline with sales waiting, the whole keypad and the pay buttons still fit the phone's
    # screen, none of them under the pay bar: the next cash sale needs no scrolling.
    _all_in_view(page)
    made_before = timezone.now()
    assert Order.objects.count() == 0

    context.set_offline(False)
    expect(badge).to_be_hidden(timeout=10_000)
    expect(page.locator("#offline-queue")).to_be_hidden()
    paid = Order.objects.filter(status=Order.Status.PAID, payment_method="cash")
    assert sorted(paid.values_list("total", flat=True)) == [20_000, 25_000]
    assert Order.objects.count() == 2
    assert PaymentIntent.objects.filter(method="cash").count() == 2
    assert all(o.paid_at < made_before for o in paid)  # booked when sold, not when synced
    page.goto(url)
    expect(page.locator("#recent")).to_contain_text("25.000 đ")
    steps.shot("da-dong-bo")


@pytest.mark.django_db(transaction=True)
def test_a_sync_cut_halfway_and_two_tabs_syncing_record_each_sale_once(
    chromium_available, live_server, page: Page, context, shop
):
    base = live_server.url
    _login(page, base)
    url = _pos(page, base, shop)
    context.set_offline(True)
    for amount in ("1", "2", "3"):
        _sell_cash(page, amount, "000")
    expect(page.locator("#offline-count")).to_have_text("Chưa đồng bộ: 3")

    # The first sale reaches the server, its answer is lost: the sync stops there.
    def lose_the_answer(route: Route) -> None:
        route.fetch()
        route.abort("internetdisconnected")

    page.route(re.compile(r".*/ban-hang/$"), lose_the_answer, times=1)
    context.set_offline(False)
    _wait_orders(page, 1)
    expect(page.locator("#offline-count")).to_have_text("Chưa đồng bộ: 3")

    # Sent again from two tabs at once: each sale once.
    other = context.new_page()
    other.goto(url)
    page.evaluate("() => { window.chosoQueue.sync(); }")
    other.evaluate("() => { window.chosoQueue.sync(); }")
    expect(page.locator("#offline-count")).to_be_hidden(timeout=15_000)
    expect(other.locator("#offline-count")).to_be_hidden(timeout=15_000)
    assert sorted(Order.objects.values_list("total", flat=True)) == [1_000, 2_000, 3_000]
    assert Order.objects.filter(status=Order.Status.PAID).count() == 3


def _wait_orders(page: Page, n: int, timeout: float = 10.0) -> None:
    """Until the server has n sales (page.wait_for_timeout lets Playwright run route handlers)."""
    end = time.monotonic() + timeout
    while Order.objects.count() < n and time.monotonic() < end:
        page.wait_for_timeout(100)
    assert Order.objects.count() == n


@pytest.mark.django_db(transaction=True)
def test_a_refused_sale_is_kept_and_shown_as_needing_attention(
    chromium_available, live_server, page: Page, context, shop
):
    base = live_server.url
    _login(page, base)
    _pos(page, base, shop)
    context.set_offline(True)
    page.locator(".product-key", has_text="Rau muống").click()
    page.get_by_role("button", name="Tiền mặt").click()
    expect(page.locator("#offline-count")).to_have_text("Chưa đồng bộ: 1")
    shop.products.all().delete()  # removed meanwhile, on another phone

    context.set_offline(False)
    refused = page.locator("#offline-refused li")
    expect(refused).to_have_count(1, timeout=10_000)
    expect(refused).to_contain_text("Cần xem lại")
    expect(refused).to_contain_text("10.000 đ")
    expect(page.locator("#offline-count")).to_be_hidden()
    assert Order.objects.count() == 0
    page.once("dialog", lambda d: d.accept())
    refused.get_by_role("button", name="Bỏ đơn này").click()
    expect(page.locator("#offline-queue")).to_be_hidden()


@pytest.mark.django_db(transaction=True)
def test_a_qr_sale_offline_says_it_needs_the_network(
    chromium_available, live_server, page: Page, context, shop
):
    base = live_server.url
    _login(page, base)
    _pos(page, base, shop)
    context.set_offline(True)
    _key(page, "4", "0", "000")
    page.get_by_role("button", name="Thu tiền QR").click()
    expect(page.locator("#pos-failed")).to_contain_text("thu tiền QR và ví cần có mạng")
    expect(page.locator("#pos-cart-total")).to_have_text("40.000 đ")
    expect(page.locator("#offline-queue")).to_be_hidden()
    assert page.evaluate("() => window.chosoQueue.count()") == 0


@pytest.mark.django_db(transaction=True)
def test_another_trader_page_offline_shows_our_page_and_opens_when_back(
    chromium_available, live_server, page: Page, context, shop, artifacts_dir
):
    steps = Steps(page, artifacts_dir, "e2e-pwa-trang-mat-mang")
    base = live_server.url
    _login(page, base)
    _pos(page, base, shop)
    orders = f"{base}/cua-hang/{shop.pk}/don/"

    context.set_offline(True)
    page.goto(orders)
    _not_the_browsers_page(page, base)
    expect(page.get_by_role("heading", name="Mất mạng — đang chờ mạng")).to_be_visible()
    expect(page.get_by_role("button", name="Thử lại ngay")).to_be_visible()
    steps.shot("trang-cho-mang")
    assert_accessible(page)

    context.set_offline(False)
    expect(page.get_by_role("heading", name="Mất mạng — đang chờ mạng")).to_be_hidden(
        timeout=10_000
    )
    assert page.url == orders
    expect(page.locator("#orders, main")).not_to_have_count(0)


@pytest.mark.django_db(transaction=True)
def test_in_english_the_offline_page_and_the_badge(
    chromium_available, live_server, page: Page, context, shop, artifacts_dir
):
    steps = Steps(page, artifacts_dir, "e2e-pwa-en")
    base = live_server.url
    _login(page, base)
    _pos(page, base, shop)
    page.get_by_role("button", name="EN").click()
    page.wait_for_load_state("load")
    expect(page.get_by_role("button", name="Cash")).to_be_visible()
    page.reload()  # the copy kept is the English POS

    context.set_offline(True)
    page.reload()
    _not_the_browsers_page(page, base)
    page.get_by_role("button", name="Cash").wait_for()
    _key(page, "9", "000")
    page.get_by_role("button", name="Cash").click()
    expect(page.locator("#offline-count")).to_have_text("Not synced: 1")
    steps.shot("not-synced")

    page.goto(f"{base}/cua-hang/{shop.pk}/don/")
    expect(
        page.get_by_role("heading", name="No network — waiting for the connection")
    ).to_be_visible()
    steps.shot("offline-page")
    context.set_offline(False)
    expect(page.locator("#orders, main h1").first).to_be_visible(timeout=10_000)
    _wait_orders(page, 1)


@pytest.mark.django_db(transaction=True)
def test_signing_out_forgets_the_pos_copy(
    chromium_available, live_server, page: Page, context, shop
):
    base = live_server.url
    _login(page, base)
    url = _pos(page, base, shop)
    page.get_by_role("button", name="Thoát").click()
    page.wait_for_url(f"{base}/dang-nhap/")
    assert (
        page.evaluate(
            "async () => (await caches.keys()).filter(n => n.startsWith('choso-pages-')).length"
        )
        == 0
    )

    context.set_offline(True)
    page.goto(url)
    _not_the_browsers_page(page, base)
    expect(page.locator("#pos")).to_have_count(0)
    expect(page.get_by_text("Rau Cô Ba")).to_have_count(0)
    expect(page.get_by_role("heading", name="Mất mạng — đang chờ mạng")).to_be_visible()
