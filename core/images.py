"""Catalogue and storefront photos: checked and shrunk before anything is stored.

Shared by merchants (product photos) and market (storefront photos); virtual_expo's booth images
have their own boxes (virtual_expo.images). Every check is core.uploads'.
"""

from __future__ import annotations

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile

from core import uploads

# Catalogue and storefront photos come straight from a phone camera (4000 × 3000, 3–10 MB): kept
# at 1200 px on the long side, re-encoded without their EXIF (GPS position, camera serial), they
# weigh ~100–250 KB, which a shopper on 3G can wait for. Every check is core.uploads'.
PHOTO_MAX_SIDE = 1200
PHOTO_JPEG_QUALITY = 80


def validated_photo(photo: UploadedFile | None, *, field: str = "photo") -> ContentFile | None:
    """The upload checked by ``core.uploads`` (bytes, real JPEG/PNG/WebP, pixels) before anything
    is decoded, decoded within bounds, turned upright by its EXIF orientation, shrunk to
    ``PHOTO_MAX_SIDE`` px on the long side and re-encoded without metadata: JPEG (alpha on
    white), WebP stays WebP, a small PNG (a drawn logo) stays a lossless PNG."""
    clean = uploads.clean_image(
        photo,
        field=field,
        box=(PHOTO_MAX_SIDE, PHOTO_MAX_SIDE),
        fmt="auto",
        quality=PHOTO_JPEG_QUALITY,
    )
    return None if clean is None else clean.content
