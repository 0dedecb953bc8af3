"""Issue 16, item 8 in the browser at 360×740: a new trader, alone, from signing up to their first
sale confirmed by the (sandbox) bank, counting every tap and every typed field; the first-day
checklist on home in Vietnamese and English, and gone once every step is done.

How taps are counted (``Taps``): a button or link is one tap; a drop-down list is two (open it,
pick the line); a field typed into is one tap (to focus it) plus its characters, counted apart.
The shopper's two taps in the sandbox bank count too: on their first day the trader plays the
shopper. The count starts after the sign-up form is sent. The stall application needs no
approval before selling: the POS and QR work without a stall (a sale is simply not tied to one),
so no staff step is on the path.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Locator, Page, expect

from market.models import GoodsCategory, Order, StallApplication
from merchants.models import Merchant
from tests import factories
from tests.e2e.a11y import assert_accessible
from tests.e2e.test_trader_onboarding import Steps

pytestmark = pytest.mark.e2e

MAX_TAPS = 20  # the target, after signing up


class Taps:
    """What the trader's fingers do, counted."""

    def __init__(self) -> None:
        self.taps, self.fields, self.chars = 0, 0, 0
        self.log: list[str] = []

    def tap(self, target: Locator, what: str) -> None:
        target.click()
        self.taps += 1
        self.log.append(f"tap {what}")

    def pick(self, select: Locator, label: str) -> None:
        select.select_option(label=label)
        self.taps += 2
        self.log.append(f"pick {label}")

    def type(self, field: Locator, text: str) -> None:
        field.fill(text)
        self.taps += 1
        self.fields += 1
        self.chars += len(text)
        self.log.append(f"type {text!r}")


