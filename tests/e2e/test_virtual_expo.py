"""End to end, on a phone (360 × 740) and a desktop (1280 × 800): a trade-department curator
creates an exhibition and approves a pottery workshop's application with the checklist; a
visitor searches "gom" (finds "Gốm"), opens the booth, views the 360° panorama, sends an inquiry
and buys a vase paid in the sandbox bank; the exhibitor sees the inquiry arrive live and answers
it from the phone; the report shows one inquiry, one answer, one order.

Screenshots: test-artifacts/e2e-expo-<width>-*.png.
"""

from __future__ import annotations

import re
from datetime import time, timedelta
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import Page, expect

from market.models import Order, Storefront
from merchants.models import User
from payments.vietqr import parse
from tests import factories
from tests.e2e.test_pos_sale import _login, _read_qr
from tests.e2e.test_trader_onboarding import Steps
from virtual_expo import services
from virtual_expo.demo import panorama_jpeg
from virtual_expo.models import Exhibition

pytestmark = pytest.mark.e2e

CURATOR_PHONE = "0905 000 111"
POTTER_PHONE = "0905 111 099"
SIZES = {"phone": (360, 740), "desktop": (1280, 800)}


@pytest.fixture(params=["phone", "desktop"])
def size(request):
    return request.param


@pytest.fixture
def browser_context_args(browser_context_args, size):
    width, height = SIZES[size]
    phone = size == "phone"
    return {
        **browser_context_args,
        "viewport": {"width": width, "height": height},
        "device_scale_factor": 2 if phone else 1,
        "is_mobile": phone,
        "has_touch": phone,
        "locale": "vi-VN",
    }


