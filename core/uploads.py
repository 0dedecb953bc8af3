"""Every file a user uploads is checked here, in memory, before anything is written (issue 13).

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

PDFs are parsed, not sniffed (``check_pdf``): header, ``startxref`` → a cross-reference table or
stream inside the file whose every entry points at its object, a catalogue, at least one page,
no encryption, and none of the entries that make a reader act on its own (JavaScript,
OpenAction other than "open at this page", Launch, embedded files, …).

What the checks return is bytes in memory (``ContentFile``); services write them with
``saving()``, which removes what it wrote when anything later in the same step fails, so a
rejected form leaves no file behind.
"""

from __future__ import annotations

import io
import re
import zlib
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


def _mb(limit: int) -> int:
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
        too_big=_("Ảnh quá lớn (tối đa %(mb)s MB).") % {"mb": _mb(limit)},
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


# --- PDF --------------------------------------------------------------------------------------


class _PdfRefused(Exception):
    def __init__(self, message: Any) -> None:
        super().__init__(str(message))
        self.message = message


def _damaged() -> _PdfRefused:
    return _PdfRefused(
        _("Tệp PDF bị hỏng hoặc không đọc được; hãy xuất lại tệp PDF rồi tải lên lần nữa.")
    )


_PDF_HEADER = re.compile(rb"%PDF-(?:1\.[0-7]|2\.0)[\r\n]")
_PDF_TAIL = re.compile(rb"startxref\s+(\d{1,10})\s+%%EOF\s*\Z")
_OBJ_AT = re.compile(rb"\s*(\d{1,10})\s+(\d{1,5})\s+obj(?![A-Za-z])")
_OBJ_START = re.compile(rb"(?<![0-9])(\d{1,10})\s+(\d{1,5})\s+obj(?![A-Za-z])")
_STREAM_KW = re.compile(rb"(?<![A-Za-z])stream(?:\r\n|\n|\r)")
_ENDSTREAM = re.compile(rb"\s*endstream(?![A-Za-z])")
_XREF_SUBSECTION = re.compile(rb"\s*(\d{1,10})\s+(\d{1,7})(?=\s)")
_XREF_ROW = re.compile(rb"\s*(\d{10})\s(\d{5})\s([nf])")
_TRAILER = re.compile(rb"\s*trailer\s*")
_EOL = re.compile(rb"[\r\n]")
_NAME = re.compile(rb"/([^\s/\[\]<>(){}%]*)")
_NAME_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
_END = rb"(?=[\s/\[\]<>(){}%]|\Z)"
_PAGE = re.compile(rb"/Type\s*/Page" + _END)
_CATALOG = re.compile(rb"/Type\s*/Catalog" + _END)
_LENGTH = re.compile(rb"/Length\s+(\d+)\b(?!\s+\d+\s+R\b)")
_ACTIVE = re.compile(
    rb"/(JavaScript|JS|Launch|EmbeddedFiles?|RichMedia|XFA|AA|SubmitForm|ImportData|GoToE|GoToR)"
    + _END
)
_OPEN_ACTION = re.compile(rb"/OpenAction\s*(.)", re.DOTALL)
_MAX_XREF_SECTIONS = 64
_MAX_XREF_ENTRIES = 1_000_000
_INFLATE_BUDGET = 64 * 1024 * 1024


def _pdf_names(text: bytes) -> bytes:
    """Names with their #xx escapes decoded: /J#61vaScript is /JavaScript to a reader."""
    return _NAME.sub(lambda m: b"/" + _NAME_HEX.sub(lambda h: bytes([int(h[1], 16)]), m[1]), text)


def _ref(text: bytes, key: bytes) -> int | None:
    m = re.search(rb"/" + key + rb"\s+(\d+)\s+\d+\s+R" + _END, text)
    return int(m[1]) if m else None


def _int(text: bytes, key: bytes) -> int | None:
    m = re.search(rb"/" + key + rb"\s+(\d+)" + _END, text)
    return int(m[1]) if m else None


