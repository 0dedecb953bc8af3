"""The sandbox SMS gateway over real HTTP (``requests``): no database, no adapter. These tests
pin sandboxes/sms/PROTOCOL.md: sending, keys, validation, references, the outbox, faults."""

from __future__ import annotations

import pytest
import requests

from sandboxes.sms import SmsSandbox
from sandboxes.sms.__main__ import parse_args

KEY, OTHER_KEY = "sk_test_sms", "sk_test_other"
PHONE = "+84905123456"

http = requests.Session()
http.trust_env = False


@pytest.fixture
def gateway():
    sandbox = SmsSandbox([KEY, OTHER_KEY]).start()
    yield sandbox
    sandbox.stop()


def _send(gateway, body, key=KEY):
    return http.post(
        f"{gateway.url}/v1/messages", json=body, headers={"Authorization": f"Bearer {key}"}
    )


def test_it_sends_a_message_and_keeps_it_in_the_outbox(gateway):
    answer = _send(gateway, {"to": PHONE, "text": "Mã của bạn là 123456"})

    assert answer.status_code == 201
    message = answer.json()
    assert message["id"].startswith("sms_")
    assert (message["to"], message["status"], message["segments"]) == (PHONE, "sent", 1)
    outbox = http.get(f"{gateway.url}/v1/_sandbox/outbox", params={"to": PHONE}).json()["data"]
    assert [m["text"] for m in outbox] == ["Mã của bạn là 123456"]
    assert http.get(f"{gateway.url}/v1/_sandbox/outbox", params={"to": "+84905000000"}).json() == {
        "data": []
    }
    got = http.get(
        f"{gateway.url}/v1/messages/{message['id']}", headers={"Authorization": f"Bearer {KEY}"}
    )
    assert got.json() == message


def test_it_refuses_a_missing_or_wrong_key(gateway):
    assert (
        http.post(f"{gateway.url}/v1/messages", json={"to": PHONE, "text": "x"}).json()["error"][
            "code"
        ]
        == "api_key_missing"
    )
    answer = _send(gateway, {"to": PHONE, "text": "x"}, key="nope")
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "api_key_invalid"
    assert gateway.outbox() == []


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"to": "0905123456", "text": "x"}, "phone_invalid"),
        ({"to": PHONE, "text": "  "}, "text_missing"),
        ({"to": PHONE, "text": "x" * 613}, "text_too_long"),
        ({"to": PHONE, "text": "x", "reference": "có dấu"}, "reference_invalid"),
        ({"to": PHONE, "text": "x", "from": "CHOSO"}, "parameter_unknown"),
    ],
)
def test_it_refuses_a_bad_message_with_a_400(gateway, body, code):
    answer = _send(gateway, body)

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == code
    assert gateway.outbox() == []


def test_it_sends_a_reference_once_per_key(gateway):
    first = _send(gateway, {"to": PHONE, "text": "Sạp A-12 đã được duyệt", "reference": "d-1"})
    again = _send(gateway, {"to": PHONE, "text": "Sạp A-12 đã được duyệt", "reference": "d-1"})
    other_key = _send(gateway, {"to": PHONE, "text": "khác", "reference": "d-1"}, key=OTHER_KEY)

    assert (first.status_code, again.status_code, other_key.status_code) == (201, 200, 201)
    assert again.json()["id"] == first.json()["id"]
    assert len(gateway.outbox(to=PHONE)) == 2
    assert gateway.stats()["duplicates"] == 1


def test_it_answers_503_with_retry_after_when_told_to_fail(gateway):
    http.post(f"{gateway.url}/v1/_sandbox/faults", json={"fail_next": 1})

    failed = _send(gateway, {"to": PHONE, "text": "x"})
    passed = _send(gateway, {"to": PHONE, "text": "x"})

    assert failed.status_code == 503
    assert failed.headers["Retry-After"] == "1"
    assert failed.json()["error"]["code"] == "service_unavailable"
    assert passed.status_code == 201
    assert len(gateway.outbox()) == 1


def test_it_refuses_a_bad_fault_knob_and_resets(gateway):
    answer = http.post(f"{gateway.url}/v1/_sandbox/faults", json={"error_rate": 2})
    assert answer.status_code == 400
    _send(gateway, {"to": PHONE, "text": "x"})

    assert http.post(f"{gateway.url}/v1/_sandbox/reset").json() == {"ok": True}
    assert gateway.outbox() == []


def test_it_counts_unicode_segments():
    from sandboxes.sms.server import segments

    assert segments("a" * 153) == 1
    assert segments("a" * 154) == 2
    assert segments("đ" * 67) == 1
    assert segments("đ" * 68) == 2


def test_it_reads_its_key_from_the_environment():
    assert parse_args([], env={"SMS_API_KEY": "a, b"}).api_keys == ["a", "b"]
    assert parse_args([], env={}).api_keys == ["sandbox-sms-key"]
    assert parse_args([], env={}).port == 8104