def _local(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.django_db(transaction=True)
def test_an_exhibition_from_curation_to_a_paid_order_and_an_answered_inquiry(
    chromium_available, live_server, bank, page: Page, browser, artifacts_dir, size
):
    width = SIZES[size][0]
    curator = factories.UserFactory(phone="+84905000111", full_name="Ngô Minh Quân", is_staff=True)
    curator.user_permissions.add(Permission.objects.get(codename="curate_exhibition"))
    potter = factories.MerchantFactory(
        display_name="Gốm Thanh Hà", slug="gom-thanh-ha", phone="+84905111099"
    )
    factories.BankAccountFactory(merchant=potter, bank_bin="970436", account_number="0041000999")
    Storefront.objects.create(
        merchant=potter, is_open=True, opens_at=time(0, 0), closes_at=time(23, 59)
    )
    owner = factories.member_of(potter, phone="+84905111099", full_name="Nguyễn Văn Thành")
    vase = factories.ProductFactory(
        merchant=potter,
        name="Bình gốm men nâu",
        search_name="binh gom men nau",
        unit="cái",
        price=350_000,
        sold_by_weight=False,
    )
    factories.ProductFactory(
        merchant=potter,
        name="Bộ ấm chén gốm đỏ",
        search_name="bo am chen gom do",
        unit="bộ",
        price=480_000,
        sold_by_weight=False,
    )
    base = live_server.url
    shots = Steps(page, artifacts_dir, f"e2e-expo-{width}")

    # 1. The curator creates the exhibition.
    _login(page, base, CURATOR_PHONE)
    page.goto(f"{base}/quan-ly/hoi-cho/")
    page.get_by_role("link", name="+ Tạo hội chợ").click()
    now = timezone.now()
    page.get_by_label("Tên hội chợ (tiếng Việt)").fill("Hội chợ Làng nghề Quảng Nam – Đà Nẵng")
    page.get_by_label("Tên tiếng Anh").fill("Quang Nam – Da Nang Craft Villages Fair")
    page.get_by_label("Chủ đề").fill("Làng nghề truyền thống")
    page.get_by_label("Ngành hàng (mỗi dòng một ngành: Tiếng Việt | English)").fill(
        "Gốm sứ | Ceramics\nMây tre đan | Rattan and bamboo"
    )
    page.locator("#id_applications_open_at").fill(_local(now - timedelta(days=3)))
    page.locator("#id_applications_close_at").fill(_local(now + timedelta(days=10)))
    page.locator("#id_opens_at").fill(_local(now - timedelta(hours=1)))
    page.locator("#id_closes_at").fill(_local(now + timedelta(days=14)))
    page.get_by_label("Công bố hội chợ").check()
    shots.shot("tao-hoi-cho")
    page.get_by_role("button", name="Lưu hội chợ").click()
    expect(page.get_by_text("Đã tạo hội chợ.")).to_be_visible()
    exhibition = Exhibition.objects.get()

    # 2. The workshop applies (its own pages are tested elsewhere); the curator reviews.
    from django.core.files.uploadedfile import SimpleUploadedFile

    booth = services.booth_apply(
        actor=User.objects.get(pk=owner.pk),
        merchant=potter,
        exhibition=exhibition,
        data=services.BoothInput(
            category_id=exhibition.categories.get(slug="gom-su").pk,
            tagline_vi="Gốm đỏ nặn tay bên sông Thu Bồn",
            story_vi="Bốn đời làm gốm ở làng Thanh Hà, nung bằng củi.",
            contact_phone="0905111099",
            product_ids=list(potter.products.values_list("pk", flat=True)),
            panorama=SimpleUploadedFile("pano.jpg", panorama_jpeg(1024), "image/jpeg"),
        ),
        submit=True,
    )
    page.reload()
    page.get_by_role("link", name=re.compile("Gốm Thanh Hà")).click()
    for label in [
        "Doanh nghiệp / hộ kinh doanh đã xác minh (MST, địa chỉ) *",
        "Ảnh sản phẩm là ảnh thật và đủ *",
        "Có giá và đơn vị tính cho sản phẩm trưng bày *",
        "Mô tả bằng tiếng Việt rõ ràng *",
    ]:
        page.get_by_label(label).check()
    expect(page.get_by_label("Công bố gian hàng ngay khi duyệt")).to_be_checked()
    shots.shot("xet-duyet")
    page.get_by_role("button", name="Duyệt", exact=True).click()
    expect(page.get_by_text("Đã ghi quyết định: Đã duyệt.")).to_be_visible()
    shots.shot("da-duyet")
    page.get_by_role("button", name="Thoát").click()

    # 3. The exhibitor's phone is on the lead dashboard, listening.
    exhibitor_ctx = browser.new_context(
        viewport={"width": 360, "height": 740}, locale="vi-VN", device_scale_factor=2
    )
    exhibitor = exhibitor_ctx.new_page()
    _login(exhibitor, base, POTTER_PHONE)
    exhibitor.goto(f"{base}/cua-hang/{potter.pk}/hoi-cho/khach-hoi/")
    exhibitor_shots = Steps(exhibitor, artifacts_dir, f"e2e-expo-{width}-trien-lam")

    # 4. A visitor searches without diacritics and opens the booth.
    page.goto(f"{base}/hoi-cho/{exhibition.slug}/")
    page.get_by_role("searchbox").fill("gom")
    page.get_by_role("button", name="Tìm", exact=True).click()
    expect(page.get_by_text("1 gian hàng khớp “gom”")).to_be_visible()
    shots.shot("tim-gom")
    page.locator(".booth-card").get_by_text("Gốm Thanh Hà").click()
    expect(page.get_by_role("heading", name="Gốm Thanh Hà")).to_be_visible()
    assert not page.evaluate("() => !!window.pannellum")  # not loaded until asked for
    page.wait_for_load_state()  # the page's deferred script listens for the tap only once run
    page.get_by_role("button", name="Xem 360°").click()
    expect(page.locator("#pano canvas")).to_be_visible(timeout=10_000)
    page.wait_for_timeout(800)
    page.locator("#pano").screenshot(path=str(artifacts_dir / f"e2e-expo-{width}-360.png"))
    shots.shot("gian-hang-360")

    # 5. An inquiry, without an account: it arrives live on the exhibitor's phone.
    page.get_by_label("Họ tên").fill("Trần Minh Khoa")
    page.get_by_label("Công ty (nếu có)").fill("Khách sạn Biển Xanh")
    page.get_by_label("Điện thoại").fill("0935 222 333")
    page.get_by_label("Số lượng cần").fill("200 bộ")
    page.get_by_label("Nội dung cần hỏi").fill("Cho tôi giá sỉ bộ ấm chén, in logo khách sạn.")
    page.get_by_role("button", name="Gửi câu hỏi").click()
    expect(page.get_by_role("heading", name="Câu hỏi của bạn")).to_be_visible()
    thread_url = page.url
    expect(exhibitor.locator("#lead-live")).to_contain_text("Trần Minh Khoa", timeout=10_000)
    exhibitor_shots.shot("cau-hoi-moi")

    # 6. The visitor buys the vase through the cart and pays in the sandbox bank.
    page.go_back()
    page.goto(f"{base}/hoi-cho/{exhibition.slug}/gian/{booth.pk}/")
    page.locator(f"#sp-{vase.pk}").get_by_role("button", name="Mua").click()
    expect(page.get_by_text("Đã thêm “Bình gốm men nâu” vào giỏ.")).to_be_visible()
    page.goto(f"{base}/gio-hang/")
    page.get_by_role("link", name="Đặt hàng ở sạp này").click()
    page.get_by_label("Tên người nhận").fill("Trần Minh Khoa")
    page.get_by_label("Số điện thoại").fill("0935 222 333")
    page.get_by_label("Giờ lấy hàng").select_option(index=1)
    page.get_by_role("button", name="Đặt hàng và thanh toán").click()
    expect(page.locator("#transfer-code")).to_be_visible()
    payload = _read_qr(page.locator("#qr").screenshot())
    order = Order.objects.get(merchant=potter)
    assert (order.channel, order.source_ref) == ("expo", f"expo:{exhibition.pk}:{booth.pk}")
    assert parse(payload).amount == 350_000
    bank_page = browser.new_page()
    bank_page.goto(f"{bank.url}/?{urlencode({'payload': payload})}")
    bank_page.get_by_role("button", name="Tiếp tục").click()
    bank_page.get_by_role("button", name="Chuyển").click()
    expect(bank_page.get_by_text("Chuyển khoản thành công")).to_be_visible()
    bank_page.close()
    expect(page.locator("#order-status")).to_have_text("Đã thanh toán", timeout=15_000)
    shots.shot("da-thanh-toan")

    # 7. The exhibitor answers from the phone; the visitor reads it on their private page.
    exhibitor.locator("#lead-live a").click()
    exhibitor.get_by_label("Trả lời khách").fill("Dạ, 420.000 đ/bộ từ 100 bộ, in logo miễn phí.")
    exhibitor.get_by_role("button", name="Gửi trả lời").click()
    expect(exhibitor.get_by_text("Đã gửi câu trả lời.")).to_be_visible()
    exhibitor_shots.shot("da-tra-loi")
    page.goto(thread_url)
    expect(page.get_by_text("420.000 đ/bộ từ 100 bộ")).to_be_visible()
    shots.shot("cau-tra-loi")
    exhibitor_ctx.close()

    # 8. The report: one inquiry, one answer, one order.
    _login(page, base, CURATOR_PHONE)
    page.goto(f"{base}/quan-ly/hoi-cho/{exhibition.pk}/bao-cao/")
    expect(page.locator("[data-figure=inquiries]")).to_have_text("1")
    expect(page.locator("[data-figure=answered]")).to_have_text("1")
    expect(page.locator("[data-figure=orders]")).to_have_text("1")
    expect(page.locator("#totals")).to_contain_text("350.000 đ")
    shots.shot("bao-cao")
