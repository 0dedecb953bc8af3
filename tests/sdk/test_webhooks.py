"""Webhook signatures: ``Wallet-Signature: t=<unix s>,v1=<hex HMAC-SHA256(secret, "t.body")>``."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from payments import sdk
from payments.sdk import webhooks

from .conftest import payment_json, refund_json

SECRET = "whsec_test_unit"
NOW = 1_790_000_000


def _event(event_type: str = "payment.succeeded", obj=None) -> bytes:
    obj = obj if obj is not None else payment_json(status="succeeded", wallet_phone="+84909000001")
    event = {
        "id": "evt_0123456789abcdef01234567",
        "object": "event",
        "type": event_type,
        "created": NOW,
        "data": {"object": obj},
    }
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()


def _v1(body: bytes, t: int = NOW, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def test_it_accepts_a_good_signature_and_builds_a_typed_event():
    body = _event()
    event = webhooks.construct_event(body, f"t={NOW},v1={_v1(body)}", SECRET, now=NOW + 10)
    assert isinstance(event, sdk.Event)
    assert event.id == "evt_0123456789abcdef01234567" and event.type == "payment.succeeded"
    assert isinstance(event.data.object, sdk.Payment)
    assert event.data.object.status == "succeeded"
    assert event.data.object.wallet_phone == "+84909000001"
    assert event.raw == json.loads(body)


def test_it_accepts_a_str_payload_with_vietnamese_text():
    body = _event()
    assert "Hải sản Hùng".encode() in body
    header = webhooks.sign(body, SECRET, timestamp=NOW)
    event = webhooks.construct_event(body.decode(), header, SECRET, now=NOW)
    assert event.data.object.merchant_name == "Hải sản Hùng"


def test_it_types_refund_events():
    body = _event("refund.succeeded", refund_json())
    event = webhooks.construct_event(body, webhooks.sign(body, SECRET, NOW), SECRET, now=NOW)
    assert isinstance(event.data_object, sdk.Refund)


def test_it_signs_like_the_protocol_says():
    body = _event()
    assert webhooks.sign(body, SECRET, timestamp=NOW) == f"t={NOW},v1={_v1(body)}"
    header = webhooks.sign(body, SECRET)  # now
    assert webhooks.construct_event(body, header, SECRET).id.startswith("evt_")


def test_it_rejects_a_tampered_body():
    body = _event()
    header = webhooks.sign(body, SECRET, NOW)
    tampered = body.replace(b'"amount":85000', b'"amount":1000')
    assert tampered != body
    with pytest.raises(sdk.SignatureVerificationError, match="No signature matches") as info:
        webhooks.construct_event(tampered, header, SECRET, now=NOW)
    assert info.value.sig_header == header and info.value.http_body == tampered


def test_it_rejects_a_reserialised_body():
    body = _event()
    header = webhooks.sign(body, SECRET, NOW)
    reserialised = json.dumps(json.loads(body)).encode()  # spaces, \\u escapes: other bytes
    with pytest.raises(sdk.SignatureVerificationError):
        webhooks.construct_event(reserialised, header, SECRET, now=NOW)


def test_it_rejects_the_wrong_secret():
    body = _event()
    with pytest.raises(sdk.SignatureVerificationError):
        webhooks.construct_event(body, webhooks.sign(body, "whsec_other", NOW), SECRET, now=NOW)


def test_it_rejects_a_stale_timestamp():
    body = _event()
    header = webhooks.sign(body, SECRET, NOW)
    assert webhooks.construct_event(body, header, SECRET, now=NOW + 300).id  # boundary: accepted
    with pytest.raises(sdk.SignatureVerificationError, match="tolerance") as info:
        webhooks.construct_event(body, header, SECRET, now=NOW + 301)
    assert "ago" in str(info.value)
    with pytest.raises(sdk.SignatureVerificationError):
        webhooks.construct_event(body, header, SECRET, tolerance=60, now=NOW + 61)


def test_it_rejects_a_timestamp_in_the_future():
    body = _event()
    header = webhooks.sign(body, SECRET, NOW)
    assert webhooks.construct_event(body, header, SECRET, now=NOW - 300).id
    with pytest.raises(sdk.SignatureVerificationError, match="future"):
        webhooks.construct_event(body, header, SECRET, now=NOW - 301)


def test_it_skips_the_time_check_only_when_asked():
    body = _event()
    header = webhooks.sign(body, SECRET, 1_000)
    assert webhooks.construct_event(body, header, SECRET, tolerance=None, now=NOW).id


@pytest.mark.parametrize(
    "header",
    [
        "",
        None,
        "garbage",
        "v1=abc",  # no timestamp
        f"t={NOW}",  # no signature
        f"t={NOW},v0=abc",  # only another scheme
        f"t=soon,v1={'0' * 64}",
        f"t=-5,v1={'0' * 64}",
        f"t={NOW},t={NOW},v1={'0' * 64}",
        f"t={NOW};v1={'0' * 64}",
        f"t={NOW},v1={'0' * 64}," + "x=" * 3000,
        f"t={NOW},v1=ünïcödé",  # must not blow up in compare_digest
        f"t=١٢٣,v1={'0' * 64}",  # Arabic-Indic digits are digits to str.isdigit, not to us
    ],
)
def test_it_rejects_a_malformed_header(header):
    with pytest.raises(sdk.SignatureVerificationError):
        webhooks.construct_event(_event(), header, SECRET, now=NOW)


def test_it_accepts_any_matching_v1_among_several():
    body = _event()
    good = _v1(body)
    header = f"t={NOW}, v1={'0' * 64}, v0=legacy, v1={good.upper()}"
    assert webhooks.construct_event(body, header, SECRET, now=NOW).id
    with pytest.raises(sdk.SignatureVerificationError):
        webhooks.construct_event(body, f"t={NOW},v1={'0' * 64},v1={'1' * 64}", SECRET, now=NOW)


def test_it_verifies_the_header_alone():
    body = _event()
    assert webhooks.verify_header(body, webhooks.sign(body, SECRET, NOW), SECRET, now=NOW) == NOW


def test_it_raises_value_error_for_a_signed_body_that_is_not_an_event():
    for body in (b"not json", b"[1, 2]", b'{"id": "evt_1"}', b"\xff\xfe"):
        with pytest.raises(ValueError) as info:
            webhooks.construct_event(body, webhooks.sign(body, SECRET, NOW), SECRET, now=NOW)
        assert not isinstance(info.value, sdk.SignatureVerificationError)


def test_it_refuses_an_empty_secret():
    body = _event()
    with pytest.raises(ValueError, match="secret"):
        webhooks.construct_event(body, webhooks.sign(body, SECRET, NOW), "", now=NOW)
    with pytest.raises(ValueError):
        webhooks.sign(body, "")
