"""HTTP routing for the sandbox tax gateway (JSON only).

An API request goes through, in this order: the fault verdict (``error`` answers 503 at once,
before the API key is even looked at), the API key, the JSON body, ``latency_ms``, the work, then
the rest of the verdict (``error_after``: 500 although the work is done; ``timeout``: hang
``hang_seconds`` before answering, the work being done). Every answer carries ``Request-Id``.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._common import BodyError, SandboxHandler, dumps, read_body
from .server import GatewayError, invalid

if TYPE_CHECKING:
    from .server import Fault, TaxGatewaySandbox

logger = logging.getLogger("sandboxes.taxgateway")

MAX_JSON_BYTES = 64 * 1024 * 1024  # a batch of 1000 invoices

# (pattern, {method: route}); ``id`` is passed to the route.
_API: list[tuple[re.Pattern[str], dict[str, str]]] = [
    (re.compile(r"/v1/registrations"), {"POST": "register"}),
    (re.compile(r"/v1/invoices"), {"POST": "submit"}),
    (re.compile(r"/v1/invoices/(?P<id>[^/]+)"), {"GET": "retrieve"}),
    (re.compile(r"/v1/invoices/(?P<id>[^/]+)/cancel"), {"POST": "cancel"}),
    (re.compile(r"/v1/batches"), {"POST": "submit_batch"}),
    (re.compile(r"/v1/batches/(?P<id>[^/]+)"), {"GET": "retrieve_batch"}),
]
# Test endpoints: no API key, no faults.
_ADMIN: dict[str, dict[str, str]] = {
    "/v1/_sandbox/faults": {"GET": "get_faults", "POST": "set_faults"},
    "/v1/_sandbox/stats": {"GET": "stats"},
    "/v1/_sandbox/reset": {"POST": "reset"},
}


class Handler(SandboxHandler):
    server_version = "TaxGatewaySandbox/1.0"
    methods = ("GET", "POST", "PUT", "DELETE")

    @property
    def sandbox(self) -> TaxGatewaySandbox:
        return self.server.sandbox  # type: ignore[attr-defined,no-any-return]

    def send_response(self, code: int, message: str | None = None) -> None:
        super().send_response(code, message)
        self.send_header("Request-Id", getattr(self, "_request_id", None) or _request_id())

    # -- plumbing -------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        self._request_id = _request_id()
        path = urlsplit(self.path).path.rstrip("/") or "/"
        try:
            if path in ("/", "/healthz"):
                self._discard_body()
                self._json(200, {"ok": True, "service": "taxgateway-sandbox"})
            elif path in _ADMIN:
                self._admin(method, path)
            elif path.startswith("/v1/"):
                self._api(method, path)
            else:
                self._discard_body()
                raise invalid("unknown_url", f"Không có địa chỉ {path}.", status=404)
        except GatewayError as error:
            try:
                self._json(error.status, error.as_dict(), _retry_header(error.status))
            except OSError:  # the client gave up (a timeout fault): nobody to answer
                self.close_connection = True
        except OSError:
            self.close_connection = True
        except Exception:
            logger.exception("error handling %s %s (%s)", method, self.path, self._request_id)
            self.close_connection = True
            self._json(500, GatewayError(500, "internal_error", "Lỗi hệ thống.").as_dict())

    def _body(self) -> bytes:
        try:
            return read_body(self.rfile, self.headers, MAX_JSON_BYTES)  # type: ignore[arg-type]
        except BodyError as error:
            self.close_connection = True
            raise invalid(error.code, error.message, status=error.status) from None

    def _discard_body(self) -> None:
        try:
            self._body()
        except GatewayError:
            self.close_connection = True

    def _json_body(self) -> Any:
        body = self._body()
        try:
            return json.loads(body.decode("utf-8")) if body.strip() else None
        except (UnicodeDecodeError, ValueError):
            raise invalid("invalid_json", "Nội dung yêu cầu không phải JSON hợp lệ.") from None

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

    # -- the API --------------------------------------------------------------

    def _route(self, method: str, path: str) -> tuple[str, str | None]:
        for pattern, methods in _API:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            if method not in methods:
                self._discard_body()
                raise invalid("method_not_allowed", "Phương thức không được hỗ trợ.", status=405)
            return methods[method], match.groupdict().get("id")
        self._discard_body()
        raise invalid("unknown_url", f"Không có địa chỉ API {path}.", status=404)

    def _api(self, method: str, path: str) -> None:
        route, object_id = self._route(method, path)
        fault = self.sandbox.take_fault()
        if fault.mode == "error":
            self._discard_body()
            self._sleep(fault.latency)
            raise GatewayError(503, "service_unavailable", "Cổng thuế tạm thời không phục vụ.")
        key = self.sandbox.authenticate(self.headers.get("Authorization"))
        if key is None:
            self._discard_body()
            raise GatewayError(
                401,
                "api_key_invalid" if self.headers.get("Authorization") else "api_key_missing",
                "Thiếu hoặc sai API key (Authorization: Bearer <api_key>).",
            )
        args: list[Any] = [key] if object_id is None else [key, object_id]
        if method == "POST":
            args.append(self._json_body())
        else:
            self._discard_body()
        self._sleep(fault.latency)
        try:
            status, data = getattr(self.sandbox, route)(*args)
        except GatewayError:
            self._after(fault)
            raise
        self._after(fault)
        headers = {"Invoice-Duplicate": "true"} if route == "submit" and status == 200 else {}
        self._json(status, data, headers)

    def _after(self, fault: Fault) -> None:
        """The work is done (and recorded); now the nasty faults."""
        if fault.mode == "timeout":
            logger.info("fault: hanging %.1fs after the work (%s)", fault.hang, self._request_id)
            self.sandbox.hang(fault.hang)
            self.close_connection = True
        elif fault.mode == "error_after":
            raise GatewayError(500, "internal_error", "Lỗi hệ thống sau khi đã ghi nhận.")

    @staticmethod
    def _sleep(seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def _admin(self, method: str, path: str) -> None:
        route = _ADMIN[path].get(method)
        if route is None:
            self._discard_body()
            raise invalid("method_not_allowed", "Phương thức không được hỗ trợ.", status=405)
        sandbox = self.sandbox
        if route == "set_faults":
            data = self._json_body()
            self._json(200, sandbox.set_faults(data if data is not None else {}))
            return
        self._discard_body()
        if route == "get_faults":
            self._json(200, sandbox.get_faults())
        elif route == "stats":
            self._json(200, sandbox.stats())
        else:
            sandbox.reset()
            self._json(200, {"ok": True, "faults": sandbox.get_faults()})


def _request_id() -> str:
    return f"req_{uuid.uuid4().hex[:24]}"


def _retry_header(status: int) -> dict[str, str]:
    if status >= 500 or status == 429:
        return {"Should-Retry": "true"}
    if 400 <= status < 500 and status != 409:
        return {"Should-Retry": "false"}
    return {}
