"""The sandbox e-wallet provider, over real HTTP (``requests``), against a receiver started here.

No database and no SDK: these tests pin the wire protocol of sandboxes/ewallet/PROTOCOL.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from sandboxes.ewallet import SIGNATURE_HEADER, EWalletError, EWalletSandbox, verify
from sandboxes.ewallet.__main__ import parse_args

SECRET = "whsec_test_ewallet"
KEY = "sk_test_chosso"
OTHER_KEY = "sk_test_other"
KEYS = {KEY: "Chợ Số", OTHER_KEY: "Another platform"}  # API key → account name
PAYMENT_FIELDS = ["id", "object", "amount", "currency", "status", "amount_refunded"]
PAYMENT_FIELDS += ["merchant_reference", "merchant_name", "description", "pay_url", "qr_payload"]
PAYMENT_FIELDS += ["failure_reason", "wallet_phone", "created", "expires_at", "metadata"]
REFUND_FIELDS = ["id", "object", "payment", "amount", "status", "reason", "created"]
MISSING = (404, "invalid_request_error", "resource_missing")
TOKEN_RE = re.compile(r'name="token" value="([^"]+)"')

http = requests.Session()
http.trust_env = False  # loopback: never through a proxy from the environment


# --------------------------------------------------------------------------- #
# A receiving webhook endpoint, a fake clock, helpers
# --------------------------------------------------------------------------- #


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every POST; answers statuses from ``script`` in turn, then 200."""

    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._changed:
                    receiver.received.append(Received(dict(self.headers), body))
                    status = receiver.script.pop(0) if receiver.script else 200
                    receiver._changed.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks/ewallet"

    def wait_for(self, count: int, timeout: float = 3.0) -> list[Received]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.received) >= count, timeout):
                pytest.fail(f"expected {count} webhooks, got {len(self.received)}")
            return list(self.received)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class FakeClock:
    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def wallet(receiver, clock):
    sandbox = EWalletSandbox(
        receiver.url, SECRET, KEYS, timeout=0.5, backoff_base=0.01, backoff_cap=0.05, clock=clock
    ).start()
    yield sandbox
    sandbox.stop()


def api(wallet, method, path, body=None, *, key=KEY, idempotency_key=None, **kwargs):
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return http.request(method, f"{wallet.url}{path}", json=body, headers=headers, **kwargs)


def create(wallet, **overrides) -> requests.Response:
    body = {
        "amount": 85000,
        "currency": "vnd",
        "merchant_reference": "CS7K4PX",
        "merchant_name": "Hải sản Hùng",
        "description": "Tôm sú 0,5 kg",
        "metadata": {"order": "CS7K4PX"},
        **overrides,
    }
    return api(wallet, "POST", "/v1/payments", {k: v for k, v in body.items() if v is not None})


def paid(wallet, amount: int = 85000) -> dict[str, Any]:
    payment = create(wallet, amount=amount).json()
    return wallet.approve(payment["id"], phone="0909 000 003")


def error_of(response: requests.Response) -> tuple[int, str, str, str | None]:
    error = response.json()["error"]
    assert error["message"]
    return response.status_code, error["type"], error["code"], error["param"]


