"""The shopper's bank app: paste (or photograph) a VietQR code, confirm, transfer.

Three server-rendered pages, Vietnamese, sized for a 360 px phone, inline CSS, no script:
``GET /`` (paste or upload), ``POST /pay`` (confirmation form), ``POST /pay/confirm``
(transfer, then "Chuyển khoản thành công"). Every refusal is a :class:`TransferError` shown as
a Vietnamese message on the page, never a traceback.

The confirmation form carries a one-time token: submitting it twice (a reload, a double tap on a
slow network) shows the first transfer again instead of paying twice.
"""

from __future__ import annotations

import io
import secrets
from collections.abc import Mapping
from datetime import datetime
from email import policy
from email.parser import BytesParser
from html import escape
from typing import Any, Protocol
from urllib.parse import parse_qs

from .ledger import VIETNAM_TZ, TransferError, check_amount, decode_qr, format_vnd
from .napas import bank_by_bin

try:  # optional: reading a photo of a QR code
    import zxingcpp
except ImportError:  # pragma: no cover - zxing-cpp is a project dependency
    zxingcpp = None  # type: ignore[assignment]

PHOTO_SUPPORTED = zxingcpp is not None
MAX_PHOTO_PIXELS = 40_000_000
DEFAULT_COUNTER_ACCOUNT = "0011004123456"
DEFAULT_COUNTER_NAME = "NGUYEN VAN KHACH"

Form = dict[str, str]
Files = dict[str, bytes]
Page = tuple[int, str]


class Shopper(Protocol):
    """What the pages need from the sandbox."""

    def pay_qr(
        self,
        payload: str,
        *,
        amount: int | None = None,
        counter_account: str = "",
        counter_name: str = "",
        message: str = "",
        token: str | None = None,
    ) -> tuple[dict[str, Any], bool]: ...


# --------------------------------------------------------------------------- #
# Requests
# --------------------------------------------------------------------------- #


def parse_form(content_type: str, body: bytes) -> tuple[Form, Files]:
    """Decode an urlencoded or multipart form body into fields and uploaded files."""
    fields: Form = {}
    files: Files = {}
    if content_type.lower().startswith("multipart/form-data"):
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
        message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
        if not message.is_multipart():
            return fields, files
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            data = part.get_payload(decode=True)
            data = data if isinstance(data, bytes) else b""
            if part.get_filename() is not None:
                files[name] = data
            else:
                fields[name] = data.decode(part.get_content_charset() or "utf-8", "replace")
        return fields, files
    text = body.decode("utf-8", "replace")
    for name, values in parse_qs(text, keep_blank_values=True).items():
        fields[name] = values[0]
    return fields, files


def clean_payload(text: str) -> str:
    """A pasted payload without surrounding blanks or the line breaks chat apps insert."""
    return "".join(text.strip().splitlines())


def parse_amount_text(text: str) -> int:
    """``"150.000 đ"``, ``"150,000"`` or ``"150000"`` → ``150000``."""
    cleaned = text.strip().lower().removesuffix("vnd").removesuffix("đ").strip()
    for separator in (".", ",", " ", "\u00a0"):
        cleaned = cleaned.replace(separator, "")
    if not cleaned:
        raise TransferError("missing_amount", "Vui lòng nhập số tiền.", field="amount")
    if not cleaned.isdigit():
        raise TransferError(
            "invalid_amount", "Số tiền chỉ gồm chữ số, ví dụ 150.000.", field="amount"
        )
    return check_amount(int(cleaned))


def decode_photo(data: bytes) -> str:
    """The text of the first QR code in a photo."""
    if zxingcpp is None:  # pragma: no cover
        raise TransferError("photo_unsupported", "Chưa hỗ trợ đọc ảnh mã QR.", field="photo")
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PHOTO_PIXELS:
                raise TransferError("invalid_photo", "Ảnh quá lớn.", field="photo")
            gray = image.convert("L")
    except TransferError:
        raise
    except Exception:  # Pillow raises many kinds for a file that is not an image
        raise TransferError(
            "invalid_photo", "Không mở được tệp ảnh. Hãy chọn ảnh JPG hoặc PNG.", field="photo"
        ) from None
    only_qr = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    codes = zxingcpp.read_barcodes(gray, formats=only_qr)
    for code in codes:
        if code.text:
            return str(code.text)
    raise TransferError(
        "no_qr_in_photo",
        "Không tìm thấy mã QR trong ảnh. Hãy chụp rõ, đủ sáng và để mã nằm trọn trong khung.",
        field="photo",
    )


# --------------------------------------------------------------------------- #
# Flows
# --------------------------------------------------------------------------- #


def pay(form: Form, files: Files) -> Page:
    """``POST /pay``: decode the pasted payload (or photo) and show the confirmation form."""
    payload = clean_payload(form.get("payload", ""))
    photo = files.get("photo", b"")
    try:
        if not payload and photo:
            payload = decode_photo(photo)
        if not payload:
            raise TransferError(
                "missing_payload",
                "Vui lòng dán nội dung mã VietQR"
                + (" hoặc chọn ảnh chụp mã QR." if PHOTO_SUPPORTED else "."),
                field="payload",
            )
        decode_qr(payload)
    except TransferError as error:
        return 400, index_page(error=error, payload=payload)
    return 200, confirm_page(payload, token=secrets.token_urlsafe(16))


