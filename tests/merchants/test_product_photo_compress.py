"""Catalogue photos from a phone camera are shrunk server-side: at most 1200 px on the long side,
turned upright by their EXIF orientation, re-encoded without EXIF (no GPS position leaks)."""

from __future__ import annotations

import io
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from core import images
from core.errors import ValidationFailed
from merchants import services
from merchants.models import Product
from tests.factories import MerchantFactory, ProductFactory, member_of
from tests.upload_samples import (
    SECRET_COMMENT,
    SECRET_MAKE,
    jpeg_markers,
    jpeg_with_secrets,
    png_bomb,
)

pytestmark = pytest.mark.django_db

ORIENTATION = 0x0112
GPS_IFD = 0x8825


def camera_photo(size=(4000, 3000), orientation: int | None = None, quality=95) -> bytes:
    """A phone-camera-like JPEG: noisy (so it weighs megabytes), with EXIF."""
    width, height = size
    image = Image.frombytes("RGB", size, os.urandom(width * height * 3))
    exif = Image.Exif()
    exif[0x010F] = "Samsung"  # Make
    if orientation is not None:
        exif[ORIENTATION] = orientation
    exif[GPS_IFD] = {1: "N", 2: (16.0, 4.0, 7.0), 3: "E", 4: (108.0, 13.0, 30.0)}
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality, exif=exif)
    return buffer.getvalue()


def upload(data: bytes, name="IMG_20261130_063012.jpg", content_type="image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture
def big_limit(settings):
    settings.MAX_UPLOAD_IMAGE_BYTES = 40 * 1024 * 1024


def test_it_shrinks_a_ten_megabyte_camera_photo(big_limit):
    data = camera_photo()
    assert len(data) > 8 * 1024 * 1024

    out = images.validated_photo(upload(data))

    assert out is not None
    stored = out.read()
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert max(image.size) == 1200
        assert image.size == (1200, 900)
        assert not image.getexif()
    assert len(stored) < len(data) / 10
    assert out.name == "img_20261130_063012.jpg"


def test_it_drops_the_jpeg_comment_and_xmp_too():
    # Pillow writes a JPEG's COM comment back by default: the re-encoding must start from pixels.
    data = jpeg_with_secrets()
    assert SECRET_COMMENT in data

    out = images.validated_photo(upload(data))

    assert out is not None
    stored = out.read()
    assert SECRET_COMMENT not in stored and SECRET_MAKE.encode() not in stored
    assert not {0xFE, 0xE1, 0xE2} & set(jpeg_markers(stored))  # COM, EXIF/XMP, ICC


def test_it_refuses_a_decompression_bomb_with_a_clear_message():
    with pytest.raises(ValidationFailed) as exc:
        images.validated_photo(upload(png_bomb(), "bom.png", "image/png"))

    assert exc.value.fields == {
        "photo": ["Ảnh có quá nhiều điểm ảnh (tối đa 134 megapixel); hãy gửi ảnh nhỏ hơn."]
    }


def test_it_turns_a_portrait_photo_upright_before_dropping_exif(big_limit):
    # Sensor landscape 1600×1200, EXIF "rotate 90° clockwise to view": a portrait photo.
    out = images.validated_photo(upload(camera_photo((1600, 1200), orientation=6)))

    assert out is not None
    with Image.open(out) as image:
        assert image.size == (900, 1200)
        assert ORIENTATION not in image.getexif()


def test_it_never_enlarges_a_small_photo():
    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 120, 60)).save(buffer, format="JPEG", quality=95)

    out = images.validated_photo(upload(buffer.getvalue(), "rau.jpg"))

    assert out is not None
    with Image.open(out) as image:
        assert image.size == (640, 480)


def test_a_large_png_with_transparency_becomes_a_jpeg_on_white(big_limit):
    image = Image.frombytes("RGBA", (2400, 1800), os.urandom(2400 * 1800 * 4))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")

    out = images.validated_photo(upload(buffer.getvalue(), "logo.png", "image/png"))

    assert out is not None and out.name == "logo.jpg"
    with Image.open(out) as stored:
        assert (stored.format, stored.mode, stored.size) == ("JPEG", "RGB", (1200, 900))


