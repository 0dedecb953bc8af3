"""End to end, on a cheap Android phone's screen (360 × 740, Vietnamese): a new trader signs up,
creates a household business, applies for a stall and adds a bank account (each save leading to
the first day's next step); market staff approve;
the trader sees the stall. A second test visits the pages off that path at the same width.

Every step saves a full-page screenshot to test-artifacts/e2e-*.png for a person to look at, and
checks the page never scrolls sideways (the most common way a 360 px layout breaks).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from market.models import GoodsCategory, Stall, StallApplication
from merchants.models import Merchant
from tests import factories

pytestmark = pytest.mark.e2e

PHONE_WIDTH, PHONE_HEIGHT = 360, 740
TRADER_PHONE = "0905 123 456"
TRADER_PASSWORD = "ca-tuoi-cho-con-2026"
REVIEWER_PHONE = "0935 111 222"
PERSONAL_ID = "048175009999"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "viewport": {"width": PHONE_WIDTH, "height": PHONE_HEIGHT},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
        "locale": "vi-VN",
    }


class Steps:
    """Numbered full-page screenshots, each after checking the page fits the phone's width."""

    def __init__(self, page: Page, directory: Path, prefix: str) -> None:
        self.page, self.directory, self.prefix, self.n = page, directory, prefix, 0

    def shot(self, step: str) -> None:
        self.n += 1
        self.page.wait_for_load_state("load")
        # Filling a form scrolls; from the top, the sticky header is not painted mid-page.
        self.page.evaluate("() => window.scrollTo(0, 0)")
        overflow = self.page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        path = self.directory / f"{self.prefix}-{self.n:02d}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert overflow <= 0, f"{path.name}: the page scrolls sideways by {overflow}px at 360px"


def _log_in(page: Page, phone: str, password: str) -> None:
    page.get_by_label("Số điện thoại").fill(phone)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def _log_out(page: Page) -> None:
    page.get_by_role("button", name="Thoát").click()
    expect(page).to_have_url(re.compile(r"/dang-nhap/"))