def confirm(shopper: Shopper, form: Form) -> Page:
    """``POST /pay/confirm``: make the transfer and show the receipt."""
    payload = clean_payload(form.get("payload", ""))
    try:
        qr = decode_qr(payload)
    except TransferError as error:
        return 400, index_page(error=error, payload=payload)
    try:
        amount = None if qr.amount is not None else parse_amount_text(form.get("amount", ""))
        transaction, created = shopper.pay_qr(
            payload,
            amount=amount,
            counter_account=form.get("counter_account", "").strip(),
            counter_name=form.get("counter_name", "").strip(),
            message=form.get("message", ""),
            token=form.get("token") or None,
        )
    except TransferError as error:
        return 400, confirm_page(payload, token=form.get("token", ""), error=error, form=form)
    return 200, success_page(transaction, replayed=not created)


# --------------------------------------------------------------------------- #
# Pages
# --------------------------------------------------------------------------- #

_CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
background:#f1f5f3;color:#1b2a23}
.bar{display:flex;gap:.75rem;align-items:center;padding:.75rem 1rem;background:#0b6e4f;color:#fff}
.logo{flex:none;width:2.25rem;height:2.25rem;border-radius:50%;background:#fff;color:#0b6e4f;
display:grid;place-items:center;font-weight:800}
.bar small{display:block;opacity:.85;font-size:.8rem}
main{max-width:26rem;margin:0 auto;padding:1rem}
h1{font-size:1.2rem;margin:.25rem 0 1rem}
.card{background:#fff;border-radius:.75rem;padding:1rem;margin-bottom:1rem;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
label{display:block;font-weight:600;margin:.9rem 0 .35rem}
label:first-child{margin-top:0}
textarea,input{width:100%;font:inherit;padding:.65rem .75rem;border:1px solid #b7c6be;
border-radius:.5rem;background:#fff;color:inherit}
textarea{min-height:7rem;font:.85rem/1.4 ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
input[type=file]{padding:.5rem;font-size:.9rem}
.btn{display:block;width:100%;margin-top:1rem;padding:.85rem;border:0;border-radius:.6rem;
background:#0b6e4f;color:#fff;font:inherit;font-weight:700;text-align:center;text-decoration:none}
.btn.quiet{background:#e2ebe6;color:#0b6e4f}
.error{background:#fdecea;color:#8a1c12;border:1px solid #f3c0ba;border-radius:.5rem;
padding:.75rem;margin:0 0 1rem;word-break:break-word}
.error small{display:block;margin-top:.35rem;color:#6f3b35;font-size:.8rem}
dl{margin:0}
dt{color:#5a6a62;font-size:.85rem;margin-top:.7rem}
dt:first-child{margin-top:0}
dd{margin:.1rem 0 0;font-weight:600;word-break:break-word}
.amount{font-size:1.6rem;color:#0b6e4f}
.hint{color:#5a6a62;font-size:.85rem;margin:.35rem 0 0}
details{margin-top:.9rem}
summary{color:#0b6e4f;font-weight:600}
.done{text-align:center}
.tick{width:3.5rem;height:3.5rem;margin:.25rem auto .5rem;border-radius:50%;background:#0b6e4f;
color:#fff;display:grid;place-items:center;font-size:2rem}
.done dl{text-align:left}
"""


def _layout(title: str, content: str) -> str:
    return (
        '<!doctype html>\n<html lang="vi">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} · Ngân hàng thử nghiệm</title>\n<style>{_CSS}</style>\n"
        "</head>\n<body>\n"
        '<header class="bar"><span class="logo" aria-hidden="true">NH</span><div>'
        "<strong>Ngân hàng thử nghiệm</strong>"
        "<small>Môi trường giả lập · không có tiền thật</small></div></header>\n"
        f"<main>\n{content}\n</main>\n</body>\n</html>\n"
    )


def _error_box(message: str | None, detail: str = "") -> str:
    if not message:
        return ""
    small = f"<small>Chi tiết kỹ thuật: {escape(detail)}</small>" if detail else ""
    return f'<p class="error" role="alert">{escape(message)}{small}</p>'


def index_page(*, error: TransferError | None = None, payload: str = "") -> str:
    photo = ""
    enctype = ""
    if PHOTO_SUPPORTED:
        enctype = ' enctype="multipart/form-data"'
        photo = (
            '<label for="photo">Hoặc chọn ảnh chụp mã QR</label>'
            '<input id="photo" name="photo" type="file" accept="image/*">'
        )
    content = (
        "<h1>Chuyển tiền bằng mã VietQR</h1>"
        f"{_error_box(error.message, error.detail) if error else ''}"
        f'<form class="card" method="post" action="/pay"{enctype}>'
        '<label for="payload">Dán nội dung mã VietQR</label>'
        f'<textarea id="payload" name="payload" spellcheck="false" autocomplete="off" '
        f'placeholder="000201010212...6304ABCD">{escape(payload)}</textarea>'
        '<p class="hint">Mã bắt đầu bằng 000201 và kết thúc bằng 6304 cùng 4 ký tự kiểm tra.</p>'
        f"{photo}"
        '<button class="btn" type="submit">Tiếp tục</button>'
        "</form>"
    )
    return _layout("Chuyển tiền bằng mã VietQR", content)


def _field(form: Mapping[str, str] | None, name: str, default: str) -> str:
    return escape(form.get(name, default) if form is not None else default)


def confirm_page(
    payload: str,
    *,
    token: str,
    error: TransferError | None = None,
    form: Mapping[str, str] | None = None,
) -> str:
    """The confirmation form for a payload that :func:`decode_qr` accepted."""
    qr = decode_qr(payload)
    bank = bank_by_bin(qr.bin)
    bank_text = f"{bank.short_name} — {bank.name}" if bank else qr.bin
    if qr.amount is None:
        amount = (
            '<label for="amount">Số tiền (đồng)</label>'
            f'<input id="amount" name="amount" inputmode="numeric" autocomplete="off" '
            f'placeholder="Ví dụ 150.000" value="{_field(form, "amount", "")}" required>'
        )
    else:
        amount = f'<dl><dt>Số tiền</dt><dd class="amount">{format_vnd(qr.amount)}</dd></dl>'
    if qr.purpose:
        message = f"<dl><dt>Nội dung</dt><dd>{escape(qr.purpose)}</dd></dl>"
    else:
        message = (
            '<label for="message">Nội dung chuyển khoản</label>'
            f'<input id="message" name="message" maxlength="50" autocomplete="off" '
            f'placeholder="Không bắt buộc" value="{_field(form, "message", "")}">'
        )
    kind = "Mã động (một lần, có sẵn số tiền)" if qr.initiation == "dynamic" else "Mã tĩnh"
    account_label = "Số thẻ nhận" if qr.is_card else "Số tài khoản nhận"
    content = (
        "<h1>Xác nhận chuyển khoản</h1>"
        f"{_error_box(error.message, error.detail) if error else ''}"
        '<form method="post" action="/pay/confirm">'
        f'<input type="hidden" name="payload" value="{escape(payload)}">'
        f'<input type="hidden" name="token" value="{escape(token)}">'
        '<div class="card"><dl>'
        f"<dt>Ngân hàng nhận</dt><dd>{escape(bank_text)}</dd>"
        f"<dt>{account_label}</dt><dd>{escape(qr.account)}</dd>"
        f"<dt>Loại mã</dt><dd>{kind}</dd>"
        "</dl></div>"
        f'<div class="card">{amount}{message}'
        "<details><summary>Tài khoản nguồn (giả lập)</summary>"
        '<label for="counter_account">Số tài khoản người chuyển</label>'
        f'<input id="counter_account" name="counter_account" autocomplete="off" '
        f'value="{_field(form, "counter_account", DEFAULT_COUNTER_ACCOUNT)}">'
        '<label for="counter_name">Tên người chuyển</label>'
        f'<input id="counter_name" name="counter_name" autocomplete="off" '
        f'value="{_field(form, "counter_name", DEFAULT_COUNTER_NAME)}">'
        "</details></div>"
        '<button class="btn" type="submit">Chuyển</button>'
        '<a class="btn quiet" href="/">Huỷ</a>'
        "</form>"
    )
    return _layout("Xác nhận chuyển khoản", content)


def success_page(transaction: Mapping[str, Any], *, replayed: bool = False) -> str:
    when = datetime.fromisoformat(transaction["transaction_date"]).astimezone(VIETNAM_TZ)
    note = (
        '<p class="hint">Yêu cầu này đã được thực hiện trước đó; không chuyển lại lần nữa.</p>'
        if replayed
        else ""
    )
    content = (
        '<div class="card done">'
        '<div class="tick" aria-hidden="true">✓</div>'
        "<h1>Chuyển khoản thành công</h1>"
        f'<p class="amount"><strong>{format_vnd(transaction["amount"])}</strong></p>'
        f"{note}"
        "<dl>"
        f"<dt>Đến</dt><dd>{escape(transaction['gateway'])} · "
        f"{escape(transaction['account_number'])}</dd>"
        f"<dt>Nội dung</dt><dd>{escape(transaction['description'])}</dd>"
        f"<dt>Mã giao dịch</dt><dd>{escape(transaction['reference'])}</dd>"
        f"<dt>Thời gian</dt><dd>{when:%d/%m/%Y %H:%M:%S}</dd>"
        "</dl></div>"
        '<a class="btn" href="/">Chuyển khoản khác</a>'
    )
    return _layout("Chuyển khoản thành công", content)


def message_page(status: int, title: str, message: str) -> Page:
    """A bare page for 404s and unexpected errors."""
    content = f"<h1>{escape(title)}</h1>{_error_box(message)}" + (
        '<a class="btn quiet" href="/">Về trang chính</a>'
    )
    return status, _layout(title, content)