def test_a_webp_stays_webp():
    buffer = io.BytesIO()
    Image.new("RGB", (1600, 1600), (200, 30, 30)).save(buffer, format="WEBP")

    out = images.validated_photo(upload(buffer.getvalue(), "ca.webp", "image/webp"))

    assert out is not None and out.name == "ca.webp"
    with Image.open(out) as stored:
        assert (stored.format, stored.size) == ("WEBP", (1200, 1200))


def test_it_still_refuses_what_is_not_a_photo():
    fake = SimpleUploadedFile("x.jpg", b"not a picture" * 100, content_type="image/jpeg")

    with pytest.raises(ValidationFailed) as exc:
        images.validated_photo(fake)
    assert "photo" in exc.value.fields


def test_it_still_refuses_a_photo_over_the_limit(settings):
    data = camera_photo((800, 600))
    settings.MAX_UPLOAD_IMAGE_BYTES = len(data) - 1

    with pytest.raises(ValidationFailed):
        images.validated_photo(upload(data))


def test_the_product_form_stores_the_compressed_photo(client, big_limit):
    merchant = MerchantFactory()
    client.force_login(member_of(merchant))
    data = camera_photo()

    response = client.post(
        f"/cua-hang/{merchant.pk}/san-pham/them/",
        {
            "name": "Cá thu",
            "unit": "kg",
            "price": "180000",
            "tax_category": "KCT",
            "is_active": "on",
            "in_stock": "on",
            "description": "Cá thu  Thọ Quang,\r\nlàm sạch miễn phí",
            "photo": upload(data),
        },
    )

    assert response.status_code == 302
    product = Product.objects.get()
    assert product.photo.name.startswith("products/") and product.photo.name.endswith(".jpg")
    assert product.photo.size < len(data) / 10
    with Image.open(product.photo.path) as image:
        assert max(image.size) <= 1200
    assert product.description == "Cá thu Thọ Quang,\nlàm sạch miễn phí"
    assert product.in_stock


def test_description_and_stock_are_editable(client):
    merchant = MerchantFactory()
    product = ProductFactory(merchant=merchant, name="Cá thu", unit="kg", price=180_000)
    client.force_login(member_of(merchant))

    page = client.get(f"/cua-hang/{merchant.pk}/san-pham/{product.pk}/")
    assert 'name="description"' in page.content.decode()
    client.post(
        f"/cua-hang/{merchant.pk}/san-pham/{product.pk}/",
        {
            "name": "Cá thu",
            "unit": "kg",
            "price": "180000",
            "tax_category": "KCT",
            "is_active": "on",
            "description": "Ca\u0301 tươi",
        },
    )

    product.refresh_from_db()
    assert product.description == "Cá tươi"
    assert not product.in_stock  # the box was left unticked


def test_one_tap_marks_a_product_sold_out_and_back(client):
    merchant = MerchantFactory()
    product = ProductFactory(merchant=merchant, name="Cá thu", unit="kg")
    client.force_login(member_of(merchant, role="cashier"))
    url = f"/cua-hang/{merchant.pk}/san-pham/{product.pk}/con-hang/"

    page = client.get(f"/cua-hang/{merchant.pk}/").content.decode()
    assert url in page and "Đánh dấu hết hàng" in page
    response = client.post(url, {"in_stock": "0"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"#product-{product.pk}")
    product.refresh_from_db()
    assert not product.in_stock
    assert "Đánh dấu còn hàng" in client.get(f"/cua-hang/{merchant.pk}/").content.decode()
    client.post(url, {"in_stock": "1"})
    product.refresh_from_db()
    assert product.in_stock
    assert client.get(url).status_code == 405


def test_another_merchant_cannot_mark_stock(client):
    product = ProductFactory()
    other = MerchantFactory()
    client.force_login(member_of(other))

    response = client.post(
        f"/cua-hang/{other.pk}/san-pham/{product.pk}/con-hang/", {"in_stock": "0"}
    )

    assert response.status_code == 404
    product.refresh_from_db()
    assert product.in_stock


def test_a_too_long_description_is_refused():
    product = ProductFactory()

    with pytest.raises(ValidationFailed) as exc:
        services.product_update(actor=None, product=product, description="x" * 2001)
    assert "description" in exc.value.fields
