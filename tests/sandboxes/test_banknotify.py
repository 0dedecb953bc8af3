"""The sandbox bank-notification service, over HTTP, against a receiver started here.

No database: the sandbox imports nothing of the product (it reads VietQR with its own reader,
sandboxes/banknotify/napas.py); the tests build payloads with payments.vietqr.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from core.qr import qr_png
from payments.vietqr import build
from sandboxes.banknotify import SIGNATURE_HEADER, BankNotifySandbox
from sandboxes.banknotify import verify as verify_signature
from sandboxes.banknotify.__main__ import parse_args

SECRET = "whsec_test_banknotify"
API_KEY = "ak_test_banknotify"
VCB = "970436"
ACCOUNT = "0041000123456"
VN = timezone(timedelta(hours=7))
FIELDS = [
    "id",
    "gateway",
    "bin",
    "account_number",
    "transfer_type",
    "amount",
    "description",
    "reference",
    "transaction_date",
    "counter_account",
    "counter_name",
]
HANG = -1  # a scripted "status": the receiver sleeps past the sandbox's timeout, then 200
GATE = -2  # a scripted "status": the receiver waits for ``receiver.gate``, then 200

_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --------------------------------------------------------------------------- #
# A receiving webhook endpoint and a tiny HTTP client
# --------------------------------------------------------------------------- #


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every POST; answers statuses from ``script`` in turn, then 200."""

    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    hang_seconds: float = 0.6
    gate: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._changed:
                    receiver.received.append(Received(dict(self.headers), body, time.time()))
                    status = receiver.script.pop(0) if receiver.script else 200
                    receiver._changed.notify_all()
                if status == HANG:
                    time.sleep(receiver.hang_seconds)
                    status = 200
                elif status == GATE:
                    receiver.gate.wait(5)
                    status = 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks/banknotify"

    def wait_for(self, count: int, timeout: float = 3.0) -> list[Received]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.received) >= count, timeout):
                pytest.fail(f"expected {count} notifications, got {len(self.received)}")
            return list(self.received)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def call(
    method: str,
    url: str,
    *,
    json_body: Any = None,
    data: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    headers = dict(headers or {})
    if json_body is not None:
        data = json.dumps(json_body).encode()
        headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with _opener.open(request, timeout=5) as answer:
            return Response(answer.status, dict(answer.headers), answer.read())
    except urllib.error.HTTPError as error:
        with error:
            return Response(error.code, dict(error.headers), error.read())


def post_form(url: str, fields: dict[str, str]) -> Response:
    return call(
        "POST",
        url,
        data=urlencode(fields).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


def hmac_hex(secret: str, t: str, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 20, 1, 2, 250_000, tzinfo=VN)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


# --------------------------------------------------------------------------- #
# Fixtures
# --------------------------------------------------------------------------- #


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bank(receiver, clock):
    sandbox = BankNotifySandbox(
        receiver.url,
        SECRET,
        API_KEY,
        timeout=0.3,
        backoff_base=0.01,
        backoff_cap=0.05,
        clock=clock,
    ).start()
    yield sandbox
    sandbox.stop()


def transfer(bank: BankNotifySandbox, **overrides: Any) -> Response:
    body = {
        "bin": VCB,
        "account_number": ACCOUNT,
        "amount": 150000,
        "description": "MBVCB.3278123.CS7K2QX.chuyen tien",
        "counter_account": "0011004123456",
        "counter_name": "NGUYEN VAN A",
        **overrides,
    }
    return call("POST", f"{bank.url}/api/transfers", json_body=body)


def list_transactions(bank: BankNotifySandbox, query: str = "", key: str | None = API_KEY):
    headers = {"Authorization": f"Apikey {key}"} if key is not None else {}
    return call("GET", f"{bank.url}/api/transactions{query}", headers=headers)


def deliveries(bank: BankNotifySandbox) -> list[dict[str, Any]]:
    return call("GET", f"{bank.url}/api/_deliveries").json["deliveries"]


# --------------------------------------------------------------------------- #
# Notifications
# --------------------------------------------------------------------------- #


def test_it_sends_one_signed_notification_with_the_exact_fields(bank, receiver):
    response = transfer(bank)

    assert response.status == 201
    created = response.json
    (notification,) = receiver.wait_for(1)
    assert bank.wait_idle(2)
    assert len(receiver.received) == 1
    assert list(notification.json) == FIELDS
    assert notification.json == created
    assert notification.body == json.dumps(
        created, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
    assert notification.headers["Content-Type"].startswith("application/json")
    assert re.fullmatch(r"bn_[0-9a-f]{24}", created["id"])
    assert re.fullmatch(r"FT26327[A-Z0-9]{7}", created["reference"])
    assert created | {"id": "", "reference": ""} == {
        "id": "",
        "gateway": "Vietcombank",
        "bin": VCB,
        "account_number": ACCOUNT,
        "transfer_type": "in",
        "amount": 150000,
        "description": "MBVCB.3278123.CS7K2QX.chuyen tien",
        "reference": "",
        "transaction_date": "2026-11-23T20:01:02+07:00",
        "counter_account": "0011004123456",
        "counter_name": "NGUYEN VAN A",
    }
    assert deliveries(bank) == [
        {
            "transaction_id": created["id"],
            "attempt": 1,
            "copy": 1,
            "status": 200,
            "error": None,
            "ok": True,
            "elapsed_ms": deliveries(bank)[0]["elapsed_ms"],
            "at": deliveries(bank)[0]["at"],
        }
    ]


def test_it_signs_with_the_secret_and_not_with_another(bank, receiver):
    transfer(bank, description="Thanh toán đơn hàng DH1709")  # non-ASCII body

    (notification,) = receiver.wait_for(1)
    header = notification.headers[SIGNATURE_HEADER]
    match = re.fullmatch(r"t=(\d+),v1=([0-9a-f]{64})", header)
    assert match, header
    t, v1 = match.groups()
    assert abs(time.time() - int(t)) <= 5
    assert hmac.compare_digest(hmac_hex(SECRET, t, notification.body), v1)
    assert not hmac.compare_digest(hmac_hex("another-secret", t, notification.body), v1)
    assert not hmac.compare_digest(hmac_hex(SECRET, t, notification.body + b" "), v1)
    assert "Thanh toán đơn hàng" in notification.body.decode("utf-8")
    assert verify_signature(notification.body, header, SECRET)
    assert not verify_signature(notification.body, header, "another-secret")
    assert not verify_signature(notification.body, header, SECRET, now=int(t) + 301)


def test_it_decodes_a_vietqr_payload_into_the_transfer(bank, receiver):
    payload = build(bin="970415", account="0011001932418", amount=120000, purpose="DH1709")

    response = call(
        "POST",
        f"{bank.url}/api/transfers",
        json_body={"payload": payload, "counter_account": "1903123456", "counter_name": "LE B"},
    )

    assert response.status == 201, response.text
    created = response.json
    assert created["gateway"] == "VietinBank"
    assert (created["bin"], created["account_number"], created["amount"]) == (
        "970415",
        "0011001932418",
        120000,
    )
    assert re.fullmatch(r"MBVCB\.\d{7}\.DH1709\.CT tu 1903123456", created["description"])
    assert receiver.wait_for(1)[0].json == created


def test_it_needs_an_amount_for_a_static_qr_and_refuses_another_for_a_dynamic_one(bank):
    static = build(bin=VCB, account=ACCOUNT)
    dynamic = build(bin=VCB, account=ACCOUNT, amount=50000, purpose="DH1")
    url = f"{bank.url}/api/transfers"

    missing = call("POST", url, json_body={"payload": static})
    paid = call("POST", url, json_body={"payload": static, "amount": 35000})
    other = call("POST", url, json_body={"payload": dynamic, "amount": 40000})
    same = call("POST", url, json_body={"payload": dynamic, "amount": 50000})

    assert missing.status == 400
    assert missing.json["error"]["code"] == "missing_amount"
    assert paid.status == 201
    assert paid.json["amount"] == 35000
    assert re.fullmatch(r"MBVCB\.\d{7}\.chuyen tien\.chuyen tien", paid.json["description"])
    assert other.status == 400
    assert other.json["error"]["code"] == "amount_mismatch"
    assert same.status == 201


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"bin": "970999"}, "unknown_bin"),
        ({"bin": None}, "missing_bin"),
        ({"amount": "150000"}, "invalid_amount"),
        ({"amount": 150000.0}, "invalid_amount"),
        ({"amount": True}, "invalid_amount"),
        ({"amount": 0}, "invalid_amount"),
        ({"amount": -5000}, "invalid_amount"),
        ({"amount": None}, "missing_amount"),
        ({"account_number": None}, "missing_account"),
        ({"account_number": ""}, "missing_account"),
        ({"account_number": "0041-000"}, "invalid_account"),
        ({"description": 42}, "invalid_description"),
        ({"payload": "000201010212garbage"}, "invalid_qr"),
    ],
)
def test_it_rejects_invalid_transfers(bank, overrides, code):
    body = {"bin": VCB, "account_number": ACCOUNT, "amount": 150000, "description": "x"}
    body.update(overrides)
    if "payload" in overrides:
        body = {"payload": overrides["payload"]}
    body = {name: value for name, value in body.items() if value is not None}

    response = call("POST", f"{bank.url}/api/transfers", json_body=body)

    assert response.status == 400
    assert response.json["error"]["code"] == code
    assert response.json["error"]["message"]
    assert bank.transactions() == []


