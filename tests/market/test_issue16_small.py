"""Issue 16, item 9 (small ones) on the trader's, the shopper's and staff pages, through the
test client: each would have failed before its fix."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from core import thumbs
from einvoice import services as einvoice
from market.models import Order
from merchants import services as merchant_services
from merchants.models import User
from payments.models import PaymentIntent
from tests.einvoice.conftest import goods, vat_series
from tests.factories import (
    MerchantFactory,
    ProductFactory,
    UserFactory,
    member_of,
    merchant_with_account,
)

pytestmark = pytest.mark.django_db


# --- greetings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("full_name", "short"),
    [
        ("Ngô Minh Quân (Sở Công Thương)", "Quân"),
        ("Trần Văn Hùng", "Hùng"),
        ("Lan", "Lan"),
        ("(Sở Công Thương)", "0905 000 009"),
    ],
)
def test_a_user_is_greeted_by_the_given_name_without_a_bracketed_note(full_name, short):
    user = UserFactory.build(full_name=full_name, phone="+84905000009")
    assert user.get_short_name() == short


def test_the_staff_home_greets_quan_not_thuong(client):
    staff = UserFactory(full_name="Ngô Minh Quân (Sở Công Thương)", is_staff=True)
    client.force_login(staff)

    page = client.get("/").content.decode()

    assert "Chào Quân!" in page
    assert "Thương)" not in page


# --- the landing page, icons -----------------------------------------------------------------


def test_a_visitor_at_the_root_lands_on_the_marketplace_with_a_way_in_for_traders(client):
    response = client.get("/")
    assert response.status_code == 302 and response.url == "/mua/"

    page = client.get("/mua/").content.decode()

    assert 'id="trader-entry"' in page
    assert 'href="/dang-nhap/"' in page and 'href="/dang-ky/"' in page


def test_a_signed_in_trader_still_gets_their_home(client):
    merchant = merchant_with_account(display_name="Cá tươi Bà Lan")
    client.force_login(member_of(merchant))

    response = client.get("/")

    assert response.status_code == 200 and "Bán hàng" in response.content.decode()
    assert 'id="trader-entry"' not in client.get("/mua/").content.decode()


def test_the_favicon_and_app_icons_exist(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response.url.endswith("icons/favicon.ico")
    for name in ("favicon.ico", "icon.svg", "icon-192.png", "icon-512.png", "apple-touch-icon.png"):
        assert finders.find(f"icons/{name}"), name
    with Image.open(finders.find("icons/icon-192.png")) as icon:
        assert icon.size == (192, 192)
    page = client.get("/mua/").content.decode()
    assert 'rel="icon"' in page and 'rel="apple-touch-icon"' in page


# --- the trader's pages ------------------------------------------------------------------------


@pytest.fixture
def merchant():
    return merchant_with_account(display_name="Cá tươi Bà Lan")


@pytest.fixture
def owner_client(client, merchant):
    client.force_login(member_of(merchant, full_name="Lê Thị Lan"))
    return client


def test_the_tax_page_shows_no_internal_file_references(owner_client, merchant):
    page = owner_client.get(f"/cua-hang/{merchant.pk}/thue/").content.decode()

    assert "Thông tư 40/2021/TT-BTC" in page  # the legal sources stay
    assert ".md" not in page
    assert "shared/reference" not in page
    assert "tnt " not in page


def test_the_stock_button_is_a_labelled_toggle_with_the_state_shown(owner_client, merchant):
    fish = ProductFactory(merchant=merchant, name="Cá thu")
    squid = ProductFactory(merchant=merchant, name="Mực lá", in_stock=False)

    page = owner_client.get(f"/cua-hang/{merchant.pk}/").content.decode()

    def row(product) -> str:
        found = re.search(rf'<li id="product-{product.pk}".*?</li>', page, re.S)
        assert found
        return found.group(0)

    assert "Còn hàng" in row(fish) and ">Đánh dấu hết hàng</button>" in row(fish)
    assert "Hết hàng" in row(squid) and ">Đánh dấu còn hàng</button>" in row(squid)
    # No button reads as a bare "Hết hàng" as if the product were sold out.
    assert ">Hết hàng</button>" not in page


def test_the_collect_page_has_one_name_on_the_pos(owner_client, merchant):
    page = owner_client.get(f"/cua-hang/{merchant.pk}/ban-hang/").content.decode()

    assert "Thu nhanh" not in page
    assert f'<a href="/cua-hang/{merchant.pk}/thu-tien/">Thu tiền</a>' in page


def _sale(client, merchant) -> Order:
    greens = ProductFactory(
        merchant=merchant, name="Rau muống", unit="bó", price=10_000, sold_by_weight=False
    )
    client.post(
        f"/cua-hang/{merchant.pk}/ban-hang/",
        {
            "cart": json.dumps([{"product": greens.pk, "qty": 1}]),
            "method": "bank_qr",
            "idempotency_key": "k-1",
        },
    )
    return Order.objects.get()


@pytest.mark.django_db(transaction=True)
def test_an_expired_sale_does_not_also_say_it_is_waiting(owner_client, merchant):
    order = _sale(owner_client, merchant)
    PaymentIntent.objects.filter(pk=order.intent_id).update(status="expired")

    page = owner_client.get(f"/cua-hang/{merchant.pk}/don/{order.pk}/").content.decode()

    assert "Mã QR đã hết hạn" in page
    assert "Đang chờ khách chuyển khoản" not in page
    assert 'id="sandbox-pay"' not in page


@pytest.mark.django_db(transaction=True)
def test_a_sale_page_has_a_heading_and_an_image_role_on_its_qr(owner_client, merchant):
    order = _sale(owner_client, merchant)

    page = owner_client.get(f"/cua-hang/{merchant.pk}/don/{order.pk}/").content.decode()

    assert re.search(r"<h1[^>]*>Đơn hàng " + order.number + "</h1>", page)
    assert '<div class="qr" id="qr" role="img" aria-label="Mã VietQR">' in page


@pytest.mark.django_db(transaction=True)
def test_an_e_wallet_sale_says_the_confirmation_comes_from_the_wallet(owner_client, merchant):
    order = _sale(owner_client, merchant)
    PaymentIntent.objects.filter(pk=order.intent_id).update(method="ewallet")

    page = owner_client.get(f"/cua-hang/{merchant.pk}/don/{order.pk}/").content.decode()

    assert "xác nhận đến từ ví điện tử" in page
    assert "từ ngân hàng" not in page


def _photo(size=(1200, 900)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (30, 120, 160)).save(buffer, format="JPEG", quality=90)
    return SimpleUploadedFile("ca-thu.jpg", buffer.getvalue(), content_type="image/jpeg")


def test_the_pos_shows_a_small_rendition_not_the_full_photo(owner_client, merchant):
    owner = User.objects.get(memberships__merchant=merchant)
    product = merchant_services.product_create(
        actor=owner, merchant=merchant, name="Cá thu", unit="kg", price=180_000, photo=_photo()
    )
    assert Image.open(product.photo.path).size == (1200, 900)

    page = owner_client.get(f"/cua-hang/{merchant.pk}/ban-hang/").content.decode()

    [src] = re.findall(r'<img src="([^"]+)" alt="" loading="lazy" width="48" height="48">', page)
    assert src != product.photo.url and src.endswith(".96.webp")
    thumb = product.photo.storage.path(src.removeprefix("/media/"))
    with Image.open(thumb) as image:
        assert image.size == (96, 96)
    # Made once: the next page view serves the same file.
    assert src in owner_client.get(f"/cua-hang/{merchant.pk}/ban-hang/").content.decode()


def test_the_pos_page_writes_nothing_for_a_photo_stored_without_a_rendition(owner_client, merchant):
    owner = User.objects.get(memberships__merchant=merchant)
    product = merchant_services.product_create(
        actor=owner, merchant=merchant, name="Cá thu", unit="kg", price=180_000, photo=_photo()
    )
    storage = product.photo.storage
    rendition = thumbs.thumb_name(product.photo.name, thumbs.POS_THUMB_SIDE)
    storage.delete(rendition)  # as for a photo stored before renditions existed

    page = owner_client.get(f"/cua-hang/{merchant.pk}/ban-hang/").content.decode()

    assert f'<img src="{product.photo.url}"' in page
    assert not storage.exists(rendition)  # no GET writes
    merchant_services.product_update(actor=owner, product=product, photo=_photo())
    product.refresh_from_db()
    assert storage.exists(thumbs.thumb_name(product.photo.name, thumbs.POS_THUMB_SIDE))


# --- phones, invoices ----------------------------------------------------------------------------


def test_phone_numbers_are_shown_as_people_write_them():
    from core.templatetags.money import vn_phone

    assert vn_phone("+84905111002") == "0905 111 002"
    assert vn_phone("") == ""


def test_the_web_invoice_writes_weights_with_a_decimal_comma(client):
    merchant = MerchantFactory()
    vat_series(merchant, "K26TAA")
    invoice = einvoice.invoice_issue(
        merchant=merchant,
        buyer=einvoice.Buyer(name="Chị Hoa"),
        lines=[goods("Cá thu", quantity="0.35", price=180_000)],
    )

    page = client.get(f"/hoa-don/{invoice.lookup_code}/").content.decode()

    assert "0,35 kg" in page
    assert "0.35 kg" not in page


@pytest.mark.django_db(transaction=True)
def test_the_shoppers_page_of_an_e_wallet_order_credits_the_wallet(owner_client, client, merchant):
    from django.utils import timezone

    order = _sale(owner_client, merchant)
    Order.objects.filter(pk=order.pk).update(
        channel="online",
        status="paid",
        payment_method="ewallet",
        bank_reference="W-123",
        amount_paid=order.total,
        paid_at=timezone.now(),
    )

    page = client.get(f"/don-hang/{order.receipt_token}/").content.decode()

    assert "Đã xác nhận bởi ví điện tử · W-123" in page
    assert "Đã xác nhận bởi ngân hàng" not in page
