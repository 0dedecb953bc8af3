"""The shopper's side: the hosted pay page of the sandbox wallet.

Server-rendered, Vietnamese, sized for a 360 px phone, inline CSS, no script:

- ``GET /pay/{id}``: who is asking for how much, and a sign-in form (wallet phone number);
- ``POST /pay/{id}/login``: the wallet and its balance, "Xác nhận thanh toán" / "Từ chối";
- ``POST /pay/{id}/approve`` and ``/decline``: the outcome.

Every form carries a one-time token: posting it again (a reload, a double tap on a slow network)
shows the outcome of the first post instead of paying twice. Refusals are explained on the page
(400 for the shopper's mistakes, 404 for an unknown payment, 409 for one no longer pending).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any, Protocol
from urllib.parse import parse_qs

from .._common import format_vnd
from .ledger import DEMO_WALLETS, OPENING_BALANCE, EWalletError, display_phone, normalize_phone

VIETNAM_TZ = timezone(timedelta(hours=7))

Form = dict[str, str]
Page = tuple[int, str]


class Shopper(Protocol):
    """What the pages need from the sandbox."""

    def payment(self, payment_id: str) -> dict[str, Any] | None: ...
    def wallet_balance(self, phone: str) -> int: ...
    def issue_token(self, payment_id: str, phone: str | None = None) -> str: ...
    def sign_in(self, payment_id: str, phone: str) -> tuple[str, str]: ...
    def approve_with_token(self, payment_id: str, token: str) -> tuple[dict[str, Any], bool]: ...
    def decline_with_token(self, payment_id: str, token: str) -> tuple[dict[str, Any], bool]: ...


def parse_form(body: bytes) -> Form:
    """An urlencoded form body → its fields (first value of each)."""
    text = body.decode("utf-8", "replace")
    return {name: values[0] for name, values in parse_qs(text, keep_blank_values=True).items()}


# --------------------------------------------------------------------------- #
# Flows
# --------------------------------------------------------------------------- #


def show(shopper: Shopper, payment_id: str) -> Page:
    """``GET /pay/{id}``."""
    payment = shopper.payment(payment_id)
    if payment is None:
        return _not_found()
    if payment["status"] != "pending":
        return 200, result_page(payment)
    return 200, sign_in_page(payment, token=shopper.issue_token(payment_id))


def login(shopper: Shopper, payment_id: str, form: Mapping[str, str]) -> Page:
    """``POST /pay/{id}/login``: sign in with a wallet phone number."""
    phone = form.get("phone", "")
    try:
        e164, token = shopper.sign_in(payment_id, phone)
    except EWalletError as error:
        return _refusal(shopper, payment_id, error, phone=phone)
    payment = shopper.payment(payment_id)
    assert payment is not None
    return 200, confirm_page(payment, e164, shopper.wallet_balance(e164), token)


def approve(shopper: Shopper, payment_id: str, form: Mapping[str, str]) -> Page:
    """``POST /pay/{id}/approve``."""
    return _act(shopper, payment_id, form, shopper.approve_with_token)


def decline(shopper: Shopper, payment_id: str, form: Mapping[str, str]) -> Page:
    """``POST /pay/{id}/decline``."""
    return _act(shopper, payment_id, form, shopper.decline_with_token)


def _act(shopper: Shopper, payment_id: str, form: Mapping[str, str], action: Any) -> Page:
    token = form.get("token", "")
    try:
        payment, replayed = action(payment_id, token)
    except EWalletError as error:
        phone = normalize_phone(form.get("phone", ""))
        current = shopper.payment(payment_id)
        if error.code == "insufficient_balance" and phone and current:
            balance = shopper.wallet_balance(phone)
            return 400, confirm_page(current, phone, balance, token, error=error.message)
        return _refusal(shopper, payment_id, error)
    return 200, result_page(payment, replayed=replayed)


def _refusal(shopper: Shopper, payment_id: str, error: EWalletError, *, phone: str = "") -> Page:
    payment = shopper.payment(payment_id)
    if payment is None:
        return _not_found()
    if payment["status"] != "pending":
        return 409, result_page(payment)
    if error.code in ("invalid_phone", "sign_in_required"):
        token = shopper.issue_token(payment_id)
        return 400, sign_in_page(payment, token=token, error=error.message, phone=phone)
    return message_page(error.status, "Không thực hiện được", error.message, back=payment_id)


def _not_found() -> Page:
    return message_page(
        404,
        "Không tìm thấy",
        "Không tìm thấy yêu cầu thanh toán này. Hãy kiểm tra lại đường dẫn hoặc mã QR.",
    )


# --------------------------------------------------------------------------- #
# Pages
# --------------------------------------------------------------------------- #

_CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
background:#f7f0f4;color:#2a1822}
.bar{display:flex;gap:.75rem;align-items:center;padding:.75rem 1rem;background:#a50064;color:#fff}
.logo{flex:none;width:2.25rem;height:2.25rem;border-radius:.6rem;background:#fff;color:#a50064;
display:grid;place-items:center;font-weight:800}
.bar small{display:block;opacity:.85;font-size:.8rem}
main{max-width:26rem;margin:0 auto;padding:1rem}
h1,h2{margin:0 0 .75rem;font-size:1.15rem}
.card{background:#fff;border-radius:.75rem;padding:1rem;margin-bottom:1rem;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
.pay{text-align:center}
.to{margin:0;color:#6d5a64;font-size:.85rem}
.pay h1{margin:.15rem 0 .25rem;word-break:break-word}
.amount{margin:.25rem 0 .5rem;font-size:2rem;font-weight:800;color:#a50064;letter-spacing:-.01em}
dl{margin:0;display:grid;grid-template-columns:auto 1fr;gap:.45rem .75rem;text-align:left}
dt{color:#6d5a64;font-size:.85rem;padding-top:.1rem}
dd{margin:0;font-weight:600;text-align:right;word-break:break-word}
.pay dl{border-top:1px dashed #e3cfda;padding-top:.75rem}
label{display:block;font-weight:600;margin:0 0 .35rem}
input{width:100%;font:inherit;font-size:1.15rem;letter-spacing:.03em;padding:.65rem .75rem;
border:1px solid #cdb5c2;border-radius:.5rem;background:#fff;color:inherit}
.btn{display:block;width:100%;margin-top:.75rem;padding:.85rem;border:0;border-radius:.6rem;
background:#a50064;color:#fff;font:inherit;font-weight:700;text-align:center;text-decoration:none;
cursor:pointer}
.btn[disabled]{background:#c9a7b9;cursor:not-allowed}
.btn.quiet{background:#fff;color:#a50064;border:1px solid #e3cfda}
form{margin:0}
.hint{color:#6d5a64;font-size:.85rem;margin:.5rem 0 0}
.link{display:inline-block;margin-top:.6rem;color:#a50064;font-weight:600}
.error{background:#fdecea;color:#8a1c12;border:1px solid #f3c0ba;border-radius:.5rem;
padding:.75rem;margin:0 0 1rem;word-break:break-word}
.done{text-align:center}
.mark{width:3.5rem;height:3.5rem;margin:.25rem auto .5rem;border-radius:50%;background:#0b8a4f;
color:#fff;display:grid;place-items:center;font-size:2rem;line-height:1}
.mark.off{background:#8a7480}
.done dl{margin-top:.75rem}
table{width:100%;border-collapse:collapse}
td{padding:.45rem 0;border-top:1px solid #f0e2ea}
td+td{text-align:right;font-weight:600}
.nw{white-space:nowrap}
.mono{grid-column:1/-1;margin-top:-.35rem;text-align:left;word-break:break-all;
font:600 .85rem/1.5 ui-monospace,Menlo,Consolas,monospace}
"""