def test_it_rejects_a_body_that_is_not_json_and_a_bad_crc(bank):
    good = build(bin=VCB, account=ACCOUNT, amount=1000)
    not_json = call(
        "POST", f"{bank.url}/api/transfers", data=b"{nope", headers={"Content-Type": "x"}
    )
    bad_crc = call("POST", f"{bank.url}/api/transfers", json_body={"payload": good[:-4] + "0000"})

    assert not_json.status == 400
    assert not_json.json["error"]["code"] == "invalid_json"
    assert bad_crc.status == 400
    assert "CRC" in bad_crc.json["error"]["message"]


def test_it_books_concurrent_transfers_once_each(bank, receiver):
    answers: list[Response] = []
    lock = threading.Lock()

    def pay(amount: int) -> None:
        response = transfer(bank, amount=amount)
        with lock:
            answers.append(response)

    threads = [threading.Thread(target=pay, args=(1000 + n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)

    assert [a.status for a in answers] == [201] * 20
    received = receiver.wait_for(20)
    assert bank.wait_idle(3)
    ids = {a.json["id"] for a in answers}
    assert len(ids) == 20
    assert len({a.json["reference"] for a in answers}) == 20
    assert {r.json["id"] for r in received} == ids
    assert len(received) == 20


# --------------------------------------------------------------------------- #
# Retries and knobs
# --------------------------------------------------------------------------- #


def test_it_retries_until_the_receiver_answers_2xx(bank, receiver):
    receiver.script = [500, 500]

    created = transfer(bank).json

    received = receiver.wait_for(3)
    assert bank.wait_idle(2)
    assert [r.json["id"] for r in received] == [created["id"]] * 3
    assert [(d["attempt"], d["status"], d["ok"]) for d in deliveries(bank)] == [
        (1, 500, False),
        (2, 500, False),
        (3, 200, True),
    ]
    # every attempt is signed afresh and verifies
    assert all(verify_signature(r.body, r.headers[SIGNATURE_HEADER], SECRET) for r in received)


def test_it_retries_after_a_timeout(bank, receiver):
    receiver.script = [HANG]  # longer than the sandbox's 0.3 s timeout

    created = transfer(bank).json

    assert bank.wait_idle(3)
    attempts = deliveries(bank)
    assert [(d["attempt"], d["ok"]) for d in attempts] == [(1, False), (2, True)]
    assert attempts[0]["error"].startswith("timeout")
    assert [r.json["id"] for r in receiver.received] == [created["id"]] * 2


def test_it_answers_the_api_while_the_receiver_hangs(receiver):
    receiver.script = [GATE]
    with BankNotifySandbox(receiver.url, SECRET, API_KEY, timeout=5) as sandbox:
        response = transfer(sandbox)
        receiver.wait_for(1)  # the receiver holds the notification, unanswered

        assert response.status == 201
        assert transfer(sandbox, amount=1).status == 201
        assert list_transactions(sandbox).status == 200
        assert sandbox.status()["pending"] >= 1
        assert deliveries(sandbox) == [] or all(d["ok"] for d in deliveries(sandbox))

        receiver.gate.set()
        assert sandbox.wait_idle(3)
        assert [d["ok"] for d in deliveries(sandbox)] == [True, True]


def test_it_gives_up_after_max_attempts(receiver):
    receiver.script = [503] * 10
    with BankNotifySandbox(receiver.url, SECRET, API_KEY, backoff_base=0.001, max_attempts=3) as b:
        transfer(b)
        assert b.wait_idle(2)
        assert [d["status"] for d in deliveries(b)] == [503, 503, 503]
    assert len(receiver.received) == 3


def test_it_loses_the_first_deliveries_with_fail_first(bank, receiver):
    knobs = call("POST", f"{bank.url}/api/_knobs", json_body={"fail_first": 2}).json
    assert knobs["fail_first"] == 2

    created = transfer(bank).json

    assert bank.wait_idle(2)
    assert [(d["attempt"], d["status"], d["ok"]) for d in deliveries(bank)] == [
        (1, None, False),
        (2, None, False),
        (3, 200, True),
    ]
    assert "network loss" in deliveries(bank)[0]["error"]
    assert [r.json["id"] for r in receiver.received] == [created["id"]]
    assert call("GET", f"{bank.url}/api/_knobs").json["fail_remaining"] == 0


def test_it_can_lose_the_answer_instead_so_the_receiver_sees_it_twice(bank, receiver):
    bank.set_knobs(fail_first=1, fail_mode="response")

    created = transfer(bank).json

    assert bank.wait_idle(2)
    assert [r.json["id"] for r in receiver.received] == [created["id"]] * 2
    assert [d["ok"] for d in deliveries(bank)] == [False, True]


def test_it_sends_every_notification_twice_with_duplicate(bank, receiver):
    call("POST", f"{bank.url}/api/_knobs", json_body={"duplicate": True})

    created = transfer(bank).json

    first, second = receiver.wait_for(2)
    assert bank.wait_idle(2)
    assert len(receiver.received) == 2
    assert first.json["id"] == second.json["id"] == created["id"]
    assert first.body == second.body
    assert sorted(d["copy"] for d in deliveries(bank)) == [1, 2]


def test_it_drops_notifications_but_lists_the_transactions(bank, receiver):
    call("POST", f"{bank.url}/api/_knobs", json_body={"drop": True})
    dropped = transfer(bank, amount=11000).json
    call("POST", f"{bank.url}/api/_knobs", json_body={"drop": False})
    sent = transfer(bank, amount=22000).json

    receiver.wait_for(1)
    assert bank.wait_idle(2)
    assert [r.json["id"] for r in receiver.received] == [sent["id"]]
    assert [d["transaction_id"] for d in deliveries(bank)] == [sent["id"]]
    listed = list_transactions(bank).json["transactions"]
    assert [t["id"] for t in listed] == [dropped["id"], sent["id"]]
    assert listed[0] == dropped


def test_it_reorders_notifications_in_batches(bank, receiver, clock):
    call("POST", f"{bank.url}/api/_knobs", json_body={"reorder": True, "reorder_batch": 3})
    ids = []
    for amount in (1000, 2000, 3000):
        ids.append(transfer(bank, amount=amount).json["id"])
        clock.advance(seconds=1)
        if len(ids) < 3:
            assert bank.wait_idle(1)
            assert receiver.received == []
            assert bank.status()["held"] == len(ids)

    received = receiver.wait_for(3)
    assert [r.json["id"] for r in received] == ids[::-1]

    # switching reorder off sends what is held, still reversed
    held = [transfer(bank, amount=amount).json["id"] for amount in (4000, 5000)]
    assert bank.status()["held"] == 2
    call("POST", f"{bank.url}/api/_knobs", json_body={"reorder": False})
    received = receiver.wait_for(5)
    assert [r.json["id"] for r in received[3:]] == held[::-1]
    listed = [t["id"] for t in list_transactions(bank).json["transactions"]]
    assert listed == ids + held  # the list stays oldest first


def test_it_delays_notifications(bank, receiver):
    bank.set_knobs(delay_ms=150)

    started = time.time()
    transfer(bank)

    (notification,) = receiver.wait_for(1)
    assert notification.at - started >= 0.14


def test_it_shows_validates_and_resets_knobs(bank):
    url = f"{bank.url}/api/_knobs"
    assert call("GET", url).json == {
        "delay_ms": 0,
        "duplicate": False,
        "reorder": False,
        "reorder_batch": 2,
        "drop": False,
        "fail_first": 0,
        "fail_mode": "request",
        "fail_remaining": 0,
    }

    unknown = call("POST", url, json_body={"explode": True})
    wrong_type = call("POST", url, json_body={"delay_ms": 5, "drop": "yes"})
    negative = call("POST", url, json_body={"fail_first": -1})

    assert (unknown.status, unknown.json["error"]["code"]) == (400, "unknown_knob")
    assert (wrong_type.status, wrong_type.json["error"]["code"]) == (400, "invalid_knob")
    assert wrong_type.json["error"]["fields"] == {"drop": [wrong_type.json["error"]["message"]]}
    assert (negative.status, negative.json["error"]["code"]) == (400, "invalid_knob")
    assert call("GET", url).json["delay_ms"] == 0  # a refused update changes nothing

    changed = call("POST", url, json_body={"drop": True, "delay_ms": 5})
    transfer(bank)
    reset = call("POST", f"{bank.url}/api/_reset")

    assert changed.json["drop"] is True and changed.json["delay_ms"] == 5
    assert reset.status == 200
    assert call("GET", url).json["drop"] is False
    assert list_transactions(bank).json == {"transactions": []}
    assert deliveries(bank) == []


# --------------------------------------------------------------------------- #
# Transaction list
# --------------------------------------------------------------------------- #


def test_it_requires_the_api_key_for_the_transaction_list(bank):
    transfer(bank)

    missing = list_transactions(bank, key=None)
    wrong = list_transactions(bank, key="not-the-key")
    bearer = call(
        "GET", f"{bank.url}/api/transactions", headers={"Authorization": f"Bearer {API_KEY}"}
    )
    right = list_transactions(bank)

    for refused in (missing, wrong, bearer):
        assert refused.status == 401
        assert refused.json["error"]["code"] == "unauthorized"
    assert right.status == 200
    assert len(right.json["transactions"]) == 1
    assert list(right.json["transactions"][0]) == FIELDS


def test_it_filters_the_transaction_list_by_since_and_account(bank, clock):
    first = transfer(bank, amount=1000).json  # 20:01:02.25
    clock.advance(seconds=30)
    second = transfer(bank, amount=2000, account_number="999888777").json  # 20:01:32.25
    clock.advance(minutes=5)
    third = transfer(bank, amount=3000).json  # 20:06:32.25

    def ids(query: str) -> list[str]:
        response = list_transactions(bank, query)
        assert response.status == 200, response.text
        return [t["id"] for t in response.json["transactions"]]

    everything = [first["id"], second["id"], third["id"]]
    assert ids("") == everything
    assert ids("?since=2026-11-23T20:00:00%2B07:00") == everything
    assert ids("?since=" + quote("2026-11-23T20:01:02+07:00")) == everything  # inclusive
    assert ids("?since=" + quote("2026-11-23T13:01:03Z")) == [second["id"], third["id"]]
    assert ids("?since=2026-11-23T20:01:03+07:00") == [second["id"], third["id"]]  # raw "+"
    assert ids("?since=2026-11-23T20:01:33") == [third["id"]]  # naive = Vietnam time
    assert ids(f"?since=2026-11-23T13:00:00Z&account_number={ACCOUNT}") == [
        first["id"],
        third["id"],
    ]
    assert ids("?account_number=999888777") == [second["id"]]
    assert ids("?since=2026-11-24T00:00:00%2B07:00") == []
    bad = list_transactions(bank, "?since=yesterday")
    assert bad.status == 400
    assert bad.json["error"]["code"] == "invalid_since"


# --------------------------------------------------------------------------- #
# The shopper's bank app
# --------------------------------------------------------------------------- #


def test_it_shows_the_shopper_page_in_vietnamese(bank):
    response = call("GET", f"{bank.url}/")

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.text
    assert '<html lang="vi">' in page
    assert 'name="viewport"' in page
    assert "Chuyển tiền bằng mã VietQR" in page
    assert 'action="/pay"' in page
    assert 'name="payload"' in page


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ("", "Vui lòng dán nội dung mã VietQR"),
        ("xin chào", "Mã VietQR không hợp lệ"),
        ("00020101021238570010A000000727", "Mã VietQR không hợp lệ"),
    ],
)
def test_it_explains_a_bad_payload_in_vietnamese(bank, payload, message):
    response = post_form(f"{bank.url}/pay", {"payload": payload})

    assert response.status == 400
    assert message in response.text
    assert 'role="alert"' in response.text
    assert "Traceback" not in response.text
    assert bank.transactions() == []


