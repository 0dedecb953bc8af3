"""Every file a user uploads is checked in memory before anything is written (issue 13): images
here, PDFs in ``core/pdf_check.py``; both read the upload and its limit through this module.

Images (catalogue and storefront photos, stall-application documents, booth logos, gallery
photos and panoramas, exhibition banners):

1. **bytes**: at most the kind's limit (``max_bytes``), judged by the size Django counted while
   receiving the file, before it is read;
2. **type by content**: Pillow opens it with only its JPEG, PNG and WebP readers, whatever the
   file's name or declared content type (a GIF or an HTML page named ``.jpg`` is refused);
3. **pixels, from the header, before anything is decoded**: at most ``MAX_SOURCE_PIXELS``.
   Pillow's own guard (``Image.MAX_IMAGE_PIXELS``) is set to the same figure, so whatever Pillow
   opens in this process stops with ``DecompressionBombError`` beyond twice that, which is caught
   here too. PNG and WebP cannot be decoded at a reduced size, so they get the smaller
   ``MAX_DECODE_PIXELS``;
4. **bounded decoding**: a JPEG is decoded at 1/2, 1/4 or 1/8 scale (``draft``) to just above
   the size it will be stored at, so a 16000 × 8000 panorama is decoded as 8000 × 4000 (96 MB),
   not 128 megapixels (384 MB, and over a gigabyte once converted and resized);
5. **downscaled** to the kind's box, turned upright by its EXIF orientation
   (``ImageOps.exif_transpose``), and **re-encoded from the pixels alone**: no EXIF (GPS
   position, camera serial), no JPEG comment, no XMP, no ICC profile, no PNG text chunks.

PDFs are parsed, not sniffed: ``core/pdf_check.py`` (``check_pdf``), reading the upload with
``read_upload`` and the limit of ``max_bytes(PDF)`` from here.

What the checks return is bytes in memory (``ContentFile``); services write them with
``saving()``, which removes what it wrote when anything later in the same step fails, so a
rejected form leaves no file behind.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, Literal

from django import forms
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage
from django.core.files.uploadedfile import UploadedFile
from django.db.models.fields.files import FieldFile
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ValidationFailed
from .text import search_key

PHOTO = "photo"
PANORAMA = "panorama"
PDF = "pdf"

IMAGE_FORMATS = ("JPEG", "PNG", "WEBP")
IMAGE_ACCEPT = "image/jpeg,image/png,image/webp"
# A 16K × 8K equirectangular panorama: the largest source accepted, read from the header.
MAX_SOURCE_PIXELS = 16384 * 8192
# What is ever decoded at once: 6000 × 6000, 108 MB as RGB. A JPEG within MAX_SOURCE_PIXELS
# always decodes below it (draft); a PNG or WebP must itself be within it.
MAX_DECODE_PIXELS = 36_000_000
# Set explicitly, process-wide: Pillow warns above this and refuses (DecompressionBombError)
# above twice this, whoever opens an image.
Image.MAX_IMAGE_PIXELS = MAX_SOURCE_PIXELS

PANORAMA_RATIO_TOLERANCE = 0.05
SMALL_PNG_BYTES = 200 * 1024  # a drawn logo: kept as a lossless PNG by format="auto"
_ORIENTATION = 0x0112
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)
# Whatever else a reader raises on crafted bytes means the same: not an image we can read.
_BROKEN = (Exception,)

OutputFormat = Literal["JPEG", "WEBP", "PNG", "auto"]


def max_bytes(kind: str) -> int:
    if kind == PANORAMA:
        return int(settings.MAX_UPLOAD_PANORAMA_BYTES)
    if kind == PDF:
        return int(settings.MAX_UPLOAD_PDF_BYTES)
    return int(settings.MAX_UPLOAD_IMAGE_BYTES)


def megabytes(limit: int) -> int:
    """A byte limit in whole MB, for the messages that name it."""
    return limit // (1024 * 1024)


def _fail(field: str, message: Any) -> ValidationFailed:
    return ValidationFailed(fields={field: [message]})


def _too_many_pixels(field: str) -> ValidationFailed:
    return _fail(
        field,
        _("Ảnh có quá nhiều điểm ảnh (tối đa %(mp)s megapixel); hãy gửi ảnh nhỏ hơn.")
        % {"mp": MAX_SOURCE_PIXELS // 1_000_000},
    )


def _not_an_image(field: str) -> ValidationFailed:
    return _fail(field, _("Tệp tải lên không phải là ảnh hợp lệ."))


def read_upload(upload: UploadedFile | File, *, field: str, limit: int, too_big: Any) -> bytes:
    """The upload's bytes, refused before reading when Django counted more than ``limit``."""
    if upload.size is not None and upload.size > limit:
        raise _fail(field, too_big)
    upload.seek(0)
    data = upload.read(limit + 1)
    upload.seek(0)
    if len(data) > limit:
        raise _fail(field, too_big)
    return data


