"""Issue 16 items 1 and 5 at 360×740, in Vietnamese and in English: the POS of a real stall.

* Three taps: a trader ready to sell lands on the keypad when they open the app; a one-amount
  sale reaches the "waiting for the bank" QR in at most 3 taps from there (every click counted,
  in the page and by the test), a favourite product in at most 2 taps from the POS; the sandbox
  bank then confirms each sale.
* A stall with 40 products (no serious axe finding, every tap target at least 44 px): every
  keypad key, the quick amounts, the pay buttons, the total and the sale's lines are inside the
  740 px screen and nothing covers them (the element at each one's centre is itself); the search
  finds "Cá thu" by "ca"; a weight being keyed is a line of the sale before "Thêm".
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from market.models import Order
from tests import factories
from tests.e2e.a11y import assert_accessible
from tests.e2e.test_pos_network import _read_qr, _shopper_pays
from tests.e2e.test_trader_onboarding import Steps

pytestmark = pytest.mark.e2e

PHONE_HEIGHT = 740
TEXT = {
    "vi": {"qr": "Thu tiền QR", "add": "Thêm", "waiting": "Đang chờ khách chuyển khoản"},
    "en": {"qr": "QR payment", "add": "Add", "waiting": "Waiting for the customer"},
}
# Every click the trader makes, counted by the page itself (kept across page loads in the tab).
COUNT_TAPS = """
document.addEventListener("click", () => {
  sessionStorage.setItem("taps", String(Number(sessionStorage.getItem("taps") || 0) + 1));
}, true);
"""
# Names of a real fishmonger's and greengrocer's day: 40 products, five of them favourites.
CATALOGUE = [
    ("Ghẹ xanh", "con", 45_000, False, True),
    ("Tôm sú", "kg", 280_000, True, True),
    ("Mực lá", "kg", 320_000, True, True),
    ("Rau muống", "bó", 10_000, False, True),
    ("Đá lạnh", "túi", 5_000, False, True),
    ("Cá thu", "kg", 180_000, True, False),
    ("Cá nục", "kg", 60_000, True, False),
    ("Cá ngừ", "kg", 150_000, True, False),
    ("Cá hồng", "kg", 220_000, True, False),
    ("Cá mú", "kg", 350_000, True, False),
    ("Cá chim", "kg", 190_000, True, False),
    ("Cá bạc má", "kg", 70_000, True, False),
    ("Cá cơm", "kg", 50_000, True, False),
    ("Tôm thẻ", "kg", 160_000, True, False),
    ("Tôm hùm", "kg", 900_000, True, False),
    ("Mực ống", "kg", 280_000, True, False),
    ("Bạch tuộc", "kg", 200_000, True, False),
    ("Cua biển", "kg", 400_000, True, False),
    ("Nghêu", "kg", 40_000, True, False),
    ("Sò huyết", "kg", 120_000, True, False),
    ("Ốc hương", "kg", 350_000, True, False),
    ("Hàu", "con", 8_000, False, False),
    ("Cà chua", "kg", 25_000, True, False),
    ("Hành lá", "bó", 5_000, False, False),
    ("Chanh", "kg", 30_000, True, False),
    ("Ớt", "kg", 60_000, True, False),
    ("Gừng", "kg", 40_000, True, False),
    ("Tỏi", "kg", 70_000, True, False),
    ("Sả", "bó", 5_000, False, False),
    ("Rau thơm", "bó", 5_000, False, False),
    ("Dưa leo", "kg", 20_000, True, False),
    ("Cải ngọt", "bó", 10_000, False, False),
    ("Bí đao", "kg", 15_000, True, False),
    ("Khổ qua", "kg", 25_000, True, False),
    ("Đậu bắp", "kg", 30_000, True, False),
    ("Mướp", "quả", 8_000, False, False),
    ("Bầu", "quả", 15_000, False, False),
    ("Nấm rơm", "kg", 90_000, True, False),
    ("Nước mắm", "chai", 45_000, False, False),
    ("Muối", "gói", 5_000, False, False),
]


@pytest.fixture
def stall_of_40():
    merchant = factories.MerchantFactory(display_name="Hải sản Cô Sáu Chợ Hàn")
    factories.BankAccountFactory(
        merchant=merchant, bank_bin="970436", account_number="0041000777666", holder_name="LE SAU"
    )
    factories.StallFactory(merchant=merchant, code="B-6")
    for name, unit, price, weight, favourite in CATALOGUE:
        factories.ProductFactory(
            merchant=merchant,
            name=name,
            search_name=name.lower(),
            unit=unit,
            price=price,
            sold_by_weight=weight,
            pos_favourite=favourite,
        )
    factories.paid_sale(merchant)  # a sale paid by bank already: her first day is done
    factories.owner_of(merchant, phone="+84905111066", full_name="Lê Thị Sáu")
    return merchant


def _sign_in(page: Page, base: str, lang: str) -> None:
    """Signing in (the language first, by the header's switch) is not part of the count."""
    page.goto(f"{base}/dang-nhap/")
    if lang == "en":
        page.locator("button[name=language][value=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", lang)
    page.locator("input[name=username]").fill("0905 111 066")
    page.locator("input[type=password]").fill(factories.PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state("load")


class Taps:
    """Taps from now on, counted by the test and, independently, by the page."""

    def __init__(self, page: Page) -> None:
        self.page, self.n = page, 0
        page.evaluate("() => sessionStorage.setItem('taps', '0')")

    def tap(self, target: Locator) -> None:
        target.click()
        self.n += 1

    def counted_by_page(self) -> int:
        return int(self.page.evaluate("() => sessionStorage.getItem('taps')"))


def _waiting_for_the_bank(page: Page, lang: str, amount: str) -> str:
    """The sale's QR, full screen, waiting for the transfer: its payload."""
    expect(page).to_have_url(re.compile(r"/don/\d+/$"))
    expect(page.locator("#amount")).to_have_text(amount)
    expect(page.locator("#qr svg")).to_be_visible()
    expect(page.locator("#state .waiting")).to_contain_text(TEXT[lang]["waiting"])
    return _read_qr(page.locator("#qr").screenshot())


_NOT_IN_VIEW = """(selectors) => {
  const out = [];
  const bar = document.querySelector(".pos-pay").getBoundingClientRect();
  for (const sel of selectors) {
    const found = document.querySelectorAll(sel);
    if (!found.length) out.push(`${sel}: not on the page`);
    for (const el of found) {
      const r = el.getBoundingClientRect();
      const name = `${sel} "${el.textContent.trim().slice(0, 24)}"`;
      if (!r.width || !r.height) { out.push(`${name}: not shown`); continue; }
      if (r.top < 0 || r.bottom > window.innerHeight) {
        out.push(`${name}: ${Math.round(r.top)}–${Math.round(r.bottom)} px, off the screen`);
        continue;
      }
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      if (!hit || !(hit === el || el.contains(hit))) {
        out.push(`${name}: covered by ${hit ? hit.tagName + "." + hit.className : "nothing"}`);
      }
      if (!el.closest(".pos-pay") && r.bottom > bar.top) out.push(`${name}: under the pay bar`);
    }
  }
  return out;
}"""
ON_SCREEN = [
    ".keypad .key",
    ".pos-amounts .amount-chip",
    "#pay-cash",
    "#pay-ewallet",
    "#pay-qr",
    "#pos-total",
    "#cart-list li",
]


def _all_in_view(page: Page) -> None:
    page.evaluate("() => window.scrollTo(0, 0)")
    assert page.evaluate("() => window.innerHeight") == PHONE_HEIGHT
    problems = page.evaluate(_NOT_IN_VIEW, ON_SCREEN)
    assert not problems, problems


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_sale_is_three_taps_from_home_and_a_favourite_two_from_the_pos(
    chromium_available, live_server, bank, page: Page, context, stall_of_40, artifacts_dir, lang
):
    context.add_init_script(COUNT_TAPS)
    steps = Steps(page, artifacts_dir, f"e2e-pos-3-cham-{lang}")
    base = live_server.url
    pos_url = f"{base}/cua-hang/{stall_of_40.pk}/ban-hang/"

    # Opening the app ("/", where signing in lands): the keypad of the trader's stall.
    _sign_in(page, base, lang)
    page.goto(f"{base}/")
    expect(page).to_have_url(pos_url)
    expect(page.locator("#pos")).to_be_visible()
    steps.shot("mo-app")

    # A one-amount sale of 50.000 đ: the amount, then QR.
    taps = Taps(page)
    taps.tap(page.locator(".amount-chip[data-amount='50000']"))
    expect(page.locator("#pos-entry")).to_have_text("50.000")
    expect(page.locator("#pos-total")).to_have_text("50.000 đ")
    taps.tap(page.get_by_role("button", name=TEXT[lang]["qr"]))
    payload = _waiting_for_the_bank(page, lang, "50.000 đ")
    assert taps.n == taps.counted_by_page() <= 3, (taps.n, taps.counted_by_page())
    page.screenshot(path=f"/tmp/pos-3-cham-{lang}-qr.png")
    _shopper_pays(context, bank, payload)
    expect(page.locator("#collect.paid")).to_be_visible(timeout=10_000)
    sale = Order.objects.filter(merchant=stall_of_40).latest("pk")
    assert (sale.status, sale.total, sale.payment_method) == ("paid", 50_000, "bank_qr")

    # A favourite sold by the piece, from the POS: the product, then QR.
    page.goto(pos_url)
    favourite = page.locator(".product-key.fav", has_text="Ghẹ xanh")
    expect(favourite).to_be_in_viewport()
    taps = Taps(page)
    taps.tap(favourite)
    expect(page.locator("#cart-list")).to_contain_text("Ghẹ xanh · 1 con")
    taps.tap(page.get_by_role("button", name=TEXT[lang]["qr"]))
    payload = _waiting_for_the_bank(page, lang, "45.000 đ")
    assert taps.n == taps.counted_by_page() <= 2, (taps.n, taps.counted_by_page())
    _shopper_pays(context, bank, payload)
    expect(page.locator("#collect.paid")).to_be_visible(timeout=10_000)
    sale = Order.objects.filter(merchant=stall_of_40).latest("pk")
    assert (sale.status, sale.total) == ("paid", 45_000)
    assert [(line.name, line.quantity) for line in sale.lines.all()] == [("Ghẹ xanh", 1)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_forty_products_the_keypad_and_the_sale_fit_one_phone_screen(
    chromium_available, live_server, page: Page, stall_of_40, artifacts_dir, lang
):
    steps = Steps(page, artifacts_dir, f"e2e-pos-40-{lang}")
    _sign_in(page, live_server.url, lang)
    expect(page.locator("#pos")).to_be_visible()
    # Favourites first, each one tap away on the first screen.
    keys = page.locator(".product-key:visible")
    assert keys.nth(0).inner_text().startswith("Ghẹ xanh")
    for n in range(5):
        expect(keys.nth(n)).to_have_class(re.compile(r"\bfav\b"))
        expect(keys.nth(n)).to_be_in_viewport()
    _all_in_view(page)
    page.screenshot(path=f"/tmp/pos-40-{lang}-1-mo.png")
    assert_accessible(page)  # axe, and every tap target at least 44 px

    # Two crabs, then "ca" in the search: Cá thu among what it finds, the crabs' key hidden.
    page.locator(".product-key", has_text="Ghẹ xanh").click()
    page.locator(".product-key", has_text="Ghẹ xanh").click()
    page.locator("#pos-search").fill("ca")
    fish = page.locator(".product-key", has_text="Cá thu")
    expect(fish).to_be_visible()
    expect(page.locator(".product-key", has_text="Ghẹ xanh")).to_be_hidden()
    expect(page.locator(".product-key", has_text="Cà chua")).to_be_visible()
    page.locator("#pos-search").fill("CA THU")
    expect(page.locator(".product-key:visible")).to_have_count(1)
    expect(fish).to_be_in_viewport()

    # 0,35 kg of cá thu keyed: the line is in the sale (and the total) before "Thêm".
    fish.click()
    for key in ("0", ",", "3", "5"):
        page.locator(f'.keypad .key[data-key="{key}"]').click()
    expect(page.locator("#pos-line-total")).to_have_text("= 63.000 đ")
    pending = page.locator("#cart-list li.pending")
    expect(pending).to_contain_text("Cá thu · 0,35 kg")
    expect(pending).to_contain_text("63.000 đ")
    expect(page.locator("#cart-list")).to_contain_text("Ghẹ xanh · 2 con")
    expect(page.locator("#pos-total")).to_have_text("153.000 đ")
    _all_in_view(page)
    page.screenshot(path=f"/tmp/pos-40-{lang}-2-dang-can.png")
    steps.shot("dang-can")
    assert_accessible(page)

    # "Thêm": the weighed line stays, no longer marked as being keyed; the total is the same.
    page.get_by_role("button", name=TEXT[lang]["add"], exact=True).click()
    expect(page.locator("#cart-list li.pending")).to_have_count(0)
    expect(page.locator("#cart-list")).to_contain_text("Cá thu · 0,35 kg")
    expect(page.locator("#pos-total")).to_have_text("153.000 đ")
    _all_in_view(page)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["vi", "en"])
def test_with_a_sale_still_waiting_the_keypad_still_fits_the_screen(
    chromium_available, live_server, page: Page, stall_of_40, artifacts_dir, lang
):
    """The trader left a QR screen unpaid (the shopper walked off): the POS offers to reopen or
    cancel that sale, and the keypad, the quick amounts and the pay buttons all stay on the one
    screen, none under the pay bar, so the next shopper can be served at once."""
    from market.sales.orders import LineInput, order_create

    order_create(
        merchant=stall_of_40,
        lines=[LineInput(unit_price=153_000, name="Cá thu")],
        payment_method="bank_qr",
        actor=stall_of_40.memberships.get().user,
    )
    _sign_in(page, live_server.url, lang)
    expect(page.locator("#open-sale")).to_be_visible()
    expect(page.locator("#open-sale-total")).to_have_text("153.000 đ")
    steps = Steps(page, artifacts_dir, f"e2e-pos-open-sale-{lang}")
    steps.shot("don-cho")
    _all_in_view(page)
    problems = page.evaluate(_NOT_IN_VIEW, ["#open-sale-resume", "#open-sale-cancel"])
    assert not problems, problems
    assert_accessible(page)

    # The next shopper: once a new sale is started, the waiting one steps aside (it is still
    # among the recent sales below) and the new sale's lines, keypad and pay bar fit.
    page.locator(".product-key", has_text="Ghẹ xanh").click()
    expect(page.locator("#pos-total")).to_have_text("45.000 đ")
    expect(page.locator("#open-sale")).to_be_hidden()
    expect(page.locator("#recent")).to_contain_text("153.000 đ")
    _all_in_view(page)
    steps.shot("ban-tiep")
    # Cleared, the sale that still waits is offered again.
    page.locator("#pos-cart-edit").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#pos-cart-clear").click()
    expect(page.locator("#open-sale")).to_be_visible()
    _all_in_view(page)
