"""Small square renditions of stored photos, for the places that show them as icons.

A product's photo is kept at up to 1200 px (merchants.services.photo_compressed); the POS shows it
as a 48 px square, so a phone would download ~100–250 KB per button. The rendition sits next to
the photo in the same storage (``products/2026/12/ca-thu.jpg`` →
``products/2026/12/ca-thu.96.webp``) and is made on first use, so photos stored before this
existed get one too. Whoever serves the media (Django in development, Caddy in production)
serves it like any other upload.
"""

from __future__ import annotations

import io
import logging
import os

from django.core.files.base import ContentFile
from django.db.models.fields.files import FieldFile
from PIL import Image, ImageOps

log = logging.getLogger(__name__)

# 48 CSS px on a 2× screen.
POS_THUMB_SIDE = 96


def thumb_name(name: str, side: int) -> str:
    stem, _ext = os.path.splitext(name)
    return f"{stem}.{side}.webp"


def make_thumbnail(photo: FieldFile, side: int = POS_THUMB_SIDE) -> str:
    """Write the ``side`` × ``side`` rendition of ``photo`` (cropped to fill); return its name."""
    storage, name = photo.storage, thumb_name(photo.name or "", side)
    with storage.open(photo.name or "", "rb") as source, Image.open(source) as image:
        image.draft("RGB", (side * 2, side * 2))  # JPEG: decode at a fraction of the size
        square = ImageOps.fit(image.convert("RGB"), (side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    square.save(buffer, format="WEBP", quality=75, method=4)
    if storage.exists(name):  # made meanwhile by another request
        return name
    return storage.save(name, ContentFile(buffer.getvalue()))


def thumbnail_url(photo: FieldFile | None, side: int = POS_THUMB_SIDE) -> str:
    """The rendition's URL, made now if missing; the photo's own URL if it cannot be made."""
    if not photo:
        return ""
    name = thumb_name(photo.name or "", side)
    try:
        if not photo.storage.exists(name):
            name = make_thumbnail(photo, side)
    except (OSError, ValueError, Image.DecompressionBombError):
        log.warning("no %spx thumbnail for %s", side, photo.name, exc_info=True)
        return photo.url
    return photo.storage.url(name)
