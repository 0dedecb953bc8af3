"""The sandbox MoMo: payment gateway v2's create / query / refund, a shopper page, and IPNs.

Standard library only, nothing from the Django project (the signing is written again here, from
the protocol, so a test of one against the other means something). PROTOCOL.md is the wire
protocol. Usage::

    with MomoSandbox(partner_code="P", access_key="a", secret_key="s", backoff_base=0.02) as m:
        ...  # the platform creates an order (POST /v2/gateway/api/create)
        m.approve(order_id)  # the shopper pays in the app: the IPN goes to the order's ipnUrl
        m.wait_idle()

Fault knobs (``set_knobs`` or ``POST /sandbox/knobs``): ``fail_next`` (the next n API calls
answer HTTP 500 and do nothing), ``latency`` (seconds before each API answer),
``duplicate_ipn`` (every IPN sent twice), ``drop_ipn`` (IPNs not sent: reconciliation's case).
An IPN answered with anything but 2xx, or not answered, is sent again with backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .._common import BodyError, LoopbackSandbox, SandboxHandler, read_body

logger = logging.getLogger("sandboxes.momo")

MIN_AMOUNT = 1_000
MAX_AMOUNT = 50_000_000
MAX_BODY = 64 * 1024
CREATE_FIELDS = (
    "accessKey",
    "amount",
    "extraData",
    "ipnUrl",
    "orderId",
    "orderInfo",
    "partnerCode",
    "redirectUrl",
    "requestId",
    "requestType",
)
IPN_FIELDS = (
    "accessKey",
    "amount",
    "extraData",
    "message",
    "orderId",
    "orderInfo",
    "orderType",
    "partnerCode",
    "payType",
    "requestId",
    "responseTime",
    "resultCode",
    "transId",
)
QUERY_FIELDS = (
    "accessKey",
    "orderId",
    "partnerCode",
    "requestId",
)
REFUND_FIELDS = (
    "accessKey",
    "amount",
    "description",
    "orderId",
    "partnerCode",
    "requestId",
    "transId",
)
MESSAGES = {
    0: "Successful.",
    13: "Merchant authentication failed.",
    20: "Bad format request.",
    21: "Request rejected due to invalid transaction amount.",
    22: "The transaction amount is out of range.",
    40: "Duplicated requestId.",
    41: "Duplicated orderId.",
    42: "Invalid orderId or orderId is not found.",
    1000: "Transaction is initiated, waiting for user confirmation.",
    1005: "Transaction failed because the url or QR code expired.",
    1006: "Transaction failed because user has denied to confirm the payment.",
}


def sign(fields: list[str] | tuple[str, ...], values: dict[str, Any], secret_key: str) -> str:
    """Hex HMAC-SHA256 of ``k1=v1&k2=v2…`` in the documented order, values not encoded."""
    raw = "&".join(f"{name}={'' if values.get(name) is None else values[name]}" for name in fields)
    return hmac.new(secret_key.encode(), raw.encode(), hashlib.sha256).hexdigest()


def now_ms() -> int:
    return int(time.time() * 1000)


class Refused(Exception):
    def __init__(self, code: int, http_status: int = 400) -> None:
        super().__init__(MESSAGES.get(code, "Error"))
        self.code = code
        self.http_status = http_status


@dataclass
class Order:
    order_id: str
    request_id: str
    amount: int
    order_info: str
    extra_data: str
    ipn_url: str
    redirect_url: str
    result_code: int = 1000
    trans_id: int = 0
    pay_type: str = ""
    refunds: list[dict[str, Any]] = field(default_factory=list)

    @property
    def refunded(self) -> int:
        return sum(r["amount"] for r in self.refunds)


@dataclass
class Knobs:
    fail_next: int = 0
    latency: float = 0.0
    duplicate_ipn: bool = False
    drop_ipn: bool = False


class MomoSandbox(LoopbackSandbox):
    """A stand-in MoMo on ``http://host:port`` (``port=0``: any free port, see :attr:`url`)."""

    name = "momo"
    title = "MoMo sandbox"

    def __init__(
        self,
        *,
        partner_code: str,
        access_key: str,
        secret_key: str,
        host: str = "127.0.0.1",
        port: int = 0,
        backoff_base: float = 0.5,
        max_attempts: int = 6,
        quiet: bool = True,
    ) -> None:
        self.partner_code = partner_code
        self.access_key = access_key
        self.secret_key = secret_key
        super().__init__(host, port, quiet=quiet)
        self.backoff_base = backoff_base
        self.max_attempts = max_attempts
        self.knobs = Knobs()
        self.orders: dict[str, Order] = {}
        self.answers: dict[str, tuple[str, int, dict[str, Any]]] = {}  # requestId → replay
        self.deliveries: list[dict[str, Any]] = []
        self._trans = itertools.count(int(time.time()) * 10)
        self._lock = threading.Lock()
        self._idle = threading.Condition()
        self._pending = 0

    # -- lifecycle ------------------------------------------------------------

    def handler_class(self) -> type[_Handler]:
        return _Handler

    def set_knobs(self, **values: Any) -> None:
        with self._lock:
            for name, value in values.items():
                if not hasattr(self.knobs, name):
                    raise ValueError(f"unknown knob {name}")
                kind = type(getattr(self.knobs, name))
                if kind is bool and not isinstance(value, bool):
                    raise ValueError(f"{name} is true or false")
                if kind is not bool and (isinstance(value, bool) or float(value) < 0):
                    raise ValueError(f"{name} is a number, 0 or more")
                setattr(self.knobs, name, kind(value))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    # -- the shopper ----------------------------------------------------------

    def approve(self, order_id: str, pay_type: str = "qr") -> Order:
        return self._finish(order_id, 0, pay_type)

    def decline(self, order_id: str) -> Order:
        return self._finish(order_id, 1006, "")

    def expire(self, order_id: str) -> Order:
        return self._finish(order_id, 1005, "")

    def _finish(self, order_id: str, code: int, pay_type: str) -> Order:
        with self._lock:
            order = self.orders[order_id]
            if order.result_code != 1000:
                return order  # already paid, declined or expired
            order.result_code = code
            order.trans_id = next(self._trans)
            order.pay_type = pay_type
            ipn = self.ipn_body(order)
            copies = 0 if self.knobs.drop_ipn else (2 if self.knobs.duplicate_ipn else 1)
        for _ in range(copies):
            self._deliver(order.ipn_url, ipn)
        return order

    def ipn_body(self, order: Order) -> dict[str, Any]:
        body: dict[str, Any] = {
            "partnerCode": self.partner_code,
            "orderId": order.order_id,
            "requestId": order.request_id,
            "amount": order.amount,
            "orderInfo": order.order_info,
            "orderType": "momo_wallet",
            "transId": order.trans_id,
            "resultCode": order.result_code,
            "message": MESSAGES.get(order.result_code, ""),
            "payType": order.pay_type,
            "responseTime": now_ms(),
            "extraData": order.extra_data,
        }
        body["signature"] = sign(
            IPN_FIELDS, {**body, "accessKey": self.access_key}, self.secret_key
        )
        return body

    # -- IPN delivery ---------------------------------------------------------

    def _deliver(self, url: str, body: dict[str, Any]) -> None:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        with self._idle:
            self._pending += 1
        threading.Thread(target=self._send, args=(url, data, body["orderId"]), daemon=True).start()

    def _send(self, url: str, data: bytes, order_id: str) -> None:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            for attempt in range(1, self.max_attempts + 1):
                request = urllib.request.Request(  # noqa: S310 - the order's ipnUrl
                    url, data=data, method="POST", headers={"Content-Type": "application/json"}
                )
                status: int | None = None
                try:
                    with opener.open(request, timeout=15) as answer:
                        status = answer.status
                except urllib.error.HTTPError as failure:
                    status = failure.code
                    failure.close()
                except OSError:
                    status = None
                with self._lock:
                    self.deliveries.append(
                        {"orderId": order_id, "attempt": attempt, "status": status}
                    )
                if (status is not None and 200 <= status < 300) or attempt == self.max_attempts:
                    return
                if self._stopping.wait(min(30.0, self.backoff_base * 2 ** (attempt - 1))):
                    return  # stopped: no more retries
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    # -- API ------------------------------------------------------------------

    def api(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        handlers = {
            "/v2/gateway/api/create": self._create,
            "/v2/gateway/api/query": self._query,
            "/v2/gateway/api/refund": self._refund,
        }
        base = {
            "partnerCode": body.get("partnerCode", ""),
            "requestId": body.get("requestId", ""),
            "orderId": body.get("orderId", ""),
        }
        try:
            if body.get("partnerCode") != self.partner_code:
                raise Refused(13, 401)
            return 200, {**base, **handlers[path](body), "responseTime": now_ms()}
        except Refused as refusal:
            answer = {**base, "resultCode": refusal.code, "message": str(refusal)}
            return refusal.http_status, {**answer, "responseTime": now_ms()}

    def _verify(self, fields: tuple[str, ...], body: dict[str, Any]) -> None:
        expected = sign(fields, {**body, "accessKey": self.access_key}, self.secret_key)
        if not hmac.compare_digest(expected, str(body.get("signature", ""))):
            raise Refused(13, 401)

    def _replay(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """MoMo 2.1+: the same requestId and body again → the first answer; another body → 40."""
        seen = self.answers.get(str(body.get("requestId", "")))
        if seen is None:
            return None
        if seen[0] != json.dumps(body, sort_keys=True):
            raise Refused(40)
        return seen[2]

    def _remember(self, body: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
        self.answers[str(body["requestId"])] = (json.dumps(body, sort_keys=True), 200, answer)
        return answer

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        for name in ("requestId", "orderId", "orderInfo", "ipnUrl", "redirectUrl", "signature"):
            if not isinstance(body.get(name), str) or (name != "orderInfo" and not body[name]):
                raise Refused(20)
        if not isinstance(body.get("extraData", ""), str) or body.get("requestType") != (
            "captureWallet"
        ):
            raise Refused(20)
        amount = body.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise Refused(21)
        self._verify(CREATE_FIELDS, body)
        if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
            raise Refused(22)
        with self._lock:
            replay = self._replay(body)
            if replay is not None:
                return replay
            if body["orderId"] in self.orders:
                raise Refused(41)
            order = Order(
                order_id=body["orderId"],
                request_id=body["requestId"],
                amount=amount,
                order_info=body["orderInfo"],
                extra_data=body.get("extraData", ""),
                ipn_url=body["ipnUrl"],
                redirect_url=body["redirectUrl"],
            )
            self.orders[order.order_id] = order
            pay_url = f"{self.url}/pay/{order.order_id}"
            return self._remember(
                body,
                {
                    "amount": amount,
                    "resultCode": 0,
                    "message": MESSAGES[0],
                    "payUrl": pay_url,
                    "deeplink": f"momo://app?action=payWithApp&orderId={order.order_id}",
                    "qrCodeUrl": pay_url,
                },
            )

    def _query(self, body: dict[str, Any]) -> dict[str, Any]:
        self._verify(QUERY_FIELDS, body)
        with self._lock:
            order = self.orders.get(str(body.get("orderId", "")))
            if order is None:
                raise Refused(42)
            return {
                "extraData": order.extra_data,
                "amount": order.amount,
                "transId": order.trans_id,
                "payType": order.pay_type,
                "resultCode": order.result_code,
                "refundTrans": list(order.refunds),
                "message": MESSAGES.get(order.result_code, ""),
                "lastUpdated": now_ms(),
            }

    def _refund(self, body: dict[str, Any]) -> dict[str, Any]:
        amount = body.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < MIN_AMOUNT:
            raise Refused(21)
        if not isinstance(body.get("orderId"), str) or not body.get("requestId"):
            raise Refused(20)
        self._verify(REFUND_FIELDS, body)
        with self._lock:
            replay = self._replay(body)
            if replay is not None:
                return replay
            paid = next(
                (
                    o
                    for o in self.orders.values()
                    if str(o.trans_id) == str(body.get("transId")) and o.result_code == 0
                ),
                None,
            )
            if paid is None:
                raise Refused(42)
            if body["orderId"] in self.orders or any(
                r["orderId"] == body["orderId"] for o in self.orders.values() for r in o.refunds
            ):
                raise Refused(41)
            if amount > paid.amount - paid.refunded:
                raise Refused(21)
            refund = {"orderId": body["orderId"], "amount": amount, "transId": next(self._trans)}
            refund.update(resultCode=0, createdTime=now_ms(), description=body.get("description"))
            paid.refunds.append(refund)
            answer = {"amount": amount, "transId": refund["transId"], "resultCode": 0}
            return self._remember(body, {**answer, "message": MESSAGES[0]})


PAGE = """<!doctype html><html lang="vi"><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>MoMo (sandbox)</title>
<style>body{{font-family:sans-serif;margin:1rem}}button{{min-height:48px;min-width:120px;
font-size:1.1rem;margin:.5rem 0}}</style>
<h1>MoMo sandbox</h1><p>{info}</p><p><strong>{amount} đ</strong></p><p>{state}</p>
<form method="post" action="/pay/{order}/approve"><button>Xác nhận thanh toán</button></form>
<form method="post" action="/pay/{order}/decline"><button>Từ chối</button></form></html>"""


class _Handler(SandboxHandler):
    server_version = "MomoSandbox/1.0"

    def _dispatch(self, method: str) -> None:
        sandbox: MomoSandbox = self.sandbox
        path = urlsplit(self.path).path
        try:
            raw = read_body(self.rfile, self.headers, MAX_BODY)  # type: ignore[arg-type]
        except BodyError as error:
            self._json(error.status, {"resultCode": 20, "message": str(error)}, close=True)
            return
        if method == "GET" and path.startswith("/pay/"):
            order = sandbox.orders.get(path.removeprefix("/pay/"))
            if order is None:
                self._html(404, "<p>Không tìm thấy giao dịch.</p>")
                return
            state = {0: "Đã thanh toán", 1000: "Chờ xác nhận"}.get(order.result_code, "Thất bại")
            page = PAGE.format(
                info=html.escape(order.order_info),
                amount=f"{order.amount:,}".replace(",", "."),
                state=state,
                order=html.escape(order.order_id),
            )
            self._html(200, page)
            return
        if method == "POST" and path.startswith("/pay/") and path.count("/") == 3:
            _, _, order_id, action = path.split("/")
            if order_id not in sandbox.orders or action not in ("approve", "decline"):
                self._html(404, "<p>Không tìm thấy giao dịch.</p>")
                return
            getattr(sandbox, action)(order_id)
            self.send_response(303)
            self.send_header("Location", f"/pay/{order_id}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self._json(400, {"resultCode": 20, "message": MESSAGES[20]})
            return
        if method == "POST" and path == "/sandbox/knobs" and isinstance(body, dict):
            try:
                sandbox.set_knobs(**body)
            except (ValueError, TypeError) as error:
                self._json(400, {"error": str(error)})
                return
            self._json(200, vars(sandbox.knobs))
            return
        if method == "GET" and path == "/sandbox/deliveries":
            self._json(200, {"deliveries": list(sandbox.deliveries)})
            return
        if method != "POST" or not path.startswith("/v2/gateway/api/"):
            self._json(404, {"resultCode": 20, "message": "Not found."})
            return
        with sandbox._lock:
            latency, failing = sandbox.knobs.latency, sandbox.knobs.fail_next > 0
            if failing:
                sandbox.knobs.fail_next -= 1
        if latency:
            time.sleep(latency)
        if failing:
            self._json(500, {"resultCode": 99, "message": "Unknown error (sandbox fault)."})
            return
        if path not in (
            "/v2/gateway/api/create",
            "/v2/gateway/api/query",
            "/v2/gateway/api/refund",
        ):
            self._json(404, {"resultCode": 20, "message": "Not found."})
            return
        if not isinstance(body, dict):
            self._json(400, {"resultCode": 20, "message": MESSAGES[20]})
            return
        status, answer = sandbox.api(path, body)
        self._json(status, answer)

    def _json(self, status: int, data: dict[str, Any], close: bool = False) -> None:
        payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(payload)

    def _html(self, status: int, page: str) -> None:
        payload = page.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
