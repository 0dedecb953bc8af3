"""core.qr: the QR images every app draws (VietQR payloads, receipt and invoice links)."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from core.qr import qr_png, qr_svg

# Public vectors from the payments fact sheet (shared/reference/payments.md §1).
VIETINBANK_DYNAMIC = (
    "00020101021238570010A00000072701270006970415011300110019324180208QRIBFTTA"
    "530370454061200005802VN62170813ung ho lu lut6304C15C"
)
ACB_STATIC = (
    "00020101021138530010A0000007270123000697041601092576788590208QRIBFTTA53037045802VN6304AE9F"
)


def test_it_renders_a_png_a_scanner_reads_back() -> None:
    png = qr_png(VIETINBANK_DYNAMIC)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(png)) as image:
        image.load()
        assert image.format == "PNG"
        assert image.width == image.height > 100
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [VIETINBANK_DYNAMIC]


def test_it_sizes_the_png_from_box_size_and_border() -> None:
    with Image.open(io.BytesIO(qr_png(ACB_STATIC, box_size=8, border=4))) as small:
        modules = small.width // 8 - 8
    with Image.open(io.BytesIO(qr_png(ACB_STATIC, box_size=10, border=2))) as large:
        assert large.width == (modules + 4) * 10
    assert (modules - 17) % 4 == 0  # a valid QR version: 17 + 4 * version modules


def test_it_renders_an_svg_string() -> None:
    svg = qr_svg(VIETINBANK_DYNAMIC)
    assert isinstance(svg, str)
    assert "<svg" in svg
    assert "<path" in svg


def test_it_draws_any_text_such_as_a_receipt_link() -> None:
    link = "https://choso.example/bien-nhan/abc123/"
    with Image.open(io.BytesIO(qr_png(link))) as image:
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [link]


@pytest.mark.parametrize("bad", ["", None, b"bytes"])
def test_it_refuses_to_render_an_empty_or_non_text_payload(bad) -> None:
    with pytest.raises((ValueError, TypeError), match="payload"):
        qr_png(bad)


@pytest.mark.parametrize(("box_size", "border"), [(0, 4), (8, -1)])
def test_it_refuses_a_size_no_scanner_can_read(box_size: int, border: int) -> None:
    with pytest.raises(ValueError):
        qr_png(ACB_STATIC, box_size=box_size, border=border)