def test_it_walks_the_shopper_through_a_dynamic_qr_payment(bank, receiver):
    payload = build(bin=VCB, account=ACCOUNT, amount=150000, purpose="CS7K2QX")

    confirm = post_form(f"{bank.url}/pay", {"payload": payload})

    assert confirm.status == 200, confirm.text
    assert "Xác nhận chuyển khoản" in confirm.text
    assert "Vietcombank" in confirm.text
    assert ACCOUNT in confirm.text
    assert "150.000 đ" in confirm.text
    assert 'name="amount"' not in confirm.text  # the QR fixes the amount
    token = re.search(r'name="token" value="([^"]+)"', confirm.text).group(1)
    form = {
        "payload": payload,
        "token": token,
        "counter_account": "0011004123456",
        "counter_name": "NGUYEN VAN KHACH",
    }

    done = post_form(f"{bank.url}/pay/confirm", form)
    again = post_form(f"{bank.url}/pay/confirm", form)  # a reload must not pay twice

    assert done.status == 200, done.text
    assert "Chuyển khoản thành công" in done.text
    assert "150.000 đ" in done.text
    (notification,) = receiver.wait_for(1)
    assert notification.json["amount"] == 150000
    assert re.fullmatch(
        r"MBVCB\.\d{7}\.CS7K2QX\.CT tu 0011004123456", notification.json["description"]
    )
    assert notification.json["reference"] in done.text
    assert again.status == 200
    assert "Chuyển khoản thành công" in again.text
    assert len(bank.transactions()) == 1


