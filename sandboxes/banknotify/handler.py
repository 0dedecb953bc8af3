"""HTTP routing for the sandbox: the JSON API and the shopper's pages."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .._common import SandboxHandler
from . import pages
from .ledger import VIETNAM_TZ, TransferError, dumps

if TYPE_CHECKING:
    from .server import BankNotifySandbox

logger = logging.getLogger("sandboxes.banknotify")

MAX_JSON_BYTES = 1024 * 1024
MAX_FORM_BYTES = 12 * 1024 * 1024  # a phone photo of a QR code


class HttpError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


_ROUTES: dict[str, dict[str, str]] = {
    "/": {"GET": "index"},
    "/pay": {"POST": "pay"},
    "/pay/confirm": {"POST": "pay_confirm"},
    "/healthz": {"GET": "health"},
    "/api/transfers": {"POST": "api_transfer"},
    "/api/transactions": {"GET": "api_transactions"},
    "/api/_knobs": {"GET": "api_knobs", "POST": "api_set_knobs"},
    "/api/_reset": {"POST": "api_reset"},
    "/api/_deliveries": {"GET": "api_deliveries"},
}


class Handler(SandboxHandler):
    server_version = "BankNotifySandbox/1.0"
    methods = ("GET", "POST")

    @property
    def sandbox(self) -> BankNotifySandbox:
        return self.server.sandbox  # type: ignore[attr-defined,no-any-return]

    # -- plumbing -------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        self._query = parse_qs(parts.query, keep_blank_values=True)
        is_api = path.startswith("/api/")
        try:
            methods = _ROUTES.get(path)
            if methods is None:
                self._discard_body()
                raise HttpError(404, "not_found", "Không có địa chỉ này.")
            name = methods.get(method)
            if name is None:
                self._discard_body()
                self._json(
                    405,
                    _error("method_not_allowed", "Phương thức không được hỗ trợ."),
                    headers={"Allow": ", ".join(methods)},
                )
                return
            getattr(self, f"_route_{name}")()
        except HttpError as error:
            if is_api:
                self._json(error.status, _error(error.code, error.message))
            else:
                self._html(*pages.message_page(error.status, "Không thực hiện được", error.message))
        except Exception:
            logger.exception("error handling %s %s", method, self.path)
            self.close_connection = True
            message = "Lỗi hệ thống của ngân hàng thử nghiệm. Vui lòng thử lại."
            if is_api:
                self._json(500, _error("internal_error", message))
            else:
                self._html(*pages.message_page(500, "Lỗi hệ thống", message))

    def _body(self, limit: int) -> bytes:
        length_text = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise HttpError(411, "length_required", "Cần tiêu đề Content-Length.")
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            self.close_connection = True
            raise HttpError(400, "bad_request", "Content-Length không hợp lệ.") from None
        if length < 0 or length > limit:
            self.close_connection = True
            raise HttpError(413, "too_large", "Nội dung gửi lên quá lớn.")
        return self.rfile.read(length)

    def _discard_body(self) -> None:
        try:
            self._body(MAX_FORM_BYTES)
        except HttpError:
            self.close_connection = True

    def _json_body(self) -> Any:
        body = self._body(MAX_JSON_BYTES)
        try:
            return json.loads(body.decode("utf-8")) if body.strip() else None
        except (UnicodeDecodeError, ValueError):
            raise HttpError(
                400, "invalid_json", "Nội dung yêu cầu không phải JSON hợp lệ."
            ) from None

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: Any, *, headers: dict[str, str] | None = None) -> None:
        self._send(status, dumps(data), "application/json; charset=utf-8", headers or {})

    def _html(self, status: int, text: str) -> None:
        self._send(status, text.encode("utf-8"), "text/html; charset=utf-8", {})

    # -- routes ---------------------------------------------------------------

    def _route_index(self) -> None:
        # ?payload=<VietQR> prefills the form: the platform's demo QR page links here.
        query = parse_qs(urlsplit(self.path).query)
        payload = pages.clean_payload(query.get("payload", [""])[0])
        self._html(200, pages.index_page(payload=payload))

    def _route_health(self) -> None:
        self._json(200, {"ok": True})

    def _form(self) -> tuple[pages.Form, pages.Files]:
        body = self._body(MAX_FORM_BYTES)
        return pages.parse_form(self.headers.get("Content-Type", ""), body)

    def _route_pay(self) -> None:
        self._html(*pages.pay(*self._form()))

    def _route_pay_confirm(self) -> None:
        form, _files = self._form()
        self._html(*pages.confirm(self.sandbox, form))

    def _route_api_transfer(self) -> None:
        data = self._json_body()
        try:
            transaction = self.sandbox.submit(data)
        except TransferError as error:
            self._json(400, error.as_dict())
            return
        self._json(201, transaction)

    def _route_api_transactions(self) -> None:
        if not self.sandbox.check_api_key(self.headers.get("Authorization")):
            self._json(
                401,
                _error("unauthorized", "Thiếu hoặc sai API key (Authorization: Apikey <key>)."),
                headers={"WWW-Authenticate": "Apikey"},
            )
            return
        since = _parse_since(self._one("since"))
        account = self._one("account_number") or None
        self._json(
            200, {"transactions": self.sandbox.transactions(since=since, account_number=account)}
        )

    def _route_api_knobs(self) -> None:
        self._json(200, self.sandbox.get_knobs())

    def _route_api_set_knobs(self) -> None:
        data = self._json_body()
        try:
            knobs = self.sandbox.set_knobs(data if data is not None else {})
        except TransferError as error:
            self._json(400, error.as_dict())
            return
        self._json(200, knobs)

    def _route_api_reset(self) -> None:
        self._discard_body()
        self.sandbox.reset()
        self._json(200, {"ok": True, "knobs": self.sandbox.get_knobs()})

    def _route_api_deliveries(self) -> None:
        self._json(200, {"deliveries": self.sandbox.deliveries(), **self.sandbox.status()})

    def _one(self, name: str) -> str:
        values = self._query.get(name)
        return values[0] if values else ""


def _error(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": {}}}


def _parse_since(text: str) -> datetime | None:
    """An ISO-8601 instant; a naive one is Vietnam time. A ``+`` left unencoded in the query
    arrives as a space and is put back."""
    if not text:
        return None
    candidate = text.strip().replace(" ", "+")
    if len(candidate) > 10 and candidate[10] == "+":  # "2026-11-23+20:01" had a space as T
        candidate = candidate[:10] + "T" + candidate[11:]
    try:
        value = datetime.fromisoformat(candidate)
    except ValueError:
        raise HttpError(400, "invalid_since", "Tham số since phải là thời điểm ISO-8601.") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=VIETNAM_TZ)
