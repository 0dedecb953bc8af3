"""Booth and exhibition images, so a visitor on 3G downloads a few dozen KB, not a phone camera's
5 MB. Every upload goes through core.uploads first (bytes, real type, pixels, bounded decoding,
no metadata kept); this module only says which box and format each image gets. Nothing here
writes to storage: services save the results with ``core.uploads.saving()``."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from PIL import Image

from core import pdf_check, uploads

LOGO_BOX = (256, 256)
BANNER_BOX = (1280, 480)
GALLERY_BOX = (1280, 1280)
GALLERY_THUMB_BOX = (480, 480)
PRODUCT_THUMB_BOX = (480, 480)
# The viewer draws the panorama as one WebGL texture: 4096 px is what every phone GPU takes.
PANORAMA_BOX = (4096, 2048)
WEBP_QUALITY = 78


@dataclass(frozen=True)
class Resized:
    content: ContentFile
    width: int
    height: int


def _resized(clean: uploads.CleanImage | None) -> Resized | None:
    return None if clean is None else Resized(clean.content, clean.width, clean.height)


def webp(
    upload: UploadedFile | None, *, field: str, box: tuple[int, int], name: str
) -> Resized | None:
    """An upload as a WebP no larger than ``box`` (never enlarged)."""
    return _resized(
        uploads.clean_image(
            upload, field=field, box=box, fmt="WEBP", quality=WEBP_QUALITY, name=name
        )
    )


def panorama(upload: UploadedFile | None) -> Resized | None:
    """A 2:1 equirectangular panorama as a JPEG of at most 4096 × 2048, where WebGL is safest. A
    16K camera JPEG is decoded at half size, never whole."""
    return _resized(
        uploads.clean_image(
            upload,
            field="panorama",
            box=PANORAMA_BOX,
            fmt="JPEG",
            kind=uploads.PANORAMA,
            name="pano",
        )
    )


def gallery_photo(upload: UploadedFile) -> tuple[Resized, Resized]:
    """A gallery photo at 1280 px and its 480 px copy, from one bounded decoding."""
    checked = uploads.check_image(upload, field="photo")
    image = checked.decode(GALLERY_BOX)
    try:
        big = uploads.encode_image(image, fmt="WEBP", name="photo", quality=WEBP_QUALITY)
        image.thumbnail(GALLERY_THUMB_BOX, Image.Resampling.LANCZOS)
        small = uploads.encode_image(image, fmt="WEBP", name="photo-480", quality=WEBP_QUALITY)
    finally:
        image.close()
    return (
        Resized(big.content, big.width, big.height),
        Resized(small.content, small.width, small.height),
    )


def product_thumb(data: bytes, *, name: str) -> Resized:
    """A 480 px WebP of a catalogue photo already stored (checked again all the same)."""
    checked = uploads.check_image_data(data, field="photo")
    image = checked.decode(PRODUCT_THUMB_BOX)
    try:
        clean = uploads.encode_image(image, fmt="WEBP", name=name, quality=WEBP_QUALITY)
    finally:
        image.close()
    return Resized(clean.content, clean.width, clean.height)


def read_pdf(upload: UploadedFile | None) -> bytes | None:
    """A booth's document: parsed as a PDF with pages and nothing that runs (core.pdf_check)."""
    return pdf_check.check_pdf(upload, field="document")
