"""A tiny scripted wallet server for the SDK's unit tests (no Django database involved)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from payments import sdk

API_KEY = "sk_test_unit_5ecret_do_not_log"


def payment_json(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "pay_0123456789abcdef01234567",
        "object": "payment",
        "amount": 85000,
        "currency": "vnd",
        "status": "pending",
        "amount_refunded": 0,
        "merchant_reference": "CS7K4PX",
        "merchant_name": "Hải sản Hùng",
        "description": "Chợ Số CS7K4PX",
        "pay_url": "http://127.0.0.1:8102/pay/pay_0123456789abcdef01234567",
        "qr_payload": "http://127.0.0.1:8102/pay/pay_0123456789abcdef01234567",
        "failure_reason": None,
        "wallet_phone": None,
        "created": 1_790_000_000,
        "expires_at": 1_790_000_900,
        "metadata": {"order": "42"},
    }
    data.update(overrides)
    return data


def refund_json(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "re_0123456789abcdef01234567",
        "object": "refund",
        "payment": "pay_0123456789abcdef01234567",
        "amount": 20000,
        "status": "succeeded",
        "reason": "thiếu hàng",
        "created": 1_790_000_100,
    }
    data.update(overrides)
    return data


def error_json(type_: str, code: str | None = None, message: str = "", param: str | None = None):
    return {"error": {"type": type_, "code": code, "message": message, "param": param}}


@dataclass
class Reply:
    """One scripted answer. ``body``: a dict/list is sent as JSON, bytes as they are.
    ``hang``: seconds to wait before answering (to make the client time out)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    hang: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


class FakeWallet:
    """Answers from ``script`` in order (then ``default``), and records every request."""

    def __init__(self) -> None:
        self.script: list[Reply] = []
        self.default = Reply(200, payment_json())
        self.requests: list[Seen] = []
        self.release = threading.Event()  # set at teardown so hanging handlers finish
        self._lock = threading.Lock()
        self._count = 0
        wallet = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else headers + body cost a 40 ms delayed ACK

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                with wallet._lock:
                    wallet.requests.append(
                        Seen(
                            self.command,
                            parts.path,
                            parse_qs(parts.query),
                            dict(self.headers),
                            body,
                        )
                    )
                    wallet._count += 1
                    n = wallet._count
                    reply = wallet.script.pop(0) if wallet.script else wallet.default
                if reply.hang:
                    wallet.release.wait(reply.hang)
                raw = (
                    reply.body
                    if isinstance(reply.body, bytes)
                    else json.dumps({} if reply.body is None else reply.body).encode()
                )
                try:
                    self.send_response(reply.status)
                    headers = {"Request-Id": f"req_{n:016x}", "Content-Type": "application/json"}
                    headers.update(reply.headers)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except OSError:
                    pass  # the client gave up (timeout)

            do_GET = do_POST = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def queue(self, *replies: Reply) -> FakeWallet:
        self.script.extend(replies)
        return self

    @property
    def attempts(self) -> int:
        return len(self.requests)

    def start(self) -> FakeWallet:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # requests honours *_PROXY variables: loopback tests must not go through a proxy.
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def wallet() -> Iterator[FakeWallet]:
    fake = FakeWallet().start()
    yield fake
    fake.stop()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(wallet: FakeWallet, sleeps: list[float]) -> Iterator[sdk.Client]:
    with sdk.Client(API_KEY, wallet.url, timeout=2.0, sleep=sleeps.append) as c:
        yield c