def test_it_asks_the_shopper_for_the_amount_of_a_static_qr(bank, receiver):
    payload = build(bin="970422", account="0901234567")

    confirm = post_form(f"{bank.url}/pay", {"payload": payload})
    missing = post_form(f"{bank.url}/pay/confirm", {"payload": payload, "amount": ""})
    garbage = post_form(f"{bank.url}/pay/confirm", {"payload": payload, "amount": "năm chục"})
    done = post_form(
        f"{bank.url}/pay/confirm",
        {"payload": payload, "amount": "45.000", "message": "Bún chả cô Ba"},
    )

    assert confirm.status == 200
    assert 'name="amount"' in confirm.text
    assert 'name="message"' in confirm.text
    assert "MB — Ngân hàng TMCP Quân đội" in confirm.text
    assert missing.status == 400
    assert "Vui lòng nhập số tiền" in missing.text
    assert garbage.status == 400
    assert "Số tiền chỉ gồm chữ số" in garbage.text
    assert done.status == 200, done.text
    assert "45.000 đ" in done.text
    (notification,) = receiver.wait_for(1)
    assert notification.json["amount"] == 45000
    assert re.fullmatch(
        r"MBVCB\.\d{7}\.Bun cha co Ba\.chuyen tien", notification.json["description"]
    )


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode())
        out.write(value.encode() + b"\r\n")
    for name, (filename, content) in files.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: image/png\r\n\r\n'.encode()
        )
        out.write(content + b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def test_it_reads_an_uploaded_photo_of_a_qr(bank):
    pytest.importorskip("zxingcpp")
    payload = build(bin="970418", account="12010000123456", amount=75000, purpose="DH2024")
    body, content_type = multipart({"payload": ""}, {"photo": ("qr.png", qr_png(payload))})
    not_an_image, content_type2 = multipart({"payload": ""}, {"photo": ("x.png", b"hello")})

    response = call("POST", f"{bank.url}/pay", data=body, headers={"Content-Type": content_type})
    refused = call(
        "POST", f"{bank.url}/pay", data=not_an_image, headers={"Content-Type": content_type2}
    )

    assert 'type="file"' in call("GET", f"{bank.url}/").text
    assert response.status == 200, response.text
    assert "BIDV" in response.text
    assert "75.000 đ" in response.text
    assert f'name="payload" value="{payload}"' in response.text
    assert refused.status == 400
    assert "Không mở được tệp ảnh" in refused.text


def test_it_answers_unknown_paths_and_methods_cleanly(bank):
    assert call("GET", f"{bank.url}/api/nope").json["error"]["code"] == "not_found"
    page = call("GET", f"{bank.url}/nope")
    assert page.status == 404
    assert "Không có địa chỉ này" in page.text
    wrong = call("GET", f"{bank.url}/api/transfers")
    assert wrong.status == 405
    assert wrong.headers["Allow"] == "POST"
    assert call("GET", f"{bank.url}/healthz").json == {"ok": True}


# --------------------------------------------------------------------------- #
# Lifecycle and CLI
# --------------------------------------------------------------------------- #


def test_it_starts_on_a_free_port_and_stops(receiver):
    sandbox = BankNotifySandbox(receiver.url, SECRET, API_KEY)
    assert sandbox.start() is sandbox
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sandbox.url)
    assert sandbox.port != 0
    assert call("GET", f"{sandbox.url}/healthz").status == 200
    sandbox.stop()
    with pytest.raises(urllib.error.URLError):
        _opener.open(f"{sandbox.url}/healthz", timeout=1)


