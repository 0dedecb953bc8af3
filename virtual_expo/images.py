"""Server-side resizing of booth images, so a visitor on 3G downloads a few dozen KB, not a
phone camera's 5 MB. Uploads are first checked by merchants.services._validated_photo."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps

from core.errors import ValidationFailed
from merchants.services import _validated_photo

PDF_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class Resized:
    content: ContentFile
    width: int
    height: int


def _open(data: bytes) -> Image.Image:
    image: Image.Image = Image.open(io.BytesIO(data))
    image = ImageOps.exif_transpose(image)  # phone photos: honour the rotation flag
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    return image


def resize(
    data: bytes, *, max_width: int, max_height: int, name: str, quality: int = 78
) -> Resized:
    """WebP no larger than the box (never enlarged)."""
    image = _open(data)
    image.thumbnail((max_width, max_height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", quality=quality, method=4)
    return Resized(ContentFile(buffer.getvalue(), name=f"{name}.webp"), *image.size)


def resize_jpeg(data: bytes, *, max_width: int, max_height: int, name: str) -> Resized:
    """JPEG for panoramas: the viewer draws it as a WebGL texture, where JPEG is safest."""
    image = _open(data).convert("RGB")
    image.thumbnail((max_width, max_height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80, optimize=True, progressive=True)
    return Resized(ContentFile(buffer.getvalue(), name=f"{name}.jpg"), *image.size)


def read_photo(upload: UploadedFile | None, field: str) -> bytes | None:
    """The upload's bytes after the catalogue's checks (size, real JPEG/PNG/WebP)."""
    if upload is None:
        return None
    try:
        checked = _validated_photo(upload)
    except ValidationFailed as exc:
        raise ValidationFailed(fields={field: exc.fields.get("photo", [exc.message])}) from None
    assert checked is not None
    return checked.read()


def check_panorama(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    if height == 0 or abs(width / height - 2) > 0.05:
        raise ValidationFailed(
            fields={
                "panorama": [_("Ảnh 360° phải là ảnh toàn cảnh tỉ lệ 2:1 (ví dụ 4096 × 2048).")]
            }
        )


def read_pdf(upload: UploadedFile | None) -> bytes | None:
    if upload is None:
        return None
    if upload.size and upload.size > PDF_MAX_BYTES:
        raise ValidationFailed(fields={"document": [_("Tài liệu PDF tối đa 10 MB.")]})
    data = upload.read()
    if not data.startswith(b"%PDF-"):
        raise ValidationFailed(fields={"document": [_("Tài liệu phải là tệp PDF.")]})
    return data


def max_upload_bytes() -> int:
    return int(settings.MAX_UPLOAD_IMAGE_BYTES)
