"""Files to upload in tests (issue 13): decompression bombs, phone photos with secrets in their
metadata, PDFs good and bad. Every one is made here, in memory, small."""

from __future__ import annotations

import io
import struct
import zlib

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, PngImagePlugin

GPS_IFD = 0x8825
ORIENTATION = 0x0112
SECRET_COMMENT = b"Nha rieng: 12 Le Duan, Da Nang"
SECRET_MAKE = "Samsung SM-S928B serial R5CX1234"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A 1-bit black PNG of ``width`` × ``height``: tens of KB that would decode to hundreds of
    MB. Compressed row by row, so making it never holds more than one row."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    body = bytearray()
    for _ in range(height):
        body += compressor.compress(row)
    body += compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", bytes(body))
        + png_chunk(b"IEND", b"")
    )


def upload(data: bytes, name: str = "anh.jpg", content_type: str = "image/jpeg"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def jpeg_with_secrets(size=(640, 480), orientation: int | None = None) -> bytes:
    """A phone-like JPEG with a COM comment, EXIF (the camera, a GPS position) and XMP."""
    image = Image.new("RGB", size, (30, 120, 200))
    image.paste((220, 60, 30), (0, 0, size[0] // 2, size[1] // 4))  # a red block, top left
    exif = Image.Exif()
    exif[0x010F] = SECRET_MAKE  # Make
    exif[GPS_IFD] = {1: "N", 2: (16.0, 4.0, 7.0), 3: "E", 4: (108.0, 13.0, 30.0)}
    if orientation is not None:
        exif[ORIENTATION] = orientation
    buffer = io.BytesIO()
    image.save(
        buffer,
        format="JPEG",
        quality=90,
        exif=exif,
        comment=SECRET_COMMENT,
        xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">GPS 16.0677 108.2208</x:xmpmeta>',
    )
    return buffer.getvalue()


def png_with_text(size=(120, 80)) -> bytes:
    """A small PNG with text chunks (author, GPS) and an ICC profile chunk."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Nguyen Van A, 0905 111 002")
    info.add_itxt("GPS", "16.0677, 108.2208")
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 160, 90)).save(
        buffer, format="PNG", pnginfo=info, icc_profile=b"\x00" * 128
    )
    return buffer.getvalue()


def jpeg_markers(data: bytes) -> list[int]:
    """The marker bytes of a JPEG's segments up to its first scan (0xFE is a COM, 0xE1 EXIF/XMP)."""
    assert data[:2] == b"\xff\xd8"
    markers, pos = [], 2
    while pos < len(data):
        assert data[pos] == 0xFF
        marker = data[pos + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        pos += 2 + length
    return markers


def png_chunks(data: bytes) -> list[bytes]:
    chunks, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunks.append(data[pos + 4 : pos + 8])
        pos += 12 + length
    return chunks


# --- PDFs -------------------------------------------------------------------------------------


def pdf_from_objects(objects: list[bytes], trailer_extra: bytes = b"") -> bytes:
    """A PDF of these objects (numbered from 1, object 1 the catalogue) with a correct classic
    cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer_extra,
        xref,
    )
    return bytes(out)


def minimal_pdf(
    catalog_extra: bytes = b"",
    page_extra: bytes = b"",
    extra_objects: tuple[bytes, ...] = (),
    trailer_extra: bytes = b"",
) -> bytes:
    """One A4 page saying "Bang gia" (objects 1–4); extra objects are numbered from 5."""
    content = b"BT /F1 24 Tf 72 720 Td (Bang gia) Tj ET"
    return pdf_from_objects(
        [
            b"<< /Type /Catalog /Pages 2 0 R " + catalog_extra + b">>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            + page_extra
            + b">>",
            b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
            *extra_objects,
        ],
        trailer_extra=trailer_extra,
    )


def object_stream(text: bytes) -> bytes:
    """An object stream (/ObjStm, deflated) holding object 9 = ``text``."""
    packed = zlib.compress(b"9 0 " + text)
    return (
        b"<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length %d >>\nstream\n" % len(packed)
        + packed
        + b"\nendstream"
    )


def weasyprint_pdf() -> bytes:
    """A real brochure from WeasyPrint: compressed, with object streams and an xref stream."""
    from weasyprint import HTML

    return HTML(string="<h1>Gốm Thanh Hà</h1><p>Bảng giá bình gốm, ấm chén.</p>").write_pdf()
