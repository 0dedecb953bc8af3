"""The README's "Try a day at the market", step by step, on the demo data at 360×740.

Each block below is one bullet of the README (the quoted words are the README's), run on what
``manage.py demo`` loads (as ``./bin/run`` does, with fewer days of history to keep it quick). If
the README or the demo data change, this test says which step is no longer true.
"""

from __future__ import annotations

import io
import re
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from playwright.sync_api import Page, expect

from core.templatetags.money import format_vnd
from einvoice.models import Invoice
from market.figures.day_close import close_preview
from market.models import Order, Review
from merchants.models import Merchant
from tests.e2e.test_collect_payment import SPEECH_SPY
from tests.e2e.test_pos_sale import _read_qr
from tests.e2e.test_trader_onboarding import Steps

pytestmark = pytest.mark.e2e

PASSWORD = "cho-so-2026"  # README: "every login's password is `cho-so-2026`"
README_TRADER = "0905 111 002"
README_STAFF = "0905 000 001"


def _sign_in(page: Page, base: str, phone: str) -> None:
    page.goto(f"{base}/dang-nhap/")
    page.get_by_label("Số điện thoại").fill(phone)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("button", name="Thoát")).to_be_visible()


def _pay_in_sandbox_bank(bank_page: Page) -> None:
    bank_page.get_by_role("button", name="Tiếp tục").click()
    bank_page.get_by_role("button", name="Chuyển").click()
    expect(bank_page.get_by_text("Chuyển khoản thành công")).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_the_readme_demo_walk_is_true(
    chromium_available, live_server, bank, page: Page, browser, artifacts_dir
):
    output = io.StringIO()
    call_command("demo", sales_days=2, stdout=output)
    # "Demo logins are printed at start": the README's trader and staff numbers among them.
    assert README_TRADER in output.getvalue() and README_STAFF in output.getvalue()
    page.add_init_script(SPEECH_SPY)
    base = live_server.url
    steps = Steps(page, artifacts_dir, "e2e-readme")

    # --- "Sell at the stall" -------------------------------------------------------------------
    # "sign in as trader 0905 111 002: a trader with a stall and a bank account lands on the
    # keypad (Bán hàng)"
    _sign_in(page, base, README_TRADER)
    expect(page).to_have_url(re.compile(r"/cua-hang/\d+/ban-hang/$"))
    steps.shot("ban-hang")
    # "tap a fish sold by weight (Cá thu) and key 0,35 on the keypad (the line shows its price)"
    page.locator(".product-key", has_text="Cá thu").click()
    for key in ("0", ",", "3", "5"):
        page.locator(f'.keypad .key[data-key="{key}"]').click()
    expect(page.locator("#pos-line-total")).to_have_text("= 63.000 đ")
    steps.shot("can-ca-thu")
    # "tap Thêm, tap Ghẹ xanh (sold by the piece) twice"
    page.get_by_role("button", name="Thêm", exact=True).click()
    page.locator(".product-key", has_text="Ghẹ xanh").click()
    page.locator(".product-key", has_text="Ghẹ xanh").click()
    expect(page.locator("#cart-list")).to_contain_text("Cá thu · 0,35 kg")
    expect(page.locator("#cart-list")).to_contain_text("Ghẹ xanh · 2 con")
    expect(page.locator("#pos-total")).to_have_text("153.000 đ")
    steps.shot("gio-hang")
    # "Ví pays through the sandbox e-wallet; Tiền mặt records cash": both are there.
    expect(page.get_by_role("button", name="Ví", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Tiền mặt", exact=True)).to_be_visible()
    # "then Thu tiền QR"
    page.get_by_role("button", name="Thu tiền QR").click()
    expect(page.locator("#amount")).to_have_text("153.000 đ")
    steps.shot("ma-qr")
    # "Follow “Thử đóng vai khách” to the sandbox bank and pay (Tiếp tục, Chuyển)"
    with page.context.expect_page() as opened:
        page.get_by_role("link", name=re.compile("Thử đóng vai khách")).click()
    bank_page = opened.value
    bank_page.wait_for_load_state()
    assert bank_page.url.startswith(bank.url)
    _pay_in_sandbox_bank(bank_page)
    bank_page.close()
    # "the trader's screen turns green, says “Đã nhận …” and shows the receipt's QR"
    expect(page.get_by_text("ĐÃ NHẬN TIỀN")).to_be_visible(timeout=10_000)
    page.wait_for_function("window.__spoken.length > 0")
    assert page.evaluate("window.__spoken")[0]["text"].startswith("Đã nhận")
    expect(page.locator("#receipt-qr svg")).to_be_visible(timeout=10_000)
    steps.shot("da-nhan")
    receipt_url = _read_qr(page.locator("#receipt-qr").screenshot())
    seller = Merchant.objects.get(display_name="Hải sản Hùng Thọ Quang")
    sale = Order.objects.filter(merchant=seller, channel="pos").latest("pk")
    assert (sale.status, sale.total) == ("paid", 153_000)
    # "whose receipt page shows the sale's e-invoice (Xem hóa đơn) and lets the shopper put
    # their name on it (Ghi tên người mua lên hóa đơn)"
    shopper_ctx = browser.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN")
    receipt = shopper_ctx.new_page()
    receipt.goto(receipt_url)
    expect(receipt.locator("#receipt-total")).to_have_text("153.000 đ")
    expect(receipt.locator("#invoice-link")).to_be_visible()
    expect(receipt.get_by_text("Ghi tên người mua lên hóa đơn")).to_be_visible()
    Steps(receipt, artifacts_dir, "e2e-readme-khach").shot("bien-nhan")
    shopper_ctx.close()

    # --- "Books" -------------------------------------------------------------------------------
    # "from the merchant page, Doanh thu, Chốt sổ, Thuế, Hóa đơn"
    # "from the merchant page (Cửa hàng của tôi on Trang chính)"
    page.goto(f"{base}/")
    page.get_by_role("link", name="Trang chính").click()
    page.get_by_role("link", name="Hải sản Hùng Thọ Quang").click()
    steps.shot("cua-hang")
    merchant_page = page.url
    page.get_by_role("link", name="Doanh thu", exact=True).click()
    expect(page.locator(".chart svg").first).to_be_visible()
    steps.shot("doanh-thu")
    page.goto(merchant_page)
    page.get_by_role("link", name="Chốt sổ", exact=True).click()
    # Today's close counts the sale just made on top of whatever the demo sold earlier today
    # (the demo's mornings start at dawn, so before about 6:00 there is none).
    today = close_preview(merchant=seller)
    assert today.sales_by_method["bank_qr"]["total"] >= 153_000
    expect(page.locator(".hero .big-number")).to_have_text(format_vnd(today.net_total))
    steps.shot("chot-so")
    page.goto(merchant_page)
    page.get_by_role("link", name="Thuế", exact=True).click()
    expect(page.locator("#rules")).to_contain_text("Thông tư 40/2021/TT-BTC")
    steps.shot("thue")
    page.goto(merchant_page)
    page.get_by_role("link", name="Hóa đơn", exact=True).click()
    # "the e-invoices issued for every paid sale of the first three demo stalls since they
    # registered their invoice series (yesterday in the demo), the one just made among them"
    steps.shot("hoa-don")
    for n, merchant in enumerate(
        Merchant.objects.filter(display_name__in=TRADERS_WITH_INVOICES).order_by("pk")
    ):
        invoiced = set(
            Invoice.objects.filter(merchant=merchant).values_list("source_ref", flat=True)
        )
        series = merchant.invoice_series.get()
        paid = set(
            Order.objects.filter(
                merchant=merchant, paid_at__gte=series.created_at, status="paid"
            ).values_list("number", flat=True)
        )
        assert paid, f"{merchant}: no paid sale since the series was registered"
        assert paid <= invoiced, f"{merchant}: sales without an invoice: {paid - invoiced}"
        assert n < 3
    invoice = Invoice.objects.get(merchant=seller, source_ref=sale.number)
    expect(page.locator("main")).to_contain_text(invoice.number_display)
    # "a cash-register invoice goes there in the nightly batch, so today's read Đã lập"
    assert invoice.is_cash_register and invoice.status == Invoice.Status.ISSUED
    expect(page.locator("main")).to_contain_text("Đã lập")

    # --- "Shop online" ---------------------------------------------------------------------------
    trader_ctx = browser.new_context(
        viewport={"width": 360, "height": 740}, locale="vi-VN", device_scale_factor=2
    )
    trader = trader_ctx.new_page()
    trader.add_init_script(SPEECH_SPY)
    _sign_in(trader, base, README_TRADER)
    trader.goto(merchant_page)
    trader.get_by_role("link", name="Đơn trực tuyến").click()
    shopper_ctx = browser.new_context(
        viewport={"width": 360, "height": 740}, locale="vi-VN", device_scale_factor=2
    )
    shopper = shopper_ctx.new_page()
    shop_steps = Steps(shopper, artifacts_dir, "e2e-readme-mua")
    # "open http://127.0.0.1:8000/mua/, search ca thu (diacritics are optional)"
    shopper.goto(f"{base}/mua/")
    shopper.get_by_role("searchbox").fill("ca thu")
    shopper.get_by_role("button", name="Tìm", exact=True).click()
    expect(shopper.locator("#results")).to_contain_text("Cá thu")
    shop_steps.shot("tim-ca-thu")
    # "add 0,5 kg, check out with a pickup time, pay in the sandbox bank"
    shopper.get_by_label("Số lượng (kg)").first.fill("0,5")
    shopper.get_by_role("button", name="Thêm Cá thu vào giỏ").first.click()
    shopper.goto(f"{base}/gio-hang/")
    expect(shopper.locator(".cart-group")).to_contain_text("90.000 đ")
    shopper.get_by_role("link", name="Đặt hàng ở sạp này").click()
    shopper.get_by_label("Tên người nhận").fill("Trần Thị Khách")
    shopper.get_by_label("Số điện thoại").fill("0905 123 456")
    shopper.get_by_label("Giờ lấy hàng").select_option(index=1)
    shop_steps.shot("dat-hang")
    shopper.get_by_role("button", name="Đặt hàng và thanh toán").click()
    expect(shopper.locator("#transfer-code")).to_be_visible()
    payload = _read_qr(shopper.locator("#qr").screenshot())
    bank_page = browser.new_page()
    bank_page.goto(f"{bank.url}/?{urlencode({'payload': payload})}")
    _pay_in_sandbox_bank(bank_page)
    bank_page.close()
    expect(shopper.locator("#order-status")).to_have_text("Đã thanh toán", timeout=15_000)
    online = Order.objects.filter(merchant=seller, channel="online").get()
    # "the trader's Đơn trực tuyến screen beeps and lists the order (accept → ready → completed)"
    expect(trader.get_by_text(online.number)).to_be_visible(timeout=15_000)
    Steps(trader, artifacts_dir, "e2e-readme-don-online").shot("don-moi")
    trader.get_by_role("button", name="Nhận đơn").click()
    trader.get_by_role("button", name="Đã chuẩn bị xong").click()
    trader.get_by_role("button", name="Hoàn thành").click()
    expect(trader.get_by_role("button", name="Hoàn thành", exact=True)).to_have_count(
        0, timeout=10_000
    )
    trader_ctx.close()
    # "the shopper's order page then takes a review"
    shopper.reload()
    shopper.get_by_label("Đánh giá cho").select_option(label="Cá thu")
    shopper.get_by_label("Nhận xét").fill("Cá tươi, cân đủ.")
    shopper.get_by_role("button", name="Gửi đánh giá").click()
    expect(shopper.get_by_text("Cảm ơn bạn đã đánh giá!")).to_be_visible()
    shop_steps.shot("danh-gia")
    assert Review.objects.filter(order=online).exists()

    # --- "Virtual exhibition" --------------------------------------------------------------------
    # "http://127.0.0.1:8000/hoi-cho/ (search gom, open a booth, its 360° view, send an inquiry,
    # buy)"
    expo_steps = Steps(shopper, artifacts_dir, "e2e-readme-hoi-cho")
    shopper.goto(f"{base}/hoi-cho/")
    shopper.locator(".expo-card").first.click()
    shopper.get_by_role("searchbox").fill("gom")
    shopper.get_by_role("button", name="Tìm", exact=True).click()
    expo_steps.shot("tim-gom")
    shopper.locator(".booth-card").first.click()
    shopper.wait_for_load_state()
    expect(shopper.locator("#cart-link")).to_be_visible()
    shopper.get_by_role("button", name="Xem 360°").click()
    expect(shopper.locator("#pano canvas")).to_be_visible(timeout=10_000)
    expo_steps.shot("gian-hang-360")
    shopper.get_by_label("Họ tên").fill("Trần Minh Khoa")
    shopper.get_by_label("Điện thoại").fill("0935 222 333")
    shopper.get_by_label("Nội dung cần hỏi").fill("Cho tôi giá sỉ bộ ấm chén.")
    shopper.get_by_role("button", name="Gửi câu hỏi").click()
    expect(shopper.get_by_role("heading", name="Câu hỏi của bạn")).to_be_visible()
    shopper.go_back()
    shopper.reload()
    shopper.locator(".expo-product").first.get_by_role("button", name="Mua").click()
    expect(shopper.get_by_text(re.compile("Đã thêm .* vào giỏ"))).to_be_visible()
    shopper.locator("#cart-link").click()
    shopper.locator(".cart-group", has_text="Đặc sản Sông Hàn").get_by_role(
        "link", name="Đặt hàng ở sạp này"
    ).click()
    # The company has no stall: pickup at its address, or delivery.
    expect(shopper.locator("#checkout-form")).to_contain_text("Lấy tại cửa hàng")
    expect(shopper.locator("#checkout-form")).to_contain_text("Giao hàng")
    expo_steps.shot("dat-hang")
    shopper_ctx.close()

    # "staff 0905 000 001 curate exhibitions, review booths with a checklist, and read each
    # fair's outcome report; the dashboard per market (Chợ → Báo cáo …)"
    page.context.clear_cookies()
    _sign_in(page, base, README_STAFF)
    expect(page.get_by_role("heading", level=1)).to_have_text("Chào Quân!")
    steps.shot("can-bo")
    page.get_by_role("link", name="Hội chợ ảo").click()
    page.locator("main .list a").first.click()
    page.locator(".staff-booths li a").first.click()
    expect(page.locator("main")).to_contain_text("MST")  # the review checklist
    steps.shot("duyet-gian")
    page.go_back()
    page.get_by_role("link", name="Báo cáo kết quả").click()
    expect(page.locator("#revenue-chart")).to_contain_text("Đặc sản Sông Hàn")
    steps.shot("bao-cao-hoi-cho")
    page.get_by_role("link", name="Chợ", exact=True).click()
    page.get_by_role("link", name="Báo cáo thanh toán không tiền mặt").first.click()
    expect(page.locator("main")).to_contain_text("Chợ Hàn")
    steps.shot("bao-cao-cho")

    # --- "Look up an invoice" ------------------------------------------------------------------
    # "http://127.0.0.1:8000/hoa-don/tra-cuu/ with the code printed on it"
    page.context.clear_cookies()
    page.goto(f"{base}/hoa-don/tra-cuu/")
    page.get_by_label("Mã tra cứu").fill(invoice.lookup_code)
    page.get_by_role("button", name="Tra cứu", exact=True).click()
    expect(page.locator("main")).to_contain_text("Ghẹ xanh")
    steps.shot("tra-cuu-hoa-don")

    # --- "Do the books agree?" -----------------------------------------------------------------
    call_command("books_check", stdout=io.StringIO())  # exits 1 (SystemExit) on a difference


TRADERS_WITH_INVOICES = ("Rau sạch Cô Lan", "Hải sản Hùng Thọ Quang", "Đặc sản Bà Mai")
