"""HTTP routing for the sandbox wallet: the JSON API under ``/v1/`` and the shopper's pages.

An API request goes through, in this order: the fault knobs (``fail_next``, ``error_rate``:
"before doing anything"), the API key, the JSON body, the idempotency key (reserved while the
request runs), the ``latency_ms`` knob, the work. Every answer carries ``Request-Id``.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .._common import SandboxHandler, dumps
from . import pages
from .idempotency import check_key, fingerprint
from .ledger import EWalletError, invalid, new_id

if TYPE_CHECKING:
    from .idempotency import Entry
    from .server import EWalletSandbox

logger = logging.getLogger("sandboxes.ewallet")

MAX_JSON_BYTES = 1024 * 1024
MAX_FORM_BYTES = 16 * 1024

# (pattern, {method: route}); ``id`` is passed to the route.
_API: list[tuple[re.Pattern[str], dict[str, str]]] = [
    (re.compile(r"/v1/payments"), {"GET": "list_payments", "POST": "create_payment"}),
    (re.compile(r"/v1/payments/(?P<id>[^/]+)"), {"GET": "retrieve_payment"}),
    (re.compile(r"/v1/payments/(?P<id>[^/]+)/cancel"), {"POST": "cancel_payment"}),
    (re.compile(r"/v1/refunds"), {"POST": "create_refund"}),
    (re.compile(r"/v1/refunds/(?P<id>[^/]+)"), {"GET": "retrieve_refund"}),
]
# Test and demo endpoints: no API key, no knobs, no idempotency.
_ADMIN: dict[str, dict[str, str]] = {
    "/v1/_knobs": {"GET": "get_knobs", "POST": "set_knobs"},
    "/v1/_reset": {"POST": "reset"},
    "/v1/_deliveries": {"GET": "deliveries"},
}
_PAGE = re.compile(r"/pay/(?P<id>[^/]+)(?:/(?P<action>login|approve|decline))?")


class _Answer(Exception):
    """Answer at once with this JSON error (raised from deep inside a route)."""

    def __init__(self, error: EWalletError, headers: dict[str, str] | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.headers = headers or {}


class Handler(SandboxHandler):
    server_version = "EWalletSandbox/1.0"

    @property
    def sandbox(self) -> EWalletSandbox:
        return self.server.sandbox  # type: ignore[attr-defined,no-any-return]

    def setup(self) -> None:
        super().setup()
        self.sandbox.connection_opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.sandbox.connection_closed(self.connection)

    def send_response(self, code: int, message: str | None = None) -> None:
        """Every answer carries ``Request-Id``, even the stdlib's own errors (501, 414…)."""
        super().send_response(code, message)
        request_id = getattr(self, "_request_id", None) or new_id("req")
        self.send_header("Request-Id", request_id)

    # -- plumbing -------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        self._request_id: str | None = new_id("req")  # one per request, not per connection
        self._latency = 0.0
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        self._query = parse_qs(parts.query, keep_blank_values=True)
        is_api = path.startswith("/v1/")
        try:
            self._answer(method, path, is_api)
        finally:
            self._request_id = None

    def _answer(self, method: str, path: str, is_api: bool) -> None:
        try:
            if is_api:
                self._api(method, path)
            else:
                self._page(method, path)
        except _Answer as answer:
            if is_api:
                self._error(answer.error, answer.headers)
            else:
                self._html(*pages.message_page(answer.error.status, "Lỗi", answer.error.message))
        except Exception:
            logger.exception("error handling %s %s (%s)", method, self.path, self._request_id)
            self.close_connection = True
            message = "Lỗi hệ thống của ví thử nghiệm. Vui lòng thử lại."
            if is_api:
                self._error(EWalletError(500, "api_error", "internal_error", message))
            else:
                self._html(*pages.message_page(500, "Lỗi hệ thống", message))

    def _body(self, limit: int) -> bytes:
        if self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            raise _Answer(invalid("length_required", "Cần tiêu đề Content-Length.", status=411))
        length_text = self.headers.get("Content-Length")
        if not length_text:
            return b""
        try:
            length = int(length_text)
        except ValueError:
            self.close_connection = True
            raise _Answer(invalid("invalid_request", "Content-Length không hợp lệ.")) from None
        if length < 0 or length > limit:
            self.close_connection = True
            raise _Answer(invalid("body_too_large", "Nội dung gửi lên quá lớn.", status=413))
        return self.rfile.read(length)

    def _discard_body(self) -> None:
        try:
            self._body(MAX_JSON_BYTES)
        except _Answer:
            self.close_connection = True

    def _json_body(self) -> Any:
        body = self._body(MAX_JSON_BYTES)
        try:
            return json.loads(body.decode("utf-8")) if body.strip() else None
        except (UnicodeDecodeError, ValueError):
            raise _Answer(
                invalid("invalid_json", "Nội dung yêu cầu không phải JSON hợp lệ.")
            ) from None

    def _sleep_latency(self) -> None:
        latency, self._latency = self._latency, 0.0
        if latency > 0:
            time.sleep(latency)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
        self._sleep_latency()  # once per request, if the work did not already wait
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

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, dumps(data), "application/json; charset=utf-8", headers or {})

    def _error(self, error: EWalletError, headers: dict[str, str] | None = None) -> None:
        self._json(error.status, error.as_dict(), {**_retry_header(error), **(headers or {})})

    def _html(self, status: int, text: str) -> None:
        self._send(status, text.encode("utf-8"), "text/html; charset=utf-8", {})

    # -- the API --------------------------------------------------------------

    def _api(self, method: str, path: str) -> None:
        if path in _ADMIN:
            self._admin(method, path)
            return
        route, object_id = self._route(method, path)
        fault, self._latency = self.sandbox.take_fault()
        if fault is not None:
            self._discard_body()
            raise _Answer(fault)
        key = self.sandbox.authenticate(self.headers.get("Authorization"))
        if key is None:
            self._discard_body()
            raise _Answer(
                EWalletError(
                    401,
                    "authentication_error",
                    "api_key_invalid" if self.headers.get("Authorization") else "api_key_missing",
                    "Thiếu hoặc sai API key (Authorization: Bearer <api_key>).",
                ),
                {"WWW-Authenticate": "Bearer"},
            )
        args: list[Any] = [key] if object_id is None else [key, object_id]
        if method == "GET":
            self._discard_body()
            if route == "list_payments":
                args.append(self._query)
            self._run(route, args)
            return
        body = self._json_body()
        args.append(body)
        idempotency_key = self.headers.get("Idempotency-Key")
        if idempotency_key is None:
            self._run(route, args)
            return
        idempotency_key = _checked(check_key, idempotency_key.strip())
        entry, replay = _checked(
            self.sandbox.idempotency.begin,
            key,
            idempotency_key,
            fingerprint(method, path, body),
            self._request_id,
            time.time(),
        )
        if replay:
            assert entry.status is not None
            headers = {"Idempotent-Replayed": "true", "Original-Request": entry.request_id}
            self._send(entry.status, entry.body, "application/json; charset=utf-8", headers)
            return
        self._run(route, args, (key, idempotency_key, entry))

    def _route(self, method: str, path: str) -> tuple[str, str | None]:
        for pattern, methods in _API:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if method not in methods:
                self._discard_body()
                raise _Answer(
                    invalid("method_not_allowed", "Phương thức không được hỗ trợ.", status=405),
                    {"Allow": ", ".join(methods)},
                )
            return methods[method], match.groupdict().get("id")
        self._discard_body()
        raise _Answer(invalid("unknown_url", f"Không có địa chỉ API {path}.", status=404))

    def _run(self, route: str, args: list[Any], held: tuple[str, str, Entry] | None = None) -> None:
        """Do the work (after the latency) and answer; save or release an idempotency key."""
        status, body, headers = 500, b"", {}
        try:
            self._sleep_latency()
            try:
                status, data = getattr(self.sandbox, route)(*args)
            except EWalletError as error:
                status, data, headers = error.status, error.as_dict(), _retry_header(error)
            body = dumps(data)
        finally:
            if held is not None:  # an unexpected exception releases the key (status 500)
                self.sandbox.idempotency.finish(held[0], held[1], held[2], status, body)
        self._send(status, body, "application/json; charset=utf-8", headers)

    def _admin(self, method: str, path: str) -> None:
        route = _ADMIN[path].get(method)
        if route is None:
            self._discard_body()
            raise _Answer(
                invalid("method_not_allowed", "Phương thức không được hỗ trợ.", status=405),
                {"Allow": ", ".join(_ADMIN[path])},
            )
        sandbox = self.sandbox
        if route == "set_knobs":
            data = self._json_body()
            self._json(200, _checked(sandbox.set_knobs, data if data is not None else {}))
            return
        self._discard_body()
        if route == "get_knobs":
            self._json(200, sandbox.get_knobs())
        elif route == "reset":
            sandbox.reset()
            self._json(200, {"ok": True, "knobs": sandbox.get_knobs()})
        else:
            self._json(200, {"deliveries": sandbox.deliveries(), **sandbox.status()})

    # -- the shopper's pages ----------------------------------------------------

    def _page(self, method: str, path: str) -> None:
        if path in ("/", "/healthz"):
            self._discard_body()
            if method != "GET":
                self._html(*pages.message_page(405, "Không hỗ trợ", "Phương thức không hỗ trợ."))
            elif path == "/":
                self._html(200, pages.index_page(self.sandbox.wallets()))
            else:
                self._json(200, {"ok": True})
            return
        match = _PAGE.fullmatch(path)
        action = match.group("action") if match else None
        if match is None or (method == "GET") != (action is None) or method not in ("GET", "POST"):
            self._discard_body()
            status = 404 if match is None else 405
            self._html(*pages.message_page(status, "Không tìm thấy", "Không có địa chỉ này."))
            return
        payment_id = match.group("id")
        if method == "GET":
            self._html(*pages.show(self.sandbox, payment_id))
            return
        assert action is not None
        form = pages.parse_form(self._body(MAX_FORM_BYTES))
        flow = {"login": pages.login, "approve": pages.approve, "decline": pages.decline}[action]
        self._html(*flow(self.sandbox, payment_id, form))


def _retry_header(error: EWalletError) -> dict[str, str]:
    if error.should_retry is None:
        return {}
    return {"Should-Retry": "true" if error.should_retry else "false"}


def _checked(function: Any, *args: Any) -> Any:
    """Call ``function``; an :class:`EWalletError` becomes an immediate answer."""
    try:
        return function(*args)
    except EWalletError as error:
        raise _Answer(error) from None