def _layout(title: str, content: str) -> str:
    return (
        '<!doctype html>\n<html lang="vi">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)} · Ví thử nghiệm</title>\n<style>{_CSS}</style>\n"
        "</head>\n<body>\n"
        '<header class="bar"><span class="logo" aria-hidden="true">Ví</span><div>'
        "<strong>Ví thử nghiệm</strong>"
        "<small>Môi trường giả lập · không có tiền thật</small></div></header>\n"
        f"<main>\n{content}\n</main>\n</body>\n</html>\n"
    )


def _error_box(message: str | None) -> str:
    return f'<p class="error" role="alert">{escape(message)}</p>' if message else ""


def _when(unix: int) -> str:
    return f"{datetime.fromtimestamp(unix, VIETNAM_TZ):%H:%M, %d/%m/%Y}"


def _summary(payment: Mapping[str, Any], *, expiry: bool = True) -> str:
    rows = ""
    if payment["description"]:
        rows += f"<dt>Nội dung</dt><dd>{escape(payment['description'])}</dd>"
    rows += f"<dt>Mã đơn hàng</dt><dd>{escape(payment['merchant_reference'])}</dd>"
    if expiry:
        rows += f"<dt>Hết hạn lúc</dt><dd>{_when(payment['expires_at'])}</dd>"
    return (
        '<section class="card pay"><p class="to">Thanh toán cho</p>'
        f"<h1>{escape(payment['merchant_name'])}</h1>"
        f'<p class="amount">{format_vnd(payment["amount"])}</p>'
        f"<dl>{rows}</dl></section>"
    )


