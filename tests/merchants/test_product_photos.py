"""Product photos through the page form `/cua-hang/<id>/san-pham/them/` (multipart upload)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from merchants.models import Product
from tests.factories import MerchantFactory, ProductFactory, member_of

pytestmark = pytest.mark.django_db


def image_file(name="ca-thu.png", fmt="PNG", size=(32, 24)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buffer, format=fmt)
    content_type = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif"}[fmt]
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=content_type)


def media_files() -> list[Path]:
    """Every file under MEDIA_ROOT (a temporary directory per test): a refused form leaves none."""
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def form_data(**overrides) -> dict:
    return {
        "name": "Cá thu",
        "unit": "kg",
        "price": "180000",
        "tax_category": "KCT",
        "sold_by_weight": "on",
        "is_active": "on",
        **overrides,
    }


@pytest.fixture
def merchant():
    return MerchantFactory()


@pytest.fixture
def owner_client(client, merchant):
    client.force_login(member_of(merchant))
    return client


def add_url(merchant) -> str:
    return f"/cua-hang/{merchant.pk}/san-pham/them/"


def test_it_shows_the_form(owner_client, merchant):
    response = owner_client.get(add_url(merchant))

    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.content.decode()


def test_it_stores_a_real_png(owner_client, merchant, settings):
    response = owner_client.post(add_url(merchant), form_data(photo=image_file()))

    assert response.status_code == 302
    # A shop that has not sold yet: on to the first day's next step, a test sale.
    assert response["Location"] == f"/cua-hang/{merchant.pk}/ban-hang/"
    product = Product.objects.get()
    assert product.photo.name.startswith("products/")
    assert product.photo.name.endswith(".png")
    with Image.open(product.photo.path) as stored:
        assert (stored.format, stored.size) == ("PNG", (32, 24))
    assert str(settings.MEDIA_ROOT) in product.photo.path


def test_it_creates_a_product_without_a_photo(owner_client, merchant):
    response = owner_client.post(add_url(merchant), form_data())

    assert response.status_code == 302
    product = Product.objects.get()
    assert not product.photo
    assert (product.price, product.sold_by_weight) == (180_000, True)


def test_it_rejects_a_text_file_named_like_a_jpeg(owner_client, merchant):
    fake = SimpleUploadedFile("x.jpg", b"this is not a picture\n" * 10, content_type="image/jpeg")

    response = owner_client.post(add_url(merchant), form_data(photo=fake))

    assert response.status_code == 422
    assert not media_files()
    assert "photo" in response.context["form"].errors
    assert not Product.objects.exists()


def test_it_rejects_a_gif(owner_client, merchant):
    response = owner_client.post(add_url(merchant), form_data(photo=image_file("a.gif", "GIF")))

    assert response.status_code == 422
    assert not media_files()
    assert "photo" in response.context["form"].errors
    assert not Product.objects.exists()


def test_it_rejects_a_photo_over_the_size_limit(owner_client, merchant, settings):
    photo = image_file(size=(64, 64))
    settings.MAX_UPLOAD_IMAGE_BYTES = photo.size - 1

    response = owner_client.post(add_url(merchant), form_data(photo=photo))

    assert response.status_code == 422
    assert not media_files()
    assert "photo" in response.context["form"].errors
    assert not Product.objects.exists()


def test_it_accepts_a_photo_exactly_at_the_size_limit(owner_client, merchant, settings):
    photo = image_file(size=(64, 64))
    settings.MAX_UPLOAD_IMAGE_BYTES = photo.size

    response = owner_client.post(add_url(merchant), form_data(photo=photo))

    assert response.status_code == 302
    assert Product.objects.get().photo


def test_it_adds_a_photo_when_editing_and_keeps_it_when_none_is_sent(owner_client, merchant):
    product = ProductFactory(merchant=merchant, name="Cá thu", unit="kg", price=180_000)
    edit_url = f"/cua-hang/{merchant.pk}/san-pham/{product.pk}/"
    assert owner_client.get(edit_url).status_code == 200

    owner_client.post(edit_url, form_data(photo=image_file("moi.jpg", "JPEG")))
    product.refresh_from_db()
    first = product.photo.name
    owner_client.post(edit_url, form_data(price="190000"))

    product.refresh_from_db()
    assert first.endswith(".jpg")
    assert product.photo.name == first
    assert product.price == 190_000


def test_it_shows_the_photo_url_in_the_api(owner_client, merchant):
    owner_client.post(add_url(merchant), form_data(photo=image_file()))
    product = Product.objects.get()

    body = owner_client.get(f"/api/v1/merchants/{merchant.pk}/products/{product.pk}").json()

    assert body["photo_url"] == product.photo.url
    assert body["photo_url"].endswith(".png")


def test_it_shows_a_bad_price_on_the_form(owner_client, merchant):
    response = owner_client.post(add_url(merchant), form_data(price="1.5"))

    assert response.status_code == 422
    assert not media_files()
    assert "price" in response.context["form"].errors
    assert not Product.objects.exists()


def test_it_shows_a_duplicate_name_on_the_form(owner_client, merchant):
    ProductFactory(merchant=merchant, name="Cá thu", unit="kg")

    response = owner_client.post(add_url(merchant), form_data(photo=image_file()))

    assert response.status_code == 422
    assert not media_files()
    assert "name" in response.context["form"].errors
    assert Product.objects.count() == 1