@pytest.mark.django_db(transaction=True)
def test_trader_onboarding_to_approved_stall(
    chromium_available, live_server, page: Page, artifacts_dir
):
    market = factories.MarketFactory(
        name="Chợ Cồn", slug="cho-con", district="Hải Châu", address="290 Hùng Vương"
    )
    for code in ("B-05", "B-06", "B-07"):
        factories.StallFactory(market=market, code=code, goods_category=GoodsCategory.SEAFOOD)
    factories.staff_reviewer(phone="+84935111222", full_name="Trần Văn Hùng")
    steps = Steps(page, artifacts_dir, "e2e-onboarding")

    # A new trader opens the site: the marketplace (where shoppers land), with the traders' way
    # in at the top: sign in, or sign up.
    page.goto(live_server.url + "/")
    expect(page).to_have_url(re.compile(r"/mua/"))
    entry = page.locator("#trader-entry")
    expect(entry.get_by_role("link", name="Đăng nhập", exact=True)).to_be_in_viewport()
    steps.shot("mo-trang")
    entry.get_by_role("link", name="Đăng ký bán hàng").click()

    # Sign up with a phone number as people write it.
    expect(page.get_by_role("heading", name="Đăng ký tài khoản")).to_be_visible()
    page.get_by_label("Họ và tên").fill("Nguyễn Thị Lan")
    page.get_by_label("Số điện thoại di động").fill(TRADER_PHONE)
    page.get_by_label("Mật khẩu (ít nhất 8 ký tự)").fill(TRADER_PASSWORD)
    page.get_by_label("Nhập lại mật khẩu").fill(TRADER_PASSWORD)
    steps.shot("dang-ky")
    page.get_by_role("button", name="Tạo tài khoản").click()

    # A household business: the owner's 12-digit personal ID instead of a tax code.
    expect(page.get_by_text("Chào mừng bạn đến với Chợ Số!")).to_be_visible()
    expect(page.get_by_role("heading", name="Tạo cửa hàng")).to_be_visible()
    expect(page.get_by_label("Hộ kinh doanh")).to_be_checked()
    page.get_by_label("Tên đăng ký kinh doanh").fill("Hộ kinh doanh Nguyễn Thị Lan")
    page.get_by_label("Tên hiển thị cho khách").fill("Cá tươi Cô Lan")
    page.get_by_label("Mã số thuế hoặc số định danh cá nhân (12 số)").fill(PERSONAL_ID)
    page.get_by_label("Địa chỉ").fill("Sạp B-07, Chợ Cồn, 290 Hùng Vương, Hải Châu, Đà Nẵng")
    page.get_by_label("Phân phối, cung cấp hàng hóa").check()
    steps.shot("tao-cua-hang")
    page.get_by_role("button", name="Tạo cửa hàng").click()

    # Straight on to the first day's next step: apply for the stall the trader already sells at.
    expect(page.get_by_text("Đã tạo cửa hàng Cá tươi Cô Lan.")).to_be_visible()
    expect(page.get_by_role("heading", name="Đăng ký sạp")).to_be_visible()
    page.get_by_label(re.compile(r"^Chợ:?$")).select_option(label="Chợ Cồn")
    page.get_by_label("Mã sạp (để trống nếu muốn Ban quản lý xếp sạp)").fill("B-07")
    page.get_by_label("Ngành hàng").select_option(label="Cá, hải sản")
    page.get_by_label("Ghi chú cho Ban quản lý (không bắt buộc)").fill("Bán cá ở sạp này 10 năm.")
    steps.shot("dang-ky-sap")
    page.get_by_role("button", name="Gửi đơn").click()
    expect(page.get_by_text("Đã gửi đơn đăng ký sạp. Ban quản lý chợ sẽ xem xét.")).to_be_visible()

    # Then the bank account; the holder typed with diacritics comes back as the bank writes it.
    expect(page.get_by_role("heading", name="Thêm tài khoản ngân hàng")).to_be_visible()
    page.get_by_label("Ngân hàng").select_option(label="Vietcombank")
    page.get_by_label("Số tài khoản").fill("0041000123456")
    page.get_by_label("Tên chủ tài khoản").fill("Nguyễn Thị Lan")
    steps.shot("them-ngan-hang")
    page.get_by_role("button", name="Lưu tài khoản").click()

    expect(page.get_by_text("Đã thêm tài khoản ngân hàng.")).to_be_visible()
    expect(page.get_by_role("heading", name="Thêm sản phẩm")).to_be_visible()  # the next step
    page.get_by_role("link", name="Chợ Số").click()
    page.get_by_role("link", name="Cá tươi Cô Lan").click()
    expect(page.get_by_role("heading", name="Cá tươi Cô Lan")).to_be_visible()
    expect(page.get_by_text(f"MST / số định danh: {PERSONAL_ID}")).to_be_visible()
    accounts = page.locator("#bank-accounts")
    expect(accounts).to_contain_text("Vietcombank 0041000123456")
    expect(accounts).to_contain_text("NGUYEN THI LAN")
    expect(accounts.get_by_text("Chính", exact=True)).to_be_visible()
    remove = accounts.get_by_role("button", name="Xóa")
    expect(remove).to_be_visible()
    expect(remove).not_to_have_css("color", "rgb(255, 255, 255)")  # not white on the white card
    steps.shot("da-them-ngan-hang")

    # Home: the application waits for the market.
    page.get_by_role("link", name="Chợ Số").click()
    expect(page.get_by_role("heading", name="Chào Lan!")).to_be_visible()
    expect(page.locator("#my-stalls")).to_contain_text("Chưa có sạp nào.")
    steps.shot("trang-chinh")
    applications = page.locator("#my-applications")
    expect(applications).to_contain_text("Chợ Cồn · Sạp B-07")
    expect(applications.get_by_text("Đang chờ duyệt")).to_be_visible()
    steps.shot("da-gui-don")
    _log_out(page)

    # Market staff review the application and give the trader the stall.
    _log_in(page, REVIEWER_PHONE, factories.PASSWORD)
    expect(page.get_by_role("heading", name="Chào Hùng!")).to_be_visible()
    expect(page.get_by_role("heading", name="Cán bộ quản lý chợ")).to_be_visible()
    steps.shot("can-bo-trang-chinh")
    page.get_by_role("link", name="Đơn đăng ký sạp chờ duyệt").click()
    expect(page.get_by_role("heading", name="Đơn đăng ký sạp")).to_be_visible()
    queue = page.locator("#applications")
    expect(queue).to_contain_text("Chợ Cồn · Sạp B-07 · Cá, hải sản")
    steps.shot("hang-doi-duyet")
    queue.get_by_role("link", name="Cá tươi Cô Lan").click()

    expect(page.get_by_role("heading", name="Cá tươi Cô Lan")).to_be_visible()
    expect(page.get_by_text(f"MST / số định danh: {PERSONAL_ID}")).to_be_visible()
    expect(page.get_by_text("Ghi chú: Bán cá ở sạp này 10 năm.")).to_be_visible()
    steps.shot("xet-don")
    page.get_by_role("button", name="Duyệt", exact=True).click()

    expect(page.get_by_text("Đã duyệt: Cá tươi Cô Lan nhận sạp B-07.")).to_be_visible()
    expect(page.get_by_text("Không có đơn nào.")).to_be_visible()
    steps.shot("da-duyet")
    _log_out(page)

    # The trader signs in again: home tells her the stall is approved (until she taps "Đã xem")
    # and her first day goes on with the next step (a product); the stall is on home.
    steps.shot("dang-nhap-lai")
    _log_in(page, TRADER_PHONE, TRADER_PASSWORD)
    expect(page.get_by_role("heading", name="Chào Lan!")).to_be_visible()
    expect(page.get_by_role("heading", name="Sạp B-07 ở Chợ Cồn đã được duyệt")).to_be_visible()
    expect(page.get_by_role("link", name="Thêm món hàng")).to_be_visible()
    steps.shot("trang-chinh-duoc-duyet")
    expect(page.locator("#my-stalls")).to_contain_text("Chợ Cồn · Sạp B-07")
    expect(page.locator("#my-stalls")).to_contain_text("Cá tươi Cô Lan · Cá, hải sản")
    expect(applications.get_by_text("Đã duyệt", exact=True)).to_be_visible()
    expect(applications).to_contain_text("Được nhận sạp B-07")
    steps.shot("thay-sap")

    merchant = Merchant.objects.get(tax_code=PERSONAL_ID)
    assert merchant.kind == Merchant.Kind.HOUSEHOLD
    assert merchant.memberships.get().user.phone == "+84905123456"
    account = merchant.bank_accounts.get()
    assert (account.bank_bin, account.holder_name) == ("970436", "NGUYEN THI LAN")
    stall = Stall.objects.get(market=market, code="B-07")
    assert stall.merchant == merchant
    assert Stall.objects.filter(market=market, merchant__isnull=True).count() == 2
    application = StallApplication.objects.get(merchant=merchant)
    assert (application.status, application.stall) == (StallApplication.Status.APPROVED, stall)