def _hidden(token: str, phone: str | None = None) -> str:
    fields = f'<input type="hidden" name="token" value="{escape(token)}">'
    if phone:
        fields += f'<input type="hidden" name="phone" value="{escape(phone)}">'
    return fields


def sign_in_page(
    payment: Mapping[str, Any], *, token: str, error: str | None = None, phone: str = ""
) -> str:
    pid = escape(payment["id"])
    first, last = display_phone(DEMO_WALLETS[0]), display_phone(DEMO_WALLETS[-1])
    content = (
        _summary(payment) + f'<form class="card" method="post" action="/pay/{pid}/login">'
        "<h2>Đăng nhập ví để thanh toán</h2>"
        f"{_error_box(error)}"
        '<label for="phone">Số điện thoại</label>'
        '<input id="phone" name="phone" type="tel" inputmode="tel" autocomplete="tel" '
        f'placeholder="{first}" value="{escape(phone)}" required>'
        f'<p class="hint">Ví thử nghiệm: <span class="nw">{first}</span> … '
        f'<span class="nw">{last}</span>, mỗi ví có sẵn '
        f'<span class="nw">{format_vnd(OPENING_BALANCE)}</span>.</p>'
        '<button class="btn" type="submit">Tiếp tục</button></form>'
        f'<form method="post" action="/pay/{pid}/decline">{_hidden(token)}'
        '<button class="btn quiet" type="submit">Từ chối</button></form>'
    )
    return _layout("Thanh toán", content)


def confirm_page(
    payment: Mapping[str, Any], phone: str, balance: int, token: str, *, error: str | None = None
) -> str:
    pid = escape(payment["id"])
    short = balance < payment["amount"]
    after = (
        "<dt>Số dư sau thanh toán</dt><dd>" + format_vnd(balance - payment["amount"]) + "</dd>"
        if not short
        else ""
    )
    if short and not error:
        error = "Số dư ví không đủ để thanh toán. Hãy dùng ví khác."
    content = (
        _summary(payment) + '<section class="card"><h2>Ví của bạn</h2><dl>'
        f"<dt>Số điện thoại</dt><dd>{display_phone(phone)}</dd>"
        f"<dt>Số dư</dt><dd>{format_vnd(balance)}</dd>{after}</dl>"
        f'<a class="link" href="/pay/{pid}">Dùng số điện thoại khác</a></section>'
        f"{_error_box(error)}"
        f'<form method="post" action="/pay/{pid}/approve">{_hidden(token, phone)}'
        f'<button class="btn" type="submit"{" disabled" if short else ""}>'
        "Xác nhận thanh toán</button></form>"
        f'<form method="post" action="/pay/{pid}/decline">{_hidden(token, phone)}'
        '<button class="btn quiet" type="submit">Từ chối</button></form>'
    )
    return _layout("Xác nhận thanh toán", content)