@pytest.mark.django_db(transaction=True)
def test_a_new_trader_reaches_a_bank_confirmed_sale_alone_in_at_most_20_taps(
    chromium_available, live_server, bank, settings, page: Page, context, artifacts_dir
):
    settings.SANDBOX_LINKS = True  # as in development: the QR page links to the sandbox bank
    market = factories.MarketFactory(name="Chợ Cồn", slug="cho-con")
    for code in ("B-05", "B-06", "B-07"):
        factories.StallFactory(market=market, code=code, goods_category=GoodsCategory.SEAFOOD)
    factories.MarketFactory(name="Chợ Hàn", slug="cho-han")
    steps = Steps(page, artifacts_dir, "e2e-first-day")
    taps = Taps()

    page.goto(f"{live_server.url}/dang-ky/")
    page.get_by_label("Họ và tên").fill("Nguyễn Thị Lan")
    page.get_by_label("Số điện thoại di động").fill("0905 123 456")
    page.get_by_label("Mật khẩu (ít nhất 8 ký tự)").fill("ca-tuoi-cho-con-2026")
    page.get_by_label("Nhập lại mật khẩu").fill("ca-tuoi-cho-con-2026")
    page.get_by_role("button", name="Tạo tài khoản").click()  # the start: not counted

    # The shop: a household business in the owner's name, already written.
    expect(page.get_by_role("heading", name="Tạo cửa hàng")).to_be_visible()
    legal_name = page.get_by_label("Tên đăng ký kinh doanh")
    expect(legal_name).to_have_value("Hộ kinh doanh Nguyễn Thị Lan")
    taps.type(page.get_by_label("Mã số thuế hoặc số định danh cá nhân (12 số)"), "048175009999")
    taps.type(page.get_by_label("Địa chỉ"), "Sạp B-07 Chợ Cồn")
    steps.shot("cua-hang")
    assert_accessible(page)
    taps.tap(page.get_by_role("button", name="Tạo cửa hàng"), "Tạo cửa hàng")

    # Straight on to step 1, the stall: its code says what it sells.
    expect(page.get_by_text("Đã tạo cửa hàng Hộ kinh doanh Nguyễn Thị Lan.")).to_be_visible()
    expect(page.get_by_role("heading", name="Đăng ký sạp")).to_be_visible()
    taps.pick(page.get_by_label(re.compile(r"^Chợ:?$")), "Chợ Cồn")
    taps.type(page.get_by_label("Mã sạp (để trống nếu muốn Ban quản lý xếp sạp)"), "B-07")
    steps.shot("sap")
    assert_accessible(page)
    taps.tap(page.get_by_role("button", name="Gửi đơn"), "Gửi đơn")

    # Step 2, the bank account, in the owner's name already.
    expect(page.get_by_role("heading", name="Thêm tài khoản ngân hàng")).to_be_visible()
    expect(page.get_by_label("Tên chủ tài khoản")).to_have_value("Nguyễn Thị Lan")
    taps.pick(page.get_by_label("Ngân hàng"), "Vietcombank")
    taps.type(page.get_by_label("Số tài khoản"), "0041000123456")
    steps.shot("ngan-hang")
    assert_accessible(page)
    taps.tap(page.get_by_role("button", name="Lưu tài khoản"), "Lưu tài khoản")

    # Step 3, the first product: fresh fish needs no tax answer, the stall's goods suggest it.
    expect(page.get_by_role("heading", name="Thêm sản phẩm")).to_be_visible()
    expect(page.get_by_text("Món này thuộc loại nào?")).to_be_visible()
    fresh = page.get_by_role("radio", name=re.compile("Thực phẩm tươi sống chưa chế biến"))
    expect(fresh).to_be_checked()
    expect(page.get_by_text("KKKNT")).to_have_count(0)
    taps.type(page.get_by_label("Tên sản phẩm"), "Cá thu")
    taps.type(page.get_by_label("Giá (đồng)"), "150000")
    steps.shot("san-pham")
    assert_accessible(page)
    taps.tap(page.get_by_role("button", name="Lưu sản phẩm"), "Lưu sản phẩm")

    # Step 4, a test sale: the POS says what to do; the trader pays it as a shopper would.
    expect(page.get_by_text("Bán thử một đơn: chạm vào món hàng")).to_be_visible()
    taps.tap(page.locator(".product-key", has_text="Cá thu"), "Cá thu")
    taps.tap(page.get_by_role("button", name="Thu tiền QR"), "Thu tiền QR")
    expect(page.locator("#qr svg")).to_be_visible()
    steps.shot("ma-qr")
    with context.expect_page() as opened:
        taps.tap(page.locator("#sandbox-pay"), "Thử đóng vai khách")
    shopper = opened.value
    taps.tap(shopper.get_by_role("button", name="Tiếp tục"), "Tiếp tục")
    taps.tap(shopper.get_by_role("button", name="Chuyển"), "Chuyển")
    expect(shopper.get_by_text("Chuyển khoản thành công")).to_be_visible()
    shopper.close()
    expect(page.get_by_text("ĐÃ NHẬN TIỀN")).to_be_visible(timeout=10_000)
    steps.shot("da-nhan")

    measured = {"taps": taps.taps, "typed_fields": taps.fields, "typed_chars": taps.chars}
    (artifacts_dir / "e2e-first-day-taps.json").write_text(
        json.dumps({**measured, "log": taps.log}, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    print(f"first day: {measured}")
    assert taps.taps <= MAX_TAPS, taps.log

    # First day done: home now opens on the keypad; "Trang chính" (the full home) has no
    # checklist left and "Bán hàng" is its main action.
    page.locator(".brand").click()
    expect(page.locator("#pos")).to_be_visible()
    page.get_by_role("link", name="Trang chính").click()
    expect(page.get_by_role("heading", name="Chào Lan!")).to_be_visible()
    expect(page.locator(".first-day")).to_have_count(0)
    expect(page.locator("#sell").get_by_role("link", name="Bán hàng")).to_be_visible()
    steps.shot("trang-chinh-xong")
    assert_accessible(page)

    merchant = Merchant.objects.get(tax_code="048175009999")
    application = StallApplication.objects.get(merchant=merchant)
    assert (application.requested_code, application.goods_category) == ("B-07", "seafood")
    assert application.status == StallApplication.Status.PENDING  # selling needs no approval
    order = Order.objects.get(merchant=merchant)
    assert (order.status, order.total, order.payment_method) == ("paid", 150_000, "bank_qr")
    assert merchant.products.get().tax_category == "KCT"


def _sign_in(page: Page, base: str, phone: str) -> None:
    page.goto(f"{base}/dang-nhap/")
    page.get_by_label("Số điện thoại").fill(phone)
    page.get_by_label("Mật khẩu").fill(factories.PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()


@pytest.mark.django_db(transaction=True)
def test_the_checklist_shows_the_next_step_in_vietnamese_and_english(
    chromium_available, live_server, page: Page, artifacts_dir
):
    merchant = factories.MerchantFactory(display_name="Cá tươi Cô Lan")
    factories.owner_of(merchant, phone="+84905123456", full_name="Nguyễn Thị Lan")
    factories.StallApplicationFactory(merchant=merchant, goods_category=GoodsCategory.FOOD)
    steps = Steps(page, artifacts_dir, "e2e-first-day-list")

    _sign_in(page, live_server.url, "0905 123 456")
    card = page.locator("#first-day")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Đã xong 1/4 bước.")
    expect(card.locator('[data-step="stall"]')).to_contain_text("Ban quản lý chợ đang xem xét")
    expect(card.locator("#first-day-next")).to_have_text("Thêm tài khoản nhận tiền")
    # Nothing to be paid into yet: no "Bán hàng".
    expect(page.get_by_role("link", name="Bán hàng")).to_have_count(0)
    # The card comes first on the page, right under the greeting.
    assert page.evaluate("document.querySelector('main h1').nextElementSibling.id") == "first-day"
    steps.shot("vi")
    assert_accessible(page)

    factories.BankAccountFactory(merchant=merchant)
    page.locator("button[name=language][value=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(card).to_contain_text("First day of selling")
    expect(card).to_contain_text("2 of 4 steps done.")
    expect(card.locator("#first-day-next")).to_have_text("Add an item")
    steps.shot("en")
    assert_accessible(page)

    card.locator("#first-day-next").click()
    expect(page.get_by_text("What kind of goods is this?")).to_be_visible()
    # A food stall: the suggestion is the 8% line, in words.
    expect(page.get_by_role("radio", name=re.compile("Dishes, drinks, cakes"))).to_be_checked()
    steps.shot("san-pham-en")
    assert_accessible(page)
