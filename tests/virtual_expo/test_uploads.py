"""Booth media, logos, panoramas and banners (issue 13): every upload is checked (core/uploads.py)
before anything is written, a refusal is a 4xx with the reason, and a refused step leaves no
file under MEDIA_ROOT (a temporary directory per test, tests/conftest.py)."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from PIL import Image

from core.errors import ValidationFailed
from tests.upload_samples import (
    SECRET_COMMENT,
    SECRET_MAKE,
    jpeg_with_secrets,
    minimal_pdf,
    png_bomb,
    upload,
    weasyprint_pdf,
)
from virtual_expo import curation, services
from virtual_expo.models import BoothMedia

from .conftest import booth_input, make_exhibition

pytestmark = [
    pytest.mark.django_db,
    # Pillow warns about the bombs below before they are refused; the warning is expected.
    pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning"),
]

TOO_MANY_PIXELS = "Ảnh có quá nhiều điểm ảnh (tối đa 134 megapixel); hãy gửi ảnh nhỏ hơn."


def media_files() -> set[Path]:
    root = Path(settings.MEDIA_ROOT)
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def media_url(booth) -> str:
    return reverse("expo_booth_media", args=[booth.merchant_id, booth.pk])


def edit_url(booth) -> str:
    return reverse("expo_booth_edit", args=[booth.merchant_id, booth.pk])


def pano_jpeg(width: int, height: int) -> bytes:
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = SECRET_MAKE
    image.save(buffer, format="JPEG", quality=80, exif=exif, comment=SECRET_COMMENT)
    return buffer.getvalue()


@pytest.fixture
def owner_client(client, potter_owner):
    client.force_login(potter_owner)
    return client


# --- booth media (the page) -------------------------------------------------------------------


def test_a_200_megapixel_png_as_booth_media_is_a_4xx_not_a_500(owner_client, live_booth):
    before = media_files()

    response = owner_client.post(
        media_url(live_booth),
        {"kind": "photo", "file": upload(png_bomb(16384, 12208), "toan-canh.png", "image/png")},
    )

    assert response.status_code == 422
    assert TOO_MANY_PIXELS in response.content.decode()
    assert not BoothMedia.objects.exists()
    assert media_files() == before


def test_the_refusal_comes_in_english_when_the_browser_asks(owner_client, live_booth):
    response = owner_client.post(
        media_url(live_booth),
        {"kind": "photo", "file": upload(png_bomb(), "a.png", "image/png")},
        headers={"accept-language": "en"},
    )

    assert response.status_code == 422
    assert "The photo has too many pixels (at most 134 megapixels)" in response.content.decode()


def test_a_decompression_bomb_as_booth_media_is_refused(owner_client, live_booth):
    before = media_files()

    response = owner_client.post(
        media_url(live_booth), {"kind": "photo", "file": upload(png_bomb(), "a.png", "image/png")}
    )

    assert response.status_code == 422
    assert media_files() == before


def test_a_gif_named_jpg_as_booth_media_is_refused(owner_client, live_booth):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30)).save(buffer, format="GIF")
    before = media_files()

    response = owner_client.post(
        media_url(live_booth), {"kind": "photo", "file": upload(buffer.getvalue(), "a.jpg")}
    )

    assert response.status_code == 422
    assert "Ảnh phải là JPEG, PNG hoặc WebP." in response.content.decode()
    assert media_files() == before


def test_a_gallery_photo_is_stored_without_its_metadata(owner_client, live_booth):
    response = owner_client.post(
        media_url(live_booth),
        {"kind": "photo", "file": upload(jpeg_with_secrets(size=(2000, 1500)), "IMG_1.jpg")},
    )

    assert response.status_code == 302
    media = BoothMedia.objects.get()
    for stored in (media.file, media.thumb):
        data = stored.read()
        assert SECRET_COMMENT not in data and SECRET_MAKE.encode() not in data
        assert b"EXIF" not in data and b"XMP " not in data  # WebP metadata chunks
        with Image.open(io.BytesIO(data)) as image:
            assert image.format == "WEBP"
            assert not image.getexif()
    assert (media.width, media.height) == (1280, 960)


def test_pdf_junk_as_a_booth_document_is_refused(owner_client, live_booth):
    before = media_files()
    junk = upload(b"%PDF-1.7\n<script>alert(1)</script>" * 50, "bang-gia.pdf", "application/pdf")

    response = owner_client.post(media_url(live_booth), {"kind": "document", "file": junk})

    assert response.status_code == 422
    assert "Tệp PDF bị hỏng hoặc không đọc được" in response.content.decode()
    assert not BoothMedia.objects.exists()
    assert media_files() == before


def test_a_pdf_with_javascript_as_a_booth_document_is_refused(owner_client, live_booth):
    before = media_files()
    pdf = minimal_pdf(b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>")

    response = owner_client.post(
        media_url(live_booth),
        {"kind": "document", "file": upload(pdf, "bang-gia.pdf", "application/pdf")},
    )

    assert response.status_code == 422
    assert media_files() == before


@pytest.mark.parametrize("make", [weasyprint_pdf, minimal_pdf], ids=["weasyprint", "by-hand"])
def test_a_valid_pdf_is_stored_as_it_was_sent(owner_client, live_booth, make):
    pdf = make()

    response = owner_client.post(
        media_url(live_booth),
        {"kind": "document", "file": upload(pdf, "Bảng giá 2026.pdf", "application/pdf")},
    )

    assert response.status_code == 302
    media = BoothMedia.objects.get(kind="document")
    assert media.file.name.endswith("/bang-gia-2026.pdf")
    assert media.file.read() == pdf and media.size_bytes == len(pdf)


# --- logo, panorama, banner -------------------------------------------------------------------


def test_a_panorama_bomb_is_refused_by_the_booth_page_with_nothing_written(
    owner_client, live_booth
):
    before = media_files()
    form = {
        "category": live_booth.category_id,
        "tagline_vi": "Gốm đỏ",
        "story_vi": "Bốn đời làm gốm.",
        "contact_phone": "0905123456",
        "products": [bp.product_id for bp in live_booth.products.all()],
        "panorama": upload(png_bomb(16384, 8192 + 2), "pano.png", "image/png"),
    }

    response = owner_client.post(edit_url(live_booth), form)

    assert response.status_code == 422
    assert TOO_MANY_PIXELS in response.content.decode()
    assert media_files() == before


def test_a_large_panorama_is_stored_downscaled_and_without_metadata(
    potter_owner, live_booth, exhibition, pots
):
    data = pano_jpeg(6000, 3000)
    booth = services.booth_update(
        actor=potter_owner,
        booth=live_booth,
        data=booth_input(exhibition, pots, panorama=upload(data, "pano.jpg")),
    )

    stored = booth.panorama.read()
    assert SECRET_COMMENT not in stored and SECRET_MAKE.encode() not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert (image.format, image.size) == ("JPEG", (4096, 2048))
        assert not image.getexif()


def test_a_booth_refused_after_its_logo_was_written_leaves_no_file(
    curator, potter, potter_owner, pots
):
    exhibition = make_exhibition(curator, title_vi="Hội chợ Đặc sản")
    before = media_files()
    data = booth_input(exhibition, pots, logo=upload(jpeg_with_secrets(), "logo.jpg"))
    data.story_vi = ""  # submitting needs a story: refused once the booth and its logo exist

    with pytest.raises(ValidationFailed) as exc:
        services.booth_apply(
            actor=potter_owner, merchant=potter, exhibition=exhibition, data=data, submit=True
        )

    assert "story_vi" in exc.value.fields
    assert not exhibition.booths.exists()
    assert media_files() == before


def test_an_exhibition_refused_after_its_banner_was_written_leaves_no_file(
    curator, exhibition, live_booth
):
    before = media_files()
    data = curation.ExhibitionInput(
        title_vi=exhibition.title_vi,
        applications_open_at=exhibition.applications_open_at,
        applications_close_at=exhibition.applications_close_at,
        opens_at=exhibition.opens_at,
        closes_at=exhibition.closes_at,
        categories=[("Đặc sản", "Specialties")],  # drops "Gốm sứ", which has a booth
        is_published=True,
        banner=upload(jpeg_with_secrets(size=(1600, 600)), "bia.jpg"),
    )

    with pytest.raises(ValidationFailed) as exc:
        curation.exhibition_update(actor=curator, exhibition_id=exhibition.pk, data=data)

    assert "categories" in exc.value.fields
    exhibition.refresh_from_db()
    assert not exhibition.banner
    assert media_files() == before

    # The same banner with the categories kept is stored, re-encoded.
    curation.exhibition_update(
        actor=curator,
        exhibition_id=exhibition.pk,
        data=replace(
            data,
            categories=[("Gốm sứ", "Ceramics"), ("Đặc sản", "Specialties")],
            banner=upload(jpeg_with_secrets(size=(1600, 600)), "bia.jpg"),
        ),
    )
    exhibition.refresh_from_db()
    with Image.open(exhibition.banner) as banner:
        assert (banner.format, banner.size) == ("WEBP", (1280, 480))
    assert len(media_files() - before) == 1
