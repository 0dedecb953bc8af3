"""HTTP routing for the sandbox SMS gateway (JSON only).

An API request goes through, in this order: the fault verdict (503 at once, before the key is
looked at), the API key, the JSON body, ``latency_ms``, the work. Test endpoints under
``/v1/_sandbox/`` need no key and see no faults.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .._common import BodyError, SandboxHandler, dumps, read_body
from .server import SmsError

if TYPE_CHECKING:
    from .server import SmsSandbox

logger = logging.getLogger("sandboxes.sms")

MAX_JSON_BYTES = 16 * 1024
_MESSAGE = re.compile(r"/v1/messages/(?P<id>[A-Za-z0-9_]+)")


class Handler(SandboxHandler):
    server_version = "SmsSandbox/1.0"
    methods = ("GET", "POST")

    @property
    def sandbox(self) -> SmsSandbox:
        return self.server.sandbox  # type: ignore[attr-defined,no-any-return]

    def _dispatch(self, method: str) -> None:
        parts = urlsplit(self.path)
        path = parts.path.rstrip("/") or "/"
        try:
            body = self._body()
            if path in ("/", "/healthz"):
                self._json(200, {"ok": True, "service": "sms-sandbox"})
            elif path.startswith("/v1/_sandbox/"):
                self._admin(method, path, parse_qs(parts.query), body)
            elif path == "/v1/messages":
                self._allow(method, "POST")
                self._api(lambda key: self.sandbox.send(key, self._parse(body)))
            elif match := _MESSAGE.fullmatch(path):
                self._allow(method, "GET")
                self._api(lambda key: self.sandbox.retrieve(key, match["id"]))
            else:
                raise SmsError(404, "unknown_url", f"Không có địa chỉ {path}.")
        except SmsError as error:
            headers = {"Retry-After": "1"} if error.status == 503 else {}
            self._json(error.status, error.as_dict(), headers)
        except OSError:
            self.close_connection = True
        except Exception:
            logger.exception("error handling %s %s", method, self.path)
            self.close_connection = True
            self._json(500, SmsError(500, "internal_error", "Lỗi hệ thống.").as_dict())

    def _api(self, work: Any) -> None:
        fail, latency = self.sandbox.take_fault()
        if latency:
            time.sleep(latency)
        if fail:
            raise SmsError(503, "service_unavailable", "Tổng đài SMS tạm thời không phục vụ.")
        key = self.sandbox.authenticate(self.headers.get("Authorization"))
        if key is None:
            raise SmsError(
                401,
                "api_key_invalid" if self.headers.get("Authorization") else "api_key_missing",
                "Thiếu hoặc sai API key (Authorization: Bearer <api_key>).",
            )
        status, data = work(key)
        self._json(status, data)

    def _admin(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> None:
        sandbox = self.sandbox
        if path == "/v1/_sandbox/outbox":
            self._allow(method, "GET")
            to = query["to"][0] if query.get("to") else None
            self._json(200, {"data": sandbox.outbox(to=to)})
        elif path == "/v1/_sandbox/faults":
            if method == "POST":
                parsed = self._parse(body)
                self._json(200, sandbox.set_faults(parsed if parsed is not None else {}))
            else:
                self._json(200, sandbox.get_faults())
        elif path == "/v1/_sandbox/stats":
            self._allow(method, "GET")
            self._json(200, sandbox.stats())
        elif path == "/v1/_sandbox/reset":
            self._allow(method, "POST")
            sandbox.reset()
            self._json(200, {"ok": True})
        else:
            raise SmsError(404, "unknown_url", f"Không có địa chỉ {path}.")

    @staticmethod
    def _allow(method: str, allowed: str) -> None:
        if method != allowed:
            raise SmsError(405, "method_not_allowed", "Phương thức không được hỗ trợ.")

    def _body(self) -> bytes:
        try:
            return read_body(self.rfile, self.headers, MAX_JSON_BYTES)  # type: ignore[arg-type]
        except BodyError as error:
            self.close_connection = True
            raise SmsError(error.status, error.code, error.message) from None

    @staticmethod
    def _parse(body: bytes) -> Any:
        try:
            return json.loads(body.decode("utf-8")) if body.strip() else None
        except (UnicodeDecodeError, ValueError):
            raise SmsError(
                400, "invalid_json", "Nội dung yêu cầu không phải JSON hợp lệ."
            ) from None

    def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        body = dumps(data)
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
