"""Small square renditions of stored photos, for the places that show them as icons.

A product's photo is kept at up to 1200 px (core.images.validated_photo); the POS shows it
as a 48 px square, so a phone would download ~100–250 KB per button. The rendition sits next to
the photo in the same storage (``products/2026/12/ca-thu.jpg`` →
``products/2026/12/ca-thu.96.webp``) and is written by the service that stores the photo, in the
same step (``core.uploads.saving``: a step that fails removes both). Pages only read: a photo
without its rendition (stored before renditions existed) is shown as it is. Whoever serves the
media (Django in development, Caddy in production) serves it like any other upload.
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


def thumbnail_content(photo: FieldFile, side: int = POS_THUMB_SIDE) -> ContentFile:
    """The ``side`` × ``side`` rendition of ``photo`` (cropped to fill), as WebP bytes."""
    with photo.storage.open(photo.name or "", "rb") as source, Image.open(source) as image:
        image.draft("RGB", (side * 2, side * 2))  # JPEG: decode at a fraction of the size
        square = ImageOps.fit(image.convert("RGB"), (side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    square.save(buffer, format="WEBP", quality=75, method=4)
    return ContentFile(buffer.getvalue())


def thumbnail_url(photo: FieldFile | None, side: int = POS_THUMB_SIDE) -> str:
    """The rendition's URL, or the photo's own when it has none. Reads only: no page writes."""
    if not photo:
        return ""
    name = thumb_name(photo.name or "", side)
    try:
        if photo.storage.exists(name):
            return photo.storage.url(name)
    except OSError:
        log.warning("cannot look for the %spx thumbnail of %s", side, photo.name, exc_info=True)
    return photo.url
