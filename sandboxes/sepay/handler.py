"""HTTP routes of the SePay sandbox (PROTOCOL.md): the user API and the sandbox's own controls."""

from __future__ import annotations

import hmac
import json
from http.server import BaseHTTPRequestHandler
from typing import Any

from .server import MAX_BODY, BodyError, SePaySandbox, query_params, read_body


class Handler(BaseHTTPRequestHandler):
    server_version = "SePaySandbox/1.0"

    @property
    def sandbox(self) -> SePaySandbox:
        return self.server.sandbox  # type: ignore[attr-defined]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, status: int, data: Any) -> None:
        body = json.dumps(data, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, message: str) -> None:
        # SePay's user API answers errors in this shape.
        self._json(status, {"status": status, "error": message, "messages": {"success": False}})

    def _body(self) -> Any:
        raw = read_body(self.rfile, self.headers, MAX_BODY)  # type: ignore[arg-type]
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            raise BodyError(400, "invalid_json", "body is not JSON") from None

    # -- GET ------------------------------------------------------------------

    def do_GET(self) -> None:
        path, params = query_params(self.path)
        if path == "/userapi/transactions/list":
            self._list(params)
        elif path == "/sandbox/knobs":
            self._json(200, self.sandbox.knobs.as_dict())
        elif path == "/sandbox/deliveries":
            self._json(200, {"attempts": self.sandbox.attempts()})
        elif path == "/":
            self._json(200, {"service": "SePay sandbox", "protocol": "sandboxes/sepay/PROTOCOL.md"})
        else:
            self._error(404, "Not found")

    def _list(self, params: dict[str, str]) -> None:
        given = self.headers.get("Authorization") or ""
        expected = f"Bearer {self.sandbox.api_token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            self._error(401, "Unauthorized")
            return
        try:
            since_id = int(params.get("since_id") or 0)
            limit = min(int(params.get("limit") or 5000), 5000)
        except ValueError:
            self._error(400, "since_id and limit must be integers")
            return
        rows = self.sandbox.transactions(
            account_number=params.get("account_number", ""),
            date_min=params.get("transaction_date_min", ""),
            date_max=params.get("transaction_date_max", ""),
            since_id=since_id,
            limit=limit,
        )
        self._json(
            200, {"status": 200, "error": None, "messages": {"success": True}, "transactions": rows}
        )

    # -- POST -----------------------------------------------------------------

    def do_POST(self) -> None:
        path, _params = query_params(self.path)
        routes = {
            "/sandbox/webhooks": self._register,
            "/sandbox/transfers": self._transfer,
            "/sandbox/test-webhook": self._test,
            "/sandbox/knobs": self._knobs,
        }
        route = routes.get(path)
        if route is None:
            self._error(404, "Not found")
            return
        try:
            data = self._body()
            if not isinstance(data, dict):
                raise ValueError("body must be a JSON object")
            route(data)
        except BodyError as exc:
            self._error(exc.status, exc.message)
        except (ValueError, TypeError, KeyError) as exc:
            self._error(400, str(exc))

    def _register(self, data: dict[str, Any]) -> None:
        hook_id = self.sandbox.register_webhook(
            str(data["url"]),
            account_number=str(data["account_number"]),
            auth=str(data.get("auth", "apikey")),
            secret=str(data["secret"]),
        )
        self._json(201, {"id": hook_id})

    def _transfer(self, data: dict[str, Any]) -> None:
        payload = self.sandbox.transfer(
            account_number=str(data["account_number"]),
            amount=data["amount"],
            content=str(data.get("content", "")),
            transfer_type=str(data.get("transfer_type", "in")),
            gateway=str(data.get("gateway", "Vietcombank")),
            sub_account=data.get("sub_account"),
            code=data.get("code"),
        )
        self._json(201, payload)

    def _test(self, data: dict[str, Any]) -> None:
        payload = self.sandbox.send_test(
            webhook_url=str(data["webhook_url"]),
            auth=str(data.get("auth", "apikey")),
            secret=str(data["secret"]),
            account_number=str(data["account_number"]),
            gateway=str(data.get("gateway", "Vietcombank")),
            content=str(data.get("content", "")),
        )
        self._json(202, payload)

    def _knobs(self, data: dict[str, Any]) -> None:
        self._json(200, self.sandbox.set_knobs(data))