def test_it_reads_cli_options_from_the_environment():
    env = {
        "BANKNOTIFY_WEBHOOK_URL": "http://127.0.0.1:9000/hook",
        "BANKNOTIFY_WEBHOOK_SECRET": "env-secret",
        "BANKNOTIFY_API_KEY": "env-key",
    }

    from_env = parse_args(["--port", "8101"], env)
    from_flags = parse_args(["--secret", "flag-secret", "--api-key", "flag-key"], env)

    assert (from_env.port, from_env.webhook_url, from_env.secret, from_env.api_key) == (
        8101,
        "http://127.0.0.1:9000/hook",
        "env-secret",
        "env-key",
    )
    assert (from_flags.secret, from_flags.api_key) == ("flag-secret", "flag-key")


def test_it_speaks_the_protocol_the_platform_adapter_expects(bank, receiver):
    from payments.providers import banknotify as adapter

    created = transfer(bank).json
    (notification,) = receiver.wait_for(1)

    adapter.verify_signature(notification.body, notification.headers[SIGNATURE_HEADER], SECRET)
    with pytest.raises(adapter.SignatureError):
        adapter.verify_signature(
            notification.body, notification.headers[SIGNATURE_HEADER], "another-secret"
        )
    parsed = adapter.parse_notification(notification.body)
    assert (parsed.provider_id, parsed.bank_bin, parsed.account_number, parsed.amount) == (
        created["id"],
        VCB,
        ACCOUNT,
        150000,
    )
    assert parsed.transaction_date == datetime(2026, 11, 23, 20, 1, 2, tzinfo=VN)
    client = adapter.BankNotifyClient(bank.url, API_KEY)
    listed = client.list_transactions(since=datetime(2026, 11, 23, 13, 0, tzinfo=UTC))
    assert [t.provider_id for t in listed] == [created["id"]]
