"""QR images (PNG and SVG) of any text: a VietQR payload, a receipt's or an invoice's link.

The shared floor under the engines: payments draws its VietQR payloads with it, einvoice the
lookup link on an invoice's PDF, market the standee, the POS receipt and the web-shop order.
What the text says is the caller's business (payments.vietqr builds and checks the payload).
"""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
from qrcode.image.svg import SvgPathImage


def _qr_code(text: str, *, box_size: int = 10, border: int = 4) -> qrcode.QRCode:
    if not isinstance(text, str):
        raise TypeError(f"payload must be a string, got {type(text).__name__} {text!r}")
    if not text:
        raise ValueError("payload is empty")
    if box_size < 1:
        raise ValueError(f"box_size must be at least 1, got {box_size}")
    if border < 0:
        raise ValueError(f"border must not be negative, got {border}")
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=box_size, border=border
    )
    code.add_data(text)
    code.make(fit=True)
    return code


def qr_png(payload: str, *, box_size: int = 8, border: int = 4) -> bytes:
    """Render ``payload`` as a PNG QR code (error correction M); returns the PNG bytes.

    ``box_size`` is pixels per module, ``border`` the quiet zone in modules
    (scanners expect at least 4).
    """
    image = _qr_code(payload, box_size=box_size, border=border).make_image()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def qr_svg(payload: str) -> str:
    """Render ``payload`` as an SVG QR code (one ``<path>``, error correction M)."""
    image = _qr_code(payload).make_image(image_factory=SvgPathImage)
    return image.to_string(encoding="unicode")