def hmac_hex(t: str, body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def check_signed_event(received: Received, event_type: str) -> dict[str, Any]:
    """The HMAC, the timestamp and the event's shape; returns ``data.object``."""
    match = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", received.headers[SIGNATURE_HEADER])
    assert match, received.headers[SIGNATURE_HEADER]
    t, v1 = match.groups()
    assert abs(time.time() - int(t)) <= 5
    assert hmac.compare_digest(hmac_hex(t, received.body), v1)
    assert not hmac.compare_digest(hmac_hex(t, received.body, "another-secret"), v1)
    assert received.headers["Content-Type"].startswith("application/json")
    event = received.json
    assert received.body == json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    assert list(event) == ["id", "object", "type", "created", "data"]
    assert re.fullmatch(r"evt_[0-9a-f]{24}", event["id"])
    assert (event["object"], event["type"]) == ("event", event_type)
    return event["data"]["object"]


def pay_page_token(page: str) -> str:
    match = TOKEN_RE.search(page)
    assert match, page
    return match.group(1)


# --------------------------------------------------------------------------- #
# The API
# --------------------------------------------------------------------------- #


def test_it_refuses_a_missing_or_unknown_api_key(wallet):
    missing = api(wallet, "GET", "/v1/payments", key=None)
    unknown = api(wallet, "POST", "/v1/payments", {"amount": 85000}, key="sk_test_nope")
    basic = http.get(f"{wallet.url}/v1/payments", headers={"Authorization": f"Basic {KEY}"})

    for refused in (missing, unknown, basic):
        assert error_of(refused)[:2] == (401, "authentication_error")
        assert refused.headers["Should-Retry"] == "false"
        assert refused.headers["WWW-Authenticate"] == "Bearer"
        assert re.fullmatch(r"req_[0-9a-f]{24}", refused.headers["Request-Id"])
    assert wallet.events() == []


def test_it_creates_a_pending_payment_with_a_pay_url(wallet, clock):
    response = create(wallet)

    assert response.status_code == 201, response.text
    payment = response.json()
    assert list(payment) == PAYMENT_FIELDS
    assert re.fullmatch(r"pay_[0-9a-f]{24}", payment["id"])
    assert payment | {"id": "", "pay_url": "", "qr_payload": ""} == {
        "id": "",
        "object": "payment",
        "amount": 85000,
        "currency": "vnd",
        "status": "pending",
        "amount_refunded": 0,
        "merchant_reference": "CS7K4PX",
        "merchant_name": "Hải sản Hùng",
        "description": "Tôm sú 0,5 kg",
        "pay_url": "",
        "qr_payload": "",
        "failure_reason": None,
        "wallet_phone": None,
        "created": int(clock.now),
        "expires_at": int(clock.now) + 900,
        "metadata": {"order": "CS7K4PX"},
    }
    assert payment["pay_url"] == payment["qr_payload"] == f"{wallet.url}/pay/{payment['id']}"
    assert "Idempotent-Replayed" not in response.headers
    minimal = api(wallet, "POST", "/v1/payments", {"amount": 1000, "merchant_reference": "A"})
    assert minimal.status_code == 201
    assert minimal.json()["merchant_name"] == "Chợ Số"  # the API key's account name
    assert (minimal.json()["description"], minimal.json()["metadata"]) == ("", {})


@pytest.mark.parametrize(
    ("overrides", "code", "param"),
    [
        ({"amount": None}, "parameter_missing", "amount"),
        ({"amount": "85000"}, "parameter_invalid", "amount"),
        ({"amount": 85000.0}, "parameter_invalid", "amount"),
        ({"amount": True}, "parameter_invalid", "amount"),
        ({"amount": 999}, "parameter_invalid", "amount"),
        ({"amount": 50_000_001}, "parameter_invalid", "amount"),
        ({"currency": "usd"}, "parameter_invalid", "currency"),
        ({"merchant_reference": None}, "parameter_missing", "merchant_reference"),
        ({"merchant_reference": "CS 7K"}, "parameter_invalid", "merchant_reference"),
        ({"merchant_reference": "x" * 65}, "parameter_invalid", "merchant_reference"),
        ({"merchant_name": "x" * 81}, "parameter_invalid", "merchant_name"),
        ({"description": "x" * 141}, "parameter_invalid", "description"),
        ({"expires_in": 59}, "parameter_invalid", "expires_in"),
        ({"expires_in": 86_401}, "parameter_invalid", "expires_in"),
        ({"metadata": {"table": 7}}, "parameter_invalid", "metadata[table]"),
        ({"metadata": ["x"]}, "parameter_invalid", "metadata"),
        ({"colour": "red"}, "parameter_unknown", "colour"),
    ],
)
def test_it_validates_payment_parameters(wallet, overrides, code, param):
    response = create(wallet, **overrides)

    assert error_of(response) == (400, "invalid_request_error", code, param)
    assert response.headers["Should-Retry"] == "false"
    assert api(wallet, "GET", "/v1/payments").json()["data"] == []


def test_it_refuses_a_body_that_is_not_a_json_object(wallet):
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    for data in (b"{nope", b"[1, 2]"):
        response = http.post(f"{wallet.url}/v1/payments", data=data, headers=headers)
        assert error_of(response) == (400, "invalid_request_error", "invalid_json", None)


def test_it_retrieves_lists_and_cancels_payments(wallet, clock):
    created = []
    for reference in ["A1", "B2", "A1"]:
        clock.now += 1
        created.append(create(wallet, merchant_reference=reference).json())
    ids = [p["id"] for p in created]
    body = {"amount": 5000, "merchant_reference": "Z"}
    theirs = api(wallet, "POST", "/v1/payments", body, key=OTHER_KEY).json()

    def listed(query: str = "") -> tuple[list[str], bool]:
        response = api(wallet, "GET", f"/v1/payments{query}")
        assert response.status_code == 200, response.text
        assert response.json()["object"] == "list"
        return [p["id"] for p in response.json()["data"]], response.json()["has_more"]

    assert api(wallet, "GET", f"/v1/payments/{ids[0]}").json() == created[0]
    assert listed() == (ids[::-1], False)  # newest first, only this key's
    assert listed("?merchant_reference=A1") == ([ids[2], ids[0]], False)
    assert listed("?limit=2") == ([ids[2], ids[1]], True)
    assert listed(f"?limit=2&starting_after={ids[1]}") == ([ids[0]], False)

    canceled = api(wallet, "POST", f"/v1/payments/{ids[1]}/cancel", {})
    again = api(wallet, "POST", f"/v1/payments/{ids[1]}/cancel", {})

    assert canceled.status_code == 200
    assert canceled.json()["status"] == "canceled"
    assert error_of(again) == (400, "invalid_request_error", "payment_not_cancelable", None)
    assert listed("?status=canceled") == ([ids[1]], False)
    assert wallet.events() == []  # canceling sends no webhook
    assert error_of(api(wallet, "GET", "/v1/payments/pay_" + "0" * 24)) == (*MISSING, "id")
    forbidden = api(wallet, "GET", f"/v1/payments/{theirs['id']}")
    assert error_of(forbidden)[:3] == (403, "permission_error", "permission_denied")
    assert error_of(api(wallet, "GET", "/v1/payments?limit=101"))[3] == "limit"
    assert error_of(api(wallet, "GET", "/v1/payments?status=paid"))[3] == "status"
    assert error_of(api(wallet, "GET", "/v1/payments?starting_after=pay_x"))[:3] == MISSING


def test_it_answers_unknown_urls_and_methods_with_request_ids(wallet):
    unknown = api(wallet, "GET", "/v1/charges")
    wrong = api(wallet, "DELETE", "/v1/payments")
    page = http.get(f"{wallet.url}/nowhere")
    health = http.get(f"{wallet.url}/healthz")

    assert error_of(unknown)[:3] == (404, "invalid_request_error", "unknown_url")
    assert wrong.status_code == 405
    assert wrong.headers["Allow"] == "GET, POST"
    assert page.status_code == 404
    assert "Không có địa chỉ này" in page.text
    assert health.json() == {"ok": True}
    ids = {r.headers["Request-Id"] for r in (unknown, wrong, page, health)}
    assert len(ids) == 4


# --------------------------------------------------------------------------- #
# The pay page and the webhooks
# --------------------------------------------------------------------------- #


def test_it_walks_the_shopper_through_the_pay_page_and_sends_one_signed_event(wallet, receiver):
    payment = create(wallet).json()

    page = http.get(payment["pay_url"])

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Request-Id"].startswith("req_")
    for text in ('<html lang="vi">', 'name="viewport"', 'type="tel"', "Hải sản Hùng"):
        assert text in page.text
    assert "85.000 đ" in page.text
    assert "Đăng nhập ví để thanh toán" in page.text

    login = http.post(f"{payment['pay_url']}/login", data={"phone": "0909 000 002"})

    assert login.status_code == 200, login.text
    assert "Xác nhận thanh toán" in login.text
    assert "Từ chối" in login.text
    assert "5.000.000 đ" in login.text  # the wallet's balance
    form = {"token": pay_page_token(login.text), "phone": "+84909000002"}

    done = http.post(f"{payment['pay_url']}/approve", data=form)
    again = http.post(f"{payment['pay_url']}/approve", data=form)  # a double tap

    assert done.status_code == 200
    assert "Thanh toán thành công" in done.text
    assert again.status_code == 200
    assert "đã được xử lý trước đó" in again.text
    (delivered,) = receiver.wait_for(1)
    assert wallet.wait_idle(2)
    assert len(receiver.received) == 1
    retrieved = api(wallet, "GET", f"/v1/payments/{payment['id']}").json()
    assert retrieved["status"] == "succeeded"
    assert retrieved["wallet_phone"] == "+84909000002"
    assert check_signed_event(delivered, "payment.succeeded") == retrieved
    assert verify(delivered.body, delivered.headers[SIGNATURE_HEADER], SECRET)
    assert wallet.wallet_balance("0909000002") == 4_915_000
    assert "4.915.000 đ" in http.get(f"{wallet.url}/").text
    (attempt,) = wallet.deliveries()
    fields = ("event_id", "type", "attempt", "copy", "status", "error", "ok", "elapsed_ms", "at")
    assert tuple(attempt) == fields
    assert list(attempt.values())[:5] == [delivered.json["id"], "payment.succeeded", 1, 1, 200]
    assert (attempt["error"], attempt["ok"]) == (None, True)
    listed = http.get(f"{wallet.url}/v1/_deliveries").json()
    assert listed == {"deliveries": [attempt], "pending": 0}


def test_it_fails_a_declined_payment_and_sends_payment_failed(wallet, receiver):
    payment = create(wallet).json()
    token = pay_page_token(http.get(payment["pay_url"]).text)

    declined = http.post(f"{payment['pay_url']}/decline", data={"token": token})

    assert declined.status_code == 200
    assert "Bạn đã từ chối thanh toán" in declined.text
    (delivered,) = receiver.wait_for(1)
    sent = check_signed_event(delivered, "payment.failed")
    assert sent["id"] == payment["id"]
    assert (sent["status"], sent["failure_reason"]) == ("failed", "declined_by_shopper")
    assert http.post(f"{payment['pay_url']}/login", data={"phone": "0909000001"}).status_code == 409
    with pytest.raises(EWalletError) as refused:
        wallet.approve(payment["id"])
    assert refused.value.code == "payment_not_pending"


def test_it_explains_refusals_on_the_pay_page(wallet):
    rich = create(wallet, amount=6_000_000).json()
    other = create(wallet).json()

    bad_phone = http.post(f"{rich['pay_url']}/login", data={"phone": "12345"})
    login = http.post(f"{rich['pay_url']}/login", data={"phone": "0909000004"})
    token = pay_page_token(login.text)
    broke = http.post(f"{rich['pay_url']}/approve", data={"token": token, "phone": "0909000004"})
    stolen = http.post(f"{other['pay_url']}/approve", data={"token": token})
    unknown = http.get(f"{wallet.url}/pay/pay_{'0' * 24}")

    assert bad_phone.status_code == 400
    assert "Số điện thoại không hợp lệ" in bad_phone.text
    assert 'role="alert"' in bad_phone.text
    assert "Số dư ví không đủ" in login.text
    assert " disabled>" in login.text
    assert broke.status_code == 400
    assert "Số dư ví không đủ" in broke.text
    assert stolen.status_code == 400
    assert "Phiên thanh toán không hợp lệ" in stolen.text
    assert unknown.status_code == 404
    assert "Không tìm thấy yêu cầu thanh toán" in unknown.text
    assert wallet.payment(rich["id"])["status"] == "pending"
    assert wallet.wallet_balance("0909 000 004") == 5_000_000


def test_it_expires_a_pending_payment_which_then_cannot_be_approved(wallet, receiver, clock):
    payment = create(wallet, expires_in=60).json()
    login = http.post(f"{payment['pay_url']}/login", data={"phone": "0909000005"})
    token = pay_page_token(login.text)

    clock.now += 60
    retrieved = api(wallet, "GET", f"/v1/payments/{payment['id']}").json()
    late = http.post(f"{payment['pay_url']}/approve", data={"token": token})

    assert payment["expires_at"] == payment["created"] + 60
    assert (retrieved["status"], retrieved["failure_reason"]) == ("failed", "expired")
    assert late.status_code == 409
    assert "Yêu cầu thanh toán đã hết hạn" in late.text
    assert "Yêu cầu thanh toán đã hết hạn" in http.get(payment["pay_url"]).text
    with pytest.raises(EWalletError) as refused:
        wallet.approve(payment["id"])
    assert refused.value.code == "payment_expired"
    (delivered,) = receiver.wait_for(1)
    assert check_signed_event(delivered, "payment.failed")["failure_reason"] == "expired"
    assert wallet.wallet_balance("0909000005") == 5_000_000


def test_it_refunds_partially_then_fully_and_never_more_than_paid(wallet, receiver):
    payment = paid(wallet)
    pending = create(wallet).json()

    def refund(body: dict[str, Any]) -> requests.Response:
        return api(wallet, "POST", "/v1/refunds", body)

    first = refund({"payment": payment["id"], "amount": 20000, "reason": "Thiếu hàng"})
    after_first = api(wallet, "GET", f"/v1/payments/{payment['id']}").json()
    too_much = refund({"payment": payment["id"], "amount": 65001})
    rest = refund({"payment": payment["id"]})  # no amount: all that is left
    after_rest = api(wallet, "GET", f"/v1/payments/{payment['id']}").json()
    more = refund({"payment": payment["id"], "amount": 1000})

    assert first.status_code == 201, first.text
    assert list(first.json()) == REFUND_FIELDS
    assert re.fullmatch(r"re_[0-9a-f]{24}", first.json()["id"])
    assert first.json()["status"] == "succeeded"
    assert (after_first["status"], after_first["amount_refunded"]) == ("partially_refunded", 20000)
    assert error_of(too_much) == (400, "invalid_request_error", "amount_too_large", "amount")
    assert rest.json()["amount"] == 65000
    assert (after_rest["status"], after_rest["amount_refunded"]) == ("refunded", 85000)
    assert error_of(more) == (400, "invalid_request_error", "payment_not_refundable", "payment")
    assert error_of(refund({"payment": pending["id"]}))[2] == "payment_not_refundable"
    assert error_of(refund({"payment": payment["id"], "amount": 0}))[3] == "amount"
    assert error_of(refund({"amount": 1000}))[2:] == ("parameter_missing", "payment")
    assert error_of(refund({"payment": f"pay_{'0' * 24}"})) == (*MISSING, "payment")
    assert api(wallet, "GET", f"/v1/refunds/{first.json()['id']}").json() == first.json()
    assert api(wallet, "GET", f"/v1/refunds/{first.json()['id']}", key=OTHER_KEY).status_code == 403
    received = receiver.wait_for(3)
    assert wallet.wait_idle(2)
    refunds = [r for r in received if r.json["type"] == "refund.succeeded"]
    sent = sorted((check_signed_event(r, "refund.succeeded") for r in refunds), key=str)
    assert sorted(r["id"] for r in sent) == sorted([first.json()["id"], rest.json()["id"]])
    assert sorted(r["amount"] for r in sent) == [20000, 65000]
    assert wallet.wallet_balance("0909000003") == 5_000_000  # refunded to the wallet


# --------------------------------------------------------------------------- #
# Idempotency
# --------------------------------------------------------------------------- #


def test_it_replays_an_idempotent_request_and_refuses_a_reused_key(wallet):
    body = {"amount": 85000, "merchant_reference": "CS7K4PX"}
    first = api(wallet, "POST", "/v1/payments", body, idempotency_key="key-1")
    replay = http.post(
        f"{wallet.url}/v1/payments",
        data=b'{ "merchant_reference": "CS7K4PX",  "amount": 85000 }',  # same JSON, other bytes
        headers={"Authorization": f"Bearer {KEY}", "Idempotency-Key": "key-1"},
    )
    reused = api(wallet, "POST", "/v1/payments", body | {"amount": 1000}, idempotency_key="key-1")
    other_key = api(wallet, "POST", "/v1/payments", body, key=OTHER_KEY, idempotency_key="key-1")
    invalid = api(wallet, "POST", "/v1/payments", {"amount": 1}, idempotency_key="key-2")
    valid = api(wallet, "POST", "/v1/payments", body, idempotency_key="key-2")
    too_long = api(wallet, "POST", "/v1/payments", body, idempotency_key="k" * 256)

    assert first.status_code == replay.status_code == 201
    assert replay.content == first.content
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["Original-Request"] == first.headers["Request-Id"]
    assert replay.headers["Request-Id"] != first.headers["Request-Id"]
    assert error_of(reused)[:3] == (400, "idempotency_error", "idempotency_key_reused")
    assert other_key.status_code == 201  # keys are per API key
    assert other_key.json()["id"] != first.json()["id"]
    assert invalid.status_code == 400  # a validation failure is not saved…
    assert valid.status_code == 201  # …so the key runs again with a good body
    assert "Idempotent-Replayed" not in valid.headers
    assert error_of(too_long)[:3] == (400, "invalid_request_error", "idempotency_key_invalid")
    listed = api(wallet, "GET", "/v1/payments").json()["data"]
    assert sorted(p["id"] for p in listed) == sorted([first.json()["id"], valid.json()["id"]])


def test_it_adds_latency_during_which_a_duplicate_key_gets_409(wallet):
    wallet.set_knobs(latency_ms=400)
    body = {"amount": 85000, "merchant_reference": "CS7K4PX"}
    started = time.monotonic()
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(api, wallet, "POST", "/v1/payments", body, idempotency_key="slow")
        time.sleep(0.15)

        duplicate = api(wallet, "POST", "/v1/payments", body, idempotency_key="slow")
        first = slow.result(3)
    elapsed = time.monotonic() - started
    wallet.set_knobs(latency_ms=0)
    later = api(wallet, "POST", "/v1/payments", body, idempotency_key="slow")

    assert first.status_code == 201
    assert elapsed >= 0.39
    assert error_of(duplicate)[:3] == (409, "idempotency_error", "idempotency_key_in_use")
    assert duplicate.headers["Should-Retry"] == "true"
    assert later.headers["Idempotent-Replayed"] == "true"
    assert later.json()["id"] == first.json()["id"]
    assert len(api(wallet, "GET", "/v1/payments").json()["data"]) == 1


# --------------------------------------------------------------------------- #
# Knobs
# --------------------------------------------------------------------------- #


def test_it_fails_every_request_with_error_rate_1_before_doing_anything(wallet):
    knobs = http.post(f"{wallet.url}/v1/_knobs", json={"error_rate": 1}).json()

    failed = create(wallet)
    unauthenticated = api(wallet, "GET", "/v1/payments", key=None)
    wallet.set_knobs(error_rate=0.0)

    assert knobs["error_rate"] == 1.0
    assert error_of(failed)[:3] == (500, "api_error", "internal_error")
    assert "Should-Retry" not in failed.headers
    assert unauthenticated.status_code == 500  # even before the API key is looked at
    assert api(wallet, "GET", "/v1/payments").json()["data"] == []


def test_it_fails_the_next_requests_with_should_retry_and_keeps_no_key(wallet):
    http.post(f"{wallet.url}/v1/_knobs", json={"fail_next": 2})
    body = {"amount": 85000, "merchant_reference": "CS7K4PX"}

    answers = [api(wallet, "POST", "/v1/payments", body, idempotency_key="k") for _ in range(3)]

    assert [a.status_code for a in answers] == [503, 503, 201]
    assert [a.headers.get("Should-Retry") for a in answers] == ["true", "true", None]
    assert error_of(answers[0])[:2] == (503, "api_error")
    assert "Idempotent-Replayed" not in answers[2].headers  # the 503s were not saved
    assert http.get(f"{wallet.url}/v1/_knobs").json()["fail_next"] == 0
    wallet.set_knobs(fail_next=1, fail_next_status=429)
    limited = create(wallet)
    assert error_of(limited)[:2] == (429, "rate_limit_error")
    assert limited.headers["Should-Retry"] == "true"


def test_it_validates_shows_and_resets_knobs(wallet):
    url = f"{wallet.url}/v1/_knobs"
    defaults = dict(latency_ms=0, error_rate=0.0, fail_next=0, fail_next_status=503)
    defaults |= dict(drop_webhooks=False, duplicate_webhooks=False)
    assert http.get(url).json() == defaults

    for bad, param in [
        ({"error_rate": 1.5}, "error_rate"),
        ({"latency_ms": 5, "drop_webhooks": "yes"}, "drop_webhooks"),
        ({"fail_next": -1}, "fail_next"),
        ({"explode": True}, "explode"),
    ]:
        assert error_of(http.post(url, json=bad))[0::3] == (400, param)
    assert http.get(url).json() == defaults  # a refused update changes nothing

    paid(wallet)
    http.post(url, json={"drop_webhooks": True})
    reset = http.post(f"{wallet.url}/v1/_reset")

    assert reset.json() == {"ok": True, "knobs": defaults}
    assert api(wallet, "GET", "/v1/payments").json()["data"] == []
    assert wallet.events() == []


def test_it_drops_webhooks(wallet, receiver):
    wallet.set_knobs(drop_webhooks=True)

    payment = paid(wallet)

    assert wallet.wait_idle(1)
    time.sleep(0.1)
    assert receiver.received == []
    assert wallet.deliveries() == []
    assert [e["type"] for e in wallet.events()] == ["payment.succeeded"]
    assert wallet.payment(payment["id"])["status"] == "succeeded"


def test_it_duplicates_webhooks_with_the_same_event_id(wallet, receiver):
    wallet.set_knobs(duplicate_webhooks=True)

    paid(wallet)

    first, second = receiver.wait_for(2)
    assert wallet.wait_idle(2)
    assert len(receiver.received) == 2
    assert first.json["id"] == second.json["id"]
    assert first.body == second.body
    assert sorted(d["copy"] for d in wallet.deliveries()) == [1, 2]


def test_it_retries_a_failing_receiver_until_it_acknowledges(wallet, receiver):
    receiver.script = [500, 503]

    paid(wallet)

    received = receiver.wait_for(3)
    assert wallet.wait_idle(2)
    assert len({r.json["id"] for r in received}) == 1
    assert all(verify(r.body, r.headers[SIGNATURE_HEADER], SECRET) for r in received)
    attempts = [(d["attempt"], d["status"], d["ok"]) for d in wallet.deliveries()]
    assert attempts == [(1, 500, False), (2, 503, False), (3, 200, True)]


# --------------------------------------------------------------------------- #
# Lifecycle and CLI
# --------------------------------------------------------------------------- #


def test_it_starts_on_a_free_port_and_stops(receiver):
    sandbox = EWalletSandbox(receiver.url, SECRET, [KEY])
    assert sandbox.start() is sandbox
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sandbox.url)
    assert http.get(f"{sandbox.url}/healthz").status_code == 200
    sandbox.stop()
    with pytest.raises(requests.ConnectionError):
        http.get(f"{sandbox.url}/healthz", timeout=1)


def test_it_reads_cli_options_from_the_environment():
    env = {
        "EWALLET_WEBHOOK_URL": "http://127.0.0.1:9000/hook",
        "EWALLET_WEBHOOK_SECRET": "env-secret",
        "EWALLET_API_KEY": "sk_test_a, sk_test_b",
    }

    from_env = parse_args(["--port", "8102"], env)
    from_flags = parse_args(["--secret", "s", "--api-key", "k1", "--api-key", "k2"], env)
    defaults = parse_args([], {})

    assert from_env.webhook_url == "http://127.0.0.1:9000/hook"
    assert (from_env.port, from_env.secret) == (8102, "env-secret")
    assert from_env.api_keys == ["sk_test_a", "sk_test_b"]
    assert (from_flags.secret, from_flags.api_keys) == ("s", ["k1", "k2"])
    assert (defaults.port, defaults.secret) == (8102, "sandbox-ewallet-secret")
    assert defaults.api_keys == ["sandbox-ewallet-key"]