@pytest.mark.django_db(transaction=True)
def test_pages_off_the_journey_fit_a_phone(
    chromium_available, live_server, page: Page, artifacts_dir
):
    """The market list and stall map, a wrong password, a merchant with products, the product
    form's errors, a new API key, the collect keypad and QR, and a 404: each fits 360 px."""
    market = factories.MarketFactory(
        name="Chợ Hàn", slug="cho-han", district="Hải Châu", address="119 Trần Phú"
    )
    factories.MarketFactory(
        name="Chợ Bắc Mỹ An", slug="cho-bac-my-an", district="Ngũ Hành Sơn", address="Nguyễn Bá Lân"
    )
    merchant = factories.MerchantFactory(
        display_name="Rau sạch Bà Tư — Hòa Vang", legal_name="Hộ kinh doanh Lê Thị Tư"
    )
    factories.BankAccountFactory(merchant=merchant, holder_name="LE THI TU")
    factories.paid_sale(merchant)  # her first sale paid by bank: the first day is done
    factories.owner_of(merchant, phone="+84905777888", full_name="Lê Thị Tư")
    for name, unit, price in [
        ("Rau muống", "bó", 8_000),
        ("Cà chua Đà Lạt loại một, quả to đều", "kg", 35_000),
        ("Hành lá", "bó", 5_000),
    ]:
        factories.ProductFactory(
            merchant=merchant, name=name, search_name=name.lower(), unit=unit, price=price
        )
    categories = [GoodsCategory.VEGETABLES, GoodsCategory.SEAFOOD, GoodsCategory.CLOTHING]
    for i in range(12):
        factories.StallFactory(
            market=market,
            code=f"A-{i + 1:02d}",
            goods_category=categories[i % 3],
            merchant=merchant if i == 0 else None,
        )
    steps = Steps(page, artifacts_dir, "e2e-pages")

    page.goto(live_server.url + "/cho/")
    expect(page.get_by_role("heading", name="Các chợ ở Đà Nẵng")).to_be_visible()
    expect(page.get_by_text("1/12 sạp đang có người bán")).to_be_visible()
    steps.shot("danh-sach-cho")

    page.get_by_role("link", name="Chợ Hàn").click()
    expect(page.locator("#stalls")).to_contain_text("Rau sạch Bà Tư — Hòa Vang")
    expect(page.locator("#stalls").get_by_text("Còn trống")).to_have_count(11)
    steps.shot("so-do-sap")

    page.goto(live_server.url + "/dang-nhap/")
    _log_in(page, "0905 777 888", "sai-mat-khau")
    expect(page.get_by_text("Số điện thoại hoặc mật khẩu không đúng.")).to_be_visible()
    steps.shot("dang-nhap-sai")
    _log_in(page, "0905 777 888", factories.PASSWORD)
    # First day done (stall, bank account, products, a sale paid by bank): the phone opens on the
    # keypad; "Trang chính" is the full home.
    expect(page.locator("#pos")).to_be_visible()
    page.get_by_role("link", name="Trang chính").click()
    expect(page.get_by_role("heading", name="Chào Tư!")).to_be_visible()
    steps.shot("trang-chinh-co-sap")

    page.get_by_role("link", name="Rau sạch Bà Tư — Hòa Vang").click()
    expect(page.locator("#products")).to_contain_text("Hàng hóa (3)")
    expect(page.locator("#products")).to_contain_text("35.000 đ/kg")
    steps.shot("cua-hang-co-hang")

    page.get_by_role("link", name="+ Thêm sản phẩm").click()
    expect(page.get_by_role("heading", name="Thêm sản phẩm")).to_be_visible()
    page.get_by_role("button", name="Lưu sản phẩm").click()  # empty: shows the errors
    expect(page.get_by_text("Trường này là bắt buộc.").first).to_be_visible()
    steps.shot("them-san-pham-loi")

    page.goto(f"{live_server.url}/cua-hang/{merchant.pk}/khoa-api/them/")
    page.get_by_label("Tên gợi nhớ của khóa").fill("Máy tính tiền ở sạp")
    page.get_by_role("button", name="Tạo khóa").click()
    expect(page.get_by_text("Sao chép khóa này ngay: nó chỉ hiện một lần.")).to_be_visible()
    expect(page.locator("#raw-key")).not_to_be_empty()
    expect(page.get_by_text("Authorization: Bearer <khóa>")).to_be_visible()
    steps.shot("khoa-api")
    page.get_by_role("link", name="Xong").click()
    keys = page.locator("#api-keys")
    expect(keys).to_contain_text("Máy tính tiền ở sạp")
    revoke = keys.get_by_role("button", name="Thu hồi")
    expect(revoke).not_to_have_css("color", "rgb(255, 255, 255)")
    steps.shot("cua-hang-co-khoa")

    # Collect money: the keypad, then the QR the customer scans.
    page.goto(live_server.url + "/thu-tien/")
    for key in ("1", "5", "000"):
        page.locator(f'.keypad [data-key="{key}"]').click()
    expect(page.locator("#amount")).to_have_value(re.compile(r"^15\.?000$"))
    steps.shot("thu-tien")
    page.get_by_role("button", name="Hiện mã QR").click()
    expect(page.locator("#amount")).to_have_text("15.000 đ")
    steps.shot("ma-qr")

    response = page.goto(live_server.url + "/khong-co-trang-nay/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Không tìm thấy")).to_be_visible()
    steps.shot("404")