def file_stem(name: str | None, default: str = "anh") -> str:
    """A safe ASCII stem from an upload's name: "IMG 2026 (1).JPG" -> "img-2026-1"."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    if "." in base:
        base = base.rsplit(".", 1)[0]
    return slugify(search_key(base))[:60] or default


# --- images -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageHeader:
    format: str
    width: int  # as stored, before the EXIF orientation is applied
    height: int
    orientation: int  # EXIF 1–8

    @property
    def upright_size(self) -> tuple[int, int]:
        if self.orientation in (5, 6, 7, 8):
            return self.height, self.width
        return self.width, self.height


def _claims_an_allowed_format(data: bytes) -> bool:
    """The file starts like a JPEG, PNG or WebP: when Pillow still cannot read it, it is a broken
    image (whichever step of the reader gave up on its bytes), not a file of another kind."""
    return (
        data.startswith(b"\xff\xd8\xff")
        or data.startswith(b"\x89PNG\r\n\x1a\n")
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
    )


def inspect_image(data: bytes, *, field: str) -> ImageHeader:
    """Format and size from the header only (nothing is decoded), refused unless a JPEG, PNG or
    WebP within the pixel limits."""
    try:
        with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
            fmt, (width, height) = str(image.format), image.size
            orientation = 1
            if fmt in ("JPEG", "WEBP"):  # a PNG's EXIF may follow its pixels: not read here
                with suppress(Exception):
                    orientation = int(image.getexif().get(_ORIENTATION, 1) or 1)
    except _BOMB:
        raise _too_many_pixels(field) from None
    except UnidentifiedImageError:
        if _claims_an_allowed_format(data):  # a JPEG/PNG/WebP signature, unreadable after it
            raise _not_an_image(field) from None
        raise _fail(field, _("Ảnh phải là JPEG, PNG hoặc WebP.")) from None
    except _BROKEN:
        raise _not_an_image(field) from None
    if fmt not in IMAGE_FORMATS:
        raise _fail(field, _("Ảnh phải là JPEG, PNG hoặc WebP."))
    if width < 1 or height < 1 or _truncated(fmt, data):
        raise _not_an_image(field)
    if width * height > MAX_SOURCE_PIXELS:
        raise _too_many_pixels(field)
    if fmt != "JPEG" and width * height > MAX_DECODE_PIXELS:
        raise _fail(
            field,
            _("Ảnh PNG hoặc WebP tối đa %(mp)s megapixel; ảnh lớn hơn hãy gửi dạng JPEG.")
            % {"mp": MAX_DECODE_PIXELS // 1_000_000},
        )
    return ImageHeader(fmt, width, height, orientation if 1 <= orientation <= 8 else 1)


def _truncated(fmt: str, data: bytes) -> bool:
    """Whether the file stops before its image data ends. Pillow would say so while decoding,
    unless ``ImageFile.LOAD_TRUNCATED_IMAGES`` is on, and WeasyPrint turns it on for the whole
    process when imported: so this is judged here, the same in every process."""
    if fmt == "PNG":
        return b"IEND\xaeB`\x82" not in data  # the closing chunk, with its fixed CRC
    if fmt == "WEBP":
        return len(data) < 8 + int.from_bytes(data[4:8], "little")  # the RIFF size
    # JPEG: walk the header segments to the first scan; an end-of-image marker must follow
    # (0xFF 0xD9 cannot occur inside entropy-coded data).
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xDA:
            return data.find(b"\xff\xd9", pos) < 0
        pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
    return True


@dataclass(frozen=True)
class CheckedImage:
    """An upload that passed every check that needs no decoding."""

    data: bytes
    header: ImageHeader
    field: str
    name: str | None = None

    def decode(self, box: tuple[int, int]) -> Image.Image:
        """The pixels, upright, no larger than ``box``, with no metadata left (``info`` empty).
        A JPEG is decoded at the smallest scale still covering the box."""
        field = self.field
        width, height = box
        if self.header.orientation in (5, 6, 7, 8):  # the box as the sensor saw it
            width, height = height, width
        try:
            opened = Image.open(io.BytesIO(self.data), formats=IMAGE_FORMATS)
            if opened.format == "JPEG":
                opened.draft(None, _fit(opened.size, (width, height)))
            if opened.width * opened.height > MAX_DECODE_PIXELS:
                opened.close()
                raise _too_many_pixels(field)
            opened.load()
            image = _plain_mode(opened)
            image.thumbnail((width, height), Image.Resampling.LANCZOS)
            with suppress(Exception):  # a malformed EXIF block: the photo as it was stored
                ImageOps.exif_transpose(image, in_place=True)
        except ValidationFailed:
            raise
        except _BOMB:
            raise _too_many_pixels(field) from None
        except _BROKEN:
            raise _not_an_image(field) from None
        if image.width > box[0] or image.height > box[1]:  # a PNG turned by its late EXIF
            image.thumbnail(box, Image.Resampling.LANCZOS)
        image.info = {}  # EXIF, XMP, comment, ICC profile, PNG text: none is written back
        return image


def _fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    scale = min(box[0] / size[0], box[1] / size[1], 1.0)
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


def _plain_mode(image: Image.Image) -> Image.Image:
    """RGB, RGBA or L: what resizing and every encoder handle (palettes, 16-bit, CMYK are not)."""
    alpha = _has_alpha(image)
    if image.mode == "RGBA" or (image.mode in ("RGB", "L") and not alpha):
        return image
    converted = image.convert("RGBA" if alpha else "RGB")
    image.close()
    return converted


def check_image(upload: UploadedFile | File, *, field: str, kind: str = PHOTO) -> CheckedImage:
    """Bytes, real type and pixels, without decoding; a panorama must also be 2:1."""
    limit = max_bytes(kind)
    data = read_upload(
        upload,
        field=field,
        limit=limit,
        too_big=_("Ảnh quá lớn (tối đa %(mb)s MB).") % {"mb": megabytes(limit)},
    )
    header = inspect_image(data, field=field)
    if kind == PANORAMA:
        width, height = header.upright_size
        if abs(width / height - 2) > PANORAMA_RATIO_TOLERANCE:
            raise _fail(field, _("Ảnh 360° phải là ảnh toàn cảnh tỉ lệ 2:1 (ví dụ 4096 × 2048)."))
    return CheckedImage(data, header, field, getattr(upload, "name", None))


def check_image_data(data: bytes, *, field: str) -> CheckedImage:
    """Bytes already held (a stored photo being copied): the same checks but the byte limit."""
    return CheckedImage(data, inspect_image(data, field=field), field)


@dataclass(frozen=True)
class CleanImage:
    content: ContentFile
    width: int
    height: int
    format: str


def encode_image(image: Image.Image, *, fmt: str, name: str, quality: int = 80) -> CleanImage:
    """``image`` (from ``CheckedImage.decode``) as a JPEG (transparency on white), WebP or PNG."""
    buffer = io.BytesIO()
    if fmt == "JPEG":
        if _has_alpha(image):
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            image = flat
        elif image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(buffer, format="JPEG", quality=quality, optimize=True, progressive=True)
        extension = "jpg"
    elif fmt == "WEBP":
        image = image.convert("RGBA" if _has_alpha(image) else "RGB")
        image.save(buffer, format="WEBP", quality=quality, method=4)
        extension = "webp"
    elif fmt == "PNG":
        image.save(buffer, format="PNG", optimize=True)
        extension = "png"
    else:  # pragma: no cover - a programming error
        raise ValueError(fmt)
    return CleanImage(
        ContentFile(buffer.getvalue(), name=f"{name}.{extension}"), *image.size, format=fmt
    )


def clean_image(
    upload: UploadedFile | File | None,
    *,
    field: str,
    box: tuple[int, int],
    fmt: OutputFormat,
    kind: str = PHOTO,
    quality: int = 80,
    name: str | None = None,
) -> CleanImage | None:
    """Check, decode within bounds, shrink to ``box`` and re-encode without metadata.

    ``fmt="auto"``: a WebP stays WebP, a small PNG (a drawn logo) stays a lossless PNG, anything
    else becomes a JPEG. ``name`` is the stored file's stem (default: from the upload's name)."""
    if upload is None:
        return None
    checked = check_image(upload, field=field, kind=kind)
    if fmt == "auto":
        source = checked.header.format
        if source == "WEBP":
            fmt = "WEBP"
        elif source == "PNG" and len(checked.data) <= SMALL_PNG_BYTES:
            fmt = "PNG"
        else:
            fmt = "JPEG"
    image = checked.decode(box)
    try:
        return encode_image(image, fmt=fmt, name=name or file_stem(checked.name), quality=quality)
    finally:
        image.close()


class ImageUploadField(forms.FileField):
    """A form's image: refused at once when ``check_image`` would refuse it (bytes, real type,
    pixels; nothing decoded), with the same messages. The service decodes and stores it."""

    def __init__(self, *, kind: str = PHOTO, **kwargs: Any) -> None:
        self.kind = kind
        super().__init__(**kwargs)

    def to_python(self, data: Any) -> Any:
        upload = super().to_python(data)
        if upload is None:
            return None
        try:
            check_image(upload, field="file", kind=self.kind)
        except ValidationFailed as exc:
            raise forms.ValidationError(
                [message for messages in exc.fields.values() for message in messages]
            ) from None
        return upload

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        if isinstance(widget, forms.FileInput) and "accept" not in widget.attrs:
            attrs["accept"] = IMAGE_ACCEPT
        return attrs


# --- writing ----------------------------------------------------------------------------------


class FilesWritten:
    """The files one step wrote to storage, removed again if the step fails."""

    def __init__(self) -> None:
        self._written: list[tuple[Storage, str]] = []

    def save(self, field_file: FieldFile, content: File, name: str | None = None) -> None:
        field_file.save(name or content.name or "tep", content, save=False)
        self._written.append((field_file.storage, str(field_file.name)))

    def save_as(self, storage: Storage, name: str, content: File) -> str:
        """Write ``content`` as ``name`` (a rendition next to a file saved in this step)."""
        saved = storage.save(name, content)
        self._written.append((storage, saved))
        return saved

    def discard(self) -> None:
        for storage, name in reversed(self._written):
            with suppress(OSError):
                storage.delete(name)
        self._written.clear()


@contextmanager
def saving() -> Iterator[FilesWritten]:
    """Write files for a step that may still fail: ``with saving() as files, atomic(): ...
    files.save(obj.photo, content)``. An exception leaving the block (a constraint, a later
    validation) deletes what was written, after the transaction rolled back."""
    files = FilesWritten()
    try:
        yield files
    except BaseException:
        files.discard()
        raise