def result_page(payment: Mapping[str, Any], *, replayed: bool = False) -> str:
    status = payment["status"]
    rows = f"<dt>Cửa hàng</dt><dd>{escape(payment['merchant_name'])}</dd>"
    rows += f"<dt>Mã đơn hàng</dt><dd>{escape(payment['merchant_reference'])}</dd>"
    if status in ("succeeded", "partially_refunded", "refunded"):
        mark, title = '<div class="mark" aria-hidden="true">✓</div>', "Thanh toán thành công"
        if payment["wallet_phone"]:
            rows += f"<dt>Ví</dt><dd>{display_phone(payment['wallet_phone'])}</dd>"
        rows += f'<dt>Mã giao dịch</dt><dd class="mono">{escape(payment["id"])}</dd>'
        if payment["amount_refunded"]:
            rows += f"<dt>Đã hoàn tiền</dt><dd>{format_vnd(payment['amount_refunded'])}</dd>"
        hint = "Bạn có thể quay lại ứng dụng của cửa hàng."
    else:
        mark = '<div class="mark off" aria-hidden="true">✕</div>'
        if status == "failed" and payment["failure_reason"] == "expired":
            title = "Yêu cầu thanh toán đã hết hạn"
            hint = "Vui lòng quay lại cửa hàng để tạo yêu cầu thanh toán mới."
        elif status == "failed":
            title = "Bạn đã từ chối thanh toán"
            hint = "Không có khoản tiền nào bị trừ khỏi ví."
        elif status == "canceled":
            title = "Cửa hàng đã huỷ yêu cầu thanh toán"
            hint = "Không có khoản tiền nào bị trừ khỏi ví."
        else:
            title, hint = "Yêu cầu thanh toán đang chờ", ""
    note = (
        '<p class="hint">Yêu cầu này đã được xử lý trước đó; không thực hiện lại lần nữa.</p>'
        if replayed
        else ""
    )
    content = (
        f'<section class="card done">{mark}<h1>{title}</h1>'
        f'<p class="amount">{format_vnd(payment["amount"])}</p>{note}'
        f'<dl>{rows}</dl><p class="hint">{hint}</p></section>'
    )
    return _layout(title, content)


def index_page(wallets: list[tuple[str, int]]) -> str:
    rows = "".join(
        f"<tr><td>{display_phone(phone)}</td><td>{format_vnd(balance)}</td></tr>"
        for phone, balance in wallets
    )
    content = (
        '<section class="card"><h1>Ví điện tử thử nghiệm</h1>'
        "<p>Cửa hàng tạo yêu cầu thanh toán qua API; người mua mở đường dẫn thanh toán "
        "(hoặc quét mã QR) và đăng nhập bằng số điện thoại của một ví bên dưới. "
        "Số di động Việt Nam khác cũng dùng được, với số dư ban đầu "
        f"{format_vnd(OPENING_BALANCE)}.</p></section>"
        f'<section class="card"><h2>Ví và số dư</h2><table>{rows}</table></section>'
    )
    return _layout("Ví điện tử thử nghiệm", content)


def message_page(status: int, title: str, message: str, *, back: str | None = None) -> Page:
    """A bare page for 404s, bad tokens and unexpected errors."""
    content = f'<section class="card"><h1>{escape(title)}</h1>{_error_box(message)}</section>'
    if back:
        content += f'<a class="btn quiet" href="/pay/{escape(back)}">Mở lại trang thanh toán</a>'
    return status, _layout(title, content)