def _ints(text: bytes, key: bytes) -> list[int] | None:
    m = re.search(rb"/" + key + rb"\s*\[([\d\s]*)\]", text)
    return [int(v) for v in m[1].split()] if m else None


class _PdfReader:
    """Enough of ISO 32000 to know a file is the PDF it claims to be."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.inflated = 0

    # - lexical helpers -

    def dict_end(self, pos: int) -> int:
        """The offset just after the dictionary that starts at ``pos`` (``<<``)."""
        data, depth, i, n = self.data, 0, pos, len(self.data)
        if not data.startswith(b"<<", pos):
            raise _damaged()
        while i < n:
            if data.startswith(b"<<", i):
                depth, i = depth + 1, i + 2
            elif data.startswith(b">>", i):
                depth, i = depth - 1, i + 2
                if depth == 0:
                    return i
            elif data[i] == 0x28:  # ( a literal string, with nesting and escapes
                i = self._string_end(i)
            elif data[i] == 0x3C:  # < a hex string
                end = data.find(b">", i)
                if end < 0:
                    break
                i = end + 1
            elif data[i] == 0x25:  # % a comment, to the end of the line
                eol = _EOL.search(data, i)
                i = eol.end() if eol else n
            else:
                i += 1
        raise _damaged()

    def _string_end(self, i: int) -> int:
        data, depth, n = self.data, 0, len(self.data)
        while i < n:
            c = data[i]
            if c == 0x5C:  # backslash escape
                i += 2
                continue
            if c == 0x28:
                depth += 1
            elif c == 0x29:
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        raise _damaged()

    def stream_payload(self, pos: int, dictionary: bytes) -> tuple[bytes, int]:
        """The payload of the stream whose keyword is at ``pos``, and the offset after it."""
        keyword = _STREAM_KW.match(self.data, pos)
        if keyword is None:
            raise _damaged()
        start = keyword.end()
        length = _LENGTH.search(dictionary)
        if length is not None:
            end = start + int(length[1])
            after = _ENDSTREAM.match(self.data, end) if end <= len(self.data) else None
            if after is not None:
                return self.data[start:end], after.end()
        found = re.compile(rb"endstream(?![A-Za-z])").search(self.data, start)
        if found is None:
            raise _damaged()
        return self.data[start : found.start()].rstrip(b"\r\n"), found.end()

    def inflate(self, payload: bytes, dictionary: bytes) -> bytes:
        filters = re.search(rb"/Filter\s*(\[[^\]]*\]|/[^\s/\[\]<>(){}%]+)", dictionary)
        if filters is None:
            return payload
        if re.findall(rb"/([^\s/\[\]<>(){}%]+)", filters[1]) != [b"FlateDecode"]:
            raise _damaged()
        budget = _INFLATE_BUDGET - self.inflated
        decompressor = zlib.decompressobj()
        try:
            out = decompressor.decompress(payload, budget)
        except zlib.error:
            raise _damaged() from None
        if decompressor.unconsumed_tail:
            raise _damaged()  # a decompression bomb, or far more structure than any document
        self.inflated += len(out)
        return out

    # - cross-reference -

    def read_xref(self, start: int) -> tuple[dict[int, tuple[int, int]], list[bytes]]:
        """Every section from ``startxref`` back through /Prev: objects (newest entry wins) as
        number -> (type 0 free / 1 at offset / 2 in object stream, offset or stream), and the
        trailers, newest first."""
        entries: dict[int, tuple[int, int]] = {}
        trailers: list[bytes] = []
        todo, seen = [start], set[int]()
        while todo:
            offset = todo.pop()
            if offset in seen or len(seen) >= _MAX_XREF_SECTIONS:
                raise _damaged()
            seen.add(offset)
            if not 0 < offset < len(self.data):
                raise _damaged()
            if self.data.startswith(b"xref", offset):
                trailer = self._xref_table(offset + 4, entries)
            else:
                trailer = self._xref_stream(offset, entries)
            trailers.append(trailer)
            previous, hybrid = _int(trailer, b"Prev"), _int(trailer, b"XRefStm")
            if previous is not None:
                todo.append(previous)
            if hybrid is not None:
                todo.append(hybrid)  # popped first: it belongs to this section
            if len(entries) > _MAX_XREF_ENTRIES:
                raise _damaged()
        return entries, trailers

    def _xref_table(self, pos: int, entries: dict[int, tuple[int, int]]) -> bytes:
        data = self.data
        while True:
            trailer = _TRAILER.match(data, pos)
            if trailer is not None:
                end = self.dict_end(trailer.end())
                return _pdf_names(data[trailer.end() : end])
            subsection = _XREF_SUBSECTION.match(data, pos)
            if subsection is None:
                raise _damaged()
            first, count = int(subsection[1]), int(subsection[2])
            if count > _MAX_XREF_ENTRIES:
                raise _damaged()
            pos = subsection.end()
            for number in range(first, first + count):
                row = _XREF_ROW.match(data, pos)
                if row is None:
                    raise _damaged()
                pos = row.end()
                entries.setdefault(number, (1, int(row[1])) if row[3] == b"n" else (0, 0))

    def _xref_stream(self, offset: int, entries: dict[int, tuple[int, int]]) -> bytes:
        head = _OBJ_AT.match(self.data, offset)
        if head is None:
            raise _damaged()
        start = head.end() + _leading_space(self.data, head.end())
        end = self.dict_end(start)
        dictionary = _pdf_names(self.data[start:end])
        if not re.search(rb"/Type\s*/XRef" + _END, dictionary):
            raise _damaged()
        payload, _after = self.stream_payload(end + _leading_space(self.data, end), dictionary)
        raw = self.inflate(payload, dictionary)
        widths = _ints(dictionary, b"W")
        size = _int(dictionary, b"Size")
        if widths is None or len(widths) != 3 or size is None or any(w > 8 for w in widths):
            raise _damaged()
        index = _ints(dictionary, b"Index") or [0, size]
        row = sum(widths)
        predictor = _int(dictionary, b"Predictor") or 1
        if predictor >= 10:
            raw = _png_unpredict(raw, _int(dictionary, b"Columns") or row)
        elif predictor != 1:
            raise _damaged()
        if row == 0 or len(index) % 2:
            raise _damaged()
        pos = 0
        for first, count in zip(index[::2], index[1::2], strict=True):
            for number in range(first, first + count):
                if pos + row > len(raw):
                    raise _damaged()
                fields, cursor = [], pos
                for width in widths:
                    fields.append(int.from_bytes(raw[cursor : cursor + width], "big"))
                    cursor += width
                pos += row
                kind = fields[0] if widths[0] else 1
                if kind == 1:
                    entries.setdefault(number, (1, fields[1]))
                elif kind == 2:
                    entries.setdefault(number, (2, fields[1]))
                else:
                    entries.setdefault(number, (0, 0))
        return dictionary

    # - the whole file -

    def skeleton(self) -> bytes:
        """The file with every stream's payload left out, plus the objects packed in object
        streams (inflated): all the dictionaries a reader could act on, names decoded."""
        data, parts, packed, pos = self.data, [], [], 0
        while True:
            head = _OBJ_START.search(data, pos)
            if head is None:
                parts.append(data[pos:])
                break
            parts.append(data[pos : head.end()])
            body = head.end()
            end_obj = data.find(b"endobj", body)
            stream = _STREAM_KW.search(data, body, end_obj if end_obj >= 0 else len(data))
            if stream is None:
                if end_obj < 0:
                    raise _damaged()
                parts.append(data[body : end_obj + 6])
                pos = end_obj + 6
                continue
            dictionary = _pdf_names(data[body : stream.start()])
            parts.append(dictionary)
            payload, pos = self.stream_payload(stream.start(), dictionary)
            if re.search(rb"/Type\s*/ObjStm" + _END, dictionary):
                packed.append(_pdf_names(self.inflate(payload, dictionary)))
        return b"\n".join([_pdf_names(b"".join(parts)), *packed])


def _leading_space(data: bytes, pos: int) -> int:
    m = re.compile(rb"\s*").match(data, pos)
    return m.end() - pos if m else 0


def _png_unpredict(raw: bytes, columns: int) -> bytes:
    """Undo the PNG predictors (/Predictor 10–15) of a stream of one-byte samples."""
    if columns < 1:
        raise _damaged()
    out, previous, i = bytearray(), bytearray(columns), 0
    while i < len(raw):
        kind, row = raw[i], bytearray(raw[i + 1 : i + 1 + columns])
        i += 1 + columns
        if len(row) != columns:
            raise _damaged()
        for j in range(columns):
            left = row[j - 1] if j else 0
            up, up_left = previous[j], (previous[j - 1] if j else 0)
            if kind == 1:
                row[j] = (row[j] + left) & 0xFF
            elif kind == 2:
                row[j] = (row[j] + up) & 0xFF
            elif kind == 3:
                row[j] = (row[j] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - up_left
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - up_left)
                nearest = left if pa <= pb and pa <= pc else up if pb <= pc else up_left
                row[j] = (row[j] + nearest) & 0xFF
            elif kind != 0:
                raise _damaged()
        out += row
        previous = row
    return bytes(out)


def pdf_problem(data: bytes) -> Any:
    """Why ``data`` is not a PDF to accept (a translatable message), or None."""
    if not _PDF_HEADER.match(data):
        return _("Tài liệu phải là tệp PDF.")
    try:
        return _pdf_problem(data)
    except _PdfRefused as refused:
        return refused.message
    except Exception:  # whatever the parser trips on in crafted bytes: refused, never a 500
        return _damaged().message


def _pdf_problem(data: bytes) -> Any:
    tail = _PDF_TAIL.search(data, max(0, len(data) - 2048))
    if tail is None:
        raise _damaged()
    reader = _PdfReader(data)
    entries, trailers = reader.read_xref(int(tail[1]))
    if any(re.search(rb"/Encrypt" + _END, trailer) for trailer in trailers):
        return _("Tệp PDF có mật khẩu hoặc bị mã hóa; hãy xuất lại tệp không đặt mật khẩu.")
    root = next((r for r in (_ref(t, b"Root") for t in trailers) if r is not None), None)
    if root is None or entries.get(root, (0, 0))[0] == 0:
        raise _damaged()
    for number, (kind, where) in entries.items():
        if kind == 1:
            head = _OBJ_AT.match(data, where) if 0 < where < len(data) else None
            if head is None or int(head[1]) != number:
                raise _damaged()
        elif kind == 2 and entries.get(where, (0, 0))[0] != 1:
            raise _damaged()
    text = reader.skeleton()
    if not _CATALOG.search(text):
        raise _damaged()
    if not _PAGE.search(text):
        return _("Tệp PDF không có trang nào.")
    opens = [m[1] for m in _OPEN_ACTION.finditer(text)]
    if _ACTIVE.search(text) or any(o != b"[" for o in opens):
        return _(
            "Tệp PDF có nội dung tự chạy hoặc tệp đính kèm (JavaScript, hành động khi mở, "
            "tệp nhúng…); hãy xuất lại thành PDF thường rồi tải lên."
        )
    return None


def check_pdf(upload: UploadedFile | File | None, *, field: str = "document") -> bytes | None:
    """The upload's bytes once parsed as a PDF with pages and nothing that acts on its own."""
    if upload is None:
        return None
    limit = max_bytes(PDF)
    data = read_upload(
        upload,
        field=field,
        limit=limit,
        too_big=_("Tài liệu PDF tối đa %(mb)s MB.") % {"mb": _mb(limit)},
    )
    problem = pdf_problem(data)
    if problem is not None:
        raise _fail(field, problem)
    return data
