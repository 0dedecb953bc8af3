"""Contract of the MoMo sandbox with our adapter (payments/providers/momo.py).

The example payloads are ours, written from MoMo's documented fields (sandboxes/momo/
PROTOCOL.md); the signature vectors are computed here from fixed keys, over the raw strings
written out by hand. The sandbox and the adapter sign independently: both must give the vector,
and what the sandbox sends must verify in the adapter.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from payments.providers import momo as adapter
from sandboxes.momo import MomoSandbox
from sandboxes.momo import sign as sandbox_sign
from sandboxes.momo.server import CREATE_FIELDS, IPN_FIELDS, QUERY_FIELDS, REFUND_FIELDS

PARTNER = "MOMOTEST2026"
ACCESS = "F8BBA842ECF85"
SECRET = "K951B6PE1waDMi640xX08PD3vg6EkVlz"
ORDER = "CSMOMO-42-CS7K2QX"
CREATE_RAW = (
    "accessKey=F8BBA842ECF85&amount=150000&extraData="
    "&ipnUrl=https://cho.example.vn/api/v1/payments/webhooks/momo&orderId=CSMOMO-42-CS7K2QX"
    "&orderInfo=Chợ Số CS7K2QX&partnerCode=MOMOTEST2026&redirectUrl=https://cho.example.vn/"
    "&requestId=CSMOMO-42-CS7K2QX&requestType=captureWallet"
)
CREATE_SIGNATURE = "c22f669651ab634622c0b3afab8acdbc67ae71a9493030d734eef43e636ad344"
IPN_EXAMPLE = {
    "partnerCode": PARTNER,
    "orderId": ORDER,
    "requestId": ORDER,
    "amount": 150000,
    "orderInfo": "Chợ Số CS7K2QX",
    "orderType": "momo_wallet",
    "transId": 4088878653,
    "resultCode": 0,
    "message": "Successful.",
    "payType": "qr",
    "responseTime": 1764806400000,
    "extraData": "",
}
IPN_RAW = (
    "accessKey=F8BBA842ECF85&amount=150000&extraData=&message=Successful."
    "&orderId=CSMOMO-42-CS7K2QX&orderInfo=Chợ Số CS7K2QX&orderType=momo_wallet"
    "&partnerCode=MOMOTEST2026&payType=qr&requestId=CSMOMO-42-CS7K2QX"
    "&responseTime=1764806400000&resultCode=0&transId=4088878653"
)
IPN_SIGNATURE = "b1e1695c0e947163963af5c0ecb1eeee661e500d9fcc09bf4524fea8aaba78c0"


def hmac_hex(raw: str) -> str:
    return hmac.new(SECRET.encode(), raw.encode(), hashlib.sha256).hexdigest()


@pytest.fixture
def momo(settings):
    sandbox = MomoSandbox(
        partner_code=PARTNER, access_key=ACCESS, secret_key=SECRET, backoff_base=0.02
    ).start()
    settings.MOMO_ENDPOINT = sandbox.url
    settings.MOMO_PARTNER_CODE = PARTNER
    settings.MOMO_ACCESS_KEY = ACCESS
    settings.MOMO_SECRET_KEY = SECRET
    settings.MOMO_IPN_URL = "https://cho.example.vn/api/v1/payments/webhooks/momo"
    settings.MOMO_REDIRECT_URL = "https://cho.example.vn/"
    yield sandbox
    sandbox.stop()


# --- signature vectors ------------------------------------------------------------------------


def test_it_signs_the_create_request_as_the_vector_says_on_both_sides():
    body = adapter.create_body(
        order_id=ORDER,
        amount=150000,
        order_info="Chợ Số CS7K2QX",
        ipn_url="https://cho.example.vn/api/v1/payments/webhooks/momo",
        redirect_url="https://cho.example.vn/",
        partner_code=PARTNER,
        access_key=ACCESS,
        secret_key=SECRET,
        request_id=ORDER,
    )

    assert hmac_hex(CREATE_RAW) == CREATE_SIGNATURE
    assert body["signature"] == CREATE_SIGNATURE
    assert "accessKey" not in body  # signed, never sent
    assert body["requestType"] == "captureWallet" and body["amount"] == 150000
    assert sandbox_sign(CREATE_FIELDS, {**body, "accessKey": ACCESS}, SECRET) == CREATE_SIGNATURE


def test_it_verifies_the_ipn_vector_and_refuses_any_change():
    assert hmac_hex(IPN_RAW) == IPN_SIGNATURE
    assert adapter.raw_string(adapter.IPN_FIELDS, {**IPN_EXAMPLE, "accessKey": ACCESS}) == IPN_RAW
    assert sandbox_sign(IPN_FIELDS, {**IPN_EXAMPLE, "accessKey": ACCESS}, SECRET) == IPN_SIGNATURE
    signed = {**IPN_EXAMPLE, "accessKey": ACCESS, "signature": IPN_SIGNATURE}
    adapter.verify(adapter.IPN_FIELDS, signed, SECRET)  # no exception

    for change in ({"amount": 1500000}, {"resultCode": 1006}, {"signature": "0" * 64}):
        with pytest.raises(adapter.MomoSignatureError):
            adapter.verify(adapter.IPN_FIELDS, {**signed, **change}, SECRET)
    with pytest.raises(adapter.MomoSignatureError):
        adapter.verify(adapter.IPN_FIELDS, signed, "")  # no key: nothing is accepted


def test_it_signs_query_and_refund_over_their_documented_fields():
    query = adapter.query_body(
        order_id=ORDER, request_id="q1", partner_code=PARTNER, access_key=ACCESS, secret_key=SECRET
    )
    refund = adapter.refund_body(
        order_id="CSREFUND-7",
        request_id="CSREFUND-7",
        amount=50000,
        trans_id="4088878653",
        description="Trả lại 1 con ghẹ",
        partner_code=PARTNER,
        access_key=ACCESS,
        secret_key=SECRET,
    )

    assert query["signature"] == hmac_hex(
        f"accessKey={ACCESS}&orderId={ORDER}&partnerCode={PARTNER}&requestId=q1"
    )
    assert refund["signature"] == hmac_hex(
        f"accessKey={ACCESS}&amount=50000&description=Trả lại 1 con ghẹ&orderId=CSREFUND-7"
        f"&partnerCode={PARTNER}&requestId=CSREFUND-7&transId=4088878653"
    )
    assert refund["transId"] == 4088878653  # a number on the wire, as MoMo documents it
    assert sandbox_sign(QUERY_FIELDS, {**query, "accessKey": ACCESS}, SECRET) == query["signature"]
    assert (
        sandbox_sign(REFUND_FIELDS, {**refund, "accessKey": ACCESS}, SECRET)
        == (refund["signature"])
    )


@pytest.mark.parametrize(
    ("code", "status", "reason"),
    [
        (0, "succeeded", ""),
        (9000, "succeeded", ""),
        (1000, "pending", ""),
        (1006, "failed", "declined_by_shopper"),
        (1005, "failed", "expired"),
        (1001, "failed", "insufficient_funds"),
    ],
)
def test_it_maps_result_codes_to_payment_outcomes(code, status, reason):
    payment = adapter.payment_from({**IPN_EXAMPLE, "resultCode": code})
    assert payment.status == status
    if reason:
        assert payment.failure_reason == reason


# --- over HTTP --------------------------------------------------------------------------------


def test_it_creates_an_order_and_replays_the_same_request(momo):
    first = adapter.create_payment(intent_id=42, reference_code="CS7K2QX", amount=150000, info="x")
    again = adapter.create_payment(intent_id=42, reference_code="CS7K2QX", amount=150000, info="x")

    assert first.order_id == ORDER
    assert first.pay_url == f"{momo.url}/pay/{ORDER}" == again.pay_url
    assert list(momo.orders) == [ORDER]


def test_it_refuses_a_reused_request_id_with_another_body(momo):
    adapter.create_payment(intent_id=42, reference_code="CS7K2QX", amount=150000, info="x")
    with pytest.raises(adapter.MomoRejected) as refused:
        adapter.create_payment(intent_id=42, reference_code="CS7K2QX", amount=160000, info="x")
    assert refused.value.code == "duplicate_request_id"


def test_it_maps_a_bad_signature_and_amounts_out_of_range(momo, settings):
    with pytest.raises(adapter.MomoRejected) as too_much:
        adapter.create_payment(intent_id=1, reference_code="A", amount=50_000_001, info="x")
    assert too_much.value.code == "amount_out_of_range"  # refused before any call
    assert momo.orders == {}

    raw = {
        "partnerCode": PARTNER,
        "requestId": "r9",
        "orderId": "CSMOMO-9-B",
        "amount": 999,
        "orderInfo": "x",
        "redirectUrl": "https://a.vn/",
        "ipnUrl": "https://a.vn/i",
        "requestType": "captureWallet",
        "extraData": "",
        "lang": "vi",
    }
    raw["signature"] = sandbox_sign(CREATE_FIELDS, {**raw, "accessKey": ACCESS}, SECRET)
    status, answer = post(momo.url + adapter.CREATE_PATH, raw)
    assert (status, answer["resultCode"]) == (400, 22)

    settings.MOMO_SECRET_KEY = "not-the-key"
    with pytest.raises(adapter.MomoRejected) as forged:
        adapter.create_payment(intent_id=2, reference_code="B", amount=10_000, info="x")
    assert forged.value.code == "merchant_authentication_failed"


def test_it_queries_refunds_and_refuses_more_than_was_paid(momo):
    adapter.create_payment(intent_id=42, reference_code="CS7K2QX", amount=150000, info="x")
    assert adapter.query_payment(ORDER).status == "pending"

    momo.set_knobs(drop_ipn=True)
    momo.approve(ORDER)
    paid = adapter.query_payment(ORDER)
    assert (paid.status, paid.amount) == ("succeeded", 150000)
    assert paid.trans_id

    refund = adapter.refund(refund_id=7, trans_id=paid.trans_id, amount=50000, reason="ghẹ")
    assert refund.amount == 50000
    with pytest.raises(adapter.MomoRejected) as over:
        adapter.refund(refund_id=8, trans_id=paid.trans_id, amount=100001, reason="x")
    assert over.value.code == "invalid_amount"
    with pytest.raises(adapter.MomoRejected) as unknown:
        adapter.query_payment("CSMOMO-0-NONE")
    assert unknown.value.code == "order_not_found"


def test_its_fault_knobs_make_the_adapter_say_try_later(momo):
    momo.set_knobs(fail_next=1)
    with pytest.raises(adapter.MomoUnavailable):
        adapter.create_payment(intent_id=5, reference_code="C", amount=10_000, info="x")
    assert adapter.create_payment(intent_id=5, reference_code="C", amount=10_000, info="x")


class _Receiver(BaseHTTPRequestHandler):
    """A stand-in for the platform's ipnUrl: answers 500 to the first delivery, then 204."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.append(body)  # type: ignore[attr-defined]
        self.send_response(500 if len(self.server.bodies) == 1 else 204)  # type: ignore[attr-defined]
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_it_delivers_a_signed_ipn_and_retries_after_a_500(momo, settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.bodies = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.MOMO_IPN_URL = f"http://127.0.0.1:{server.server_address[1]}/ipn"
    try:
        adapter.create_payment(intent_id=42, reference_code="CS7K2QX", amount=150000, info="x")
        momo.approve(ORDER)
        assert momo.wait_idle(timeout=10)
    finally:
        server.shutdown()

    bodies = server.bodies  # type: ignore[attr-defined]
    assert len(bodies) == 2 and bodies[0] == bodies[1]  # the same IPN again, byte for byte
    data = adapter.parse_ipn(bodies[0])  # verified with the adapter's keys
    assert (data["orderId"], data["amount"], data["resultCode"]) == (ORDER, 150000, 0)
    assert [d["status"] for d in momo.deliveries] == [500, 204]


def test_its_shopper_page_pays_and_declines(momo):
    adapter.create_payment(intent_id=42, reference_code="CS7K2QX", amount=150000, info="Cá thu")
    momo.set_knobs(drop_ipn=True)
    page = urllib.request.urlopen(f"{momo.url}/pay/{ORDER}").read().decode()  # noqa: S310
    assert "150.000 đ" in page and "Cá thu" in page

    request = urllib.request.Request(  # noqa: S310 - the sandbox on loopback
        f"{momo.url}/pay/{ORDER}/decline", data=b"", method="POST"
    )
    urllib.request.urlopen(request).read()  # noqa: S310
    assert adapter.query_payment(ORDER).failure_reason == "declined_by_shopper"


def post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(  # noqa: S310 - the sandbox on loopback
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as failure:
        return failure.code, json.loads(failure.read())


def test_its_knobs_refuse_values_of_the_wrong_kind(momo):
    status, _answer = post(momo.url + "/sandbox/knobs", {"duplicate_ipn": "false"})
    assert status == 400
    assert momo.knobs.duplicate_ipn is False
    assert post(momo.url + "/sandbox/knobs", {"fail_next": -1})[0] == 400
    assert post(momo.url + "/sandbox/knobs", {"fail_next": 2, "drop_ipn": True}) == (
        200,
        {"fail_next": 2, "latency": 0.0, "duplicate_ipn": False, "drop_ipn": True},
    )


def test_a_stopped_sandbox_retries_no_more(momo, settings):
    """An IPN nobody answers is retried with growing delays, but a stopped sandbox lets go at
    once instead of sleeping through its backoff (and never delivers after ``stop()``)."""
    settings.MOMO_IPN_URL = "http://127.0.0.1:9/api/v1/payments/webhooks/momo"  # nothing listens
    momo.backoff_base = 30.0
    adapter.create_payment(intent_id=42, reference_code="CS7K2QX", amount=150000, info="x")
    momo.approve(ORDER)
    deadline = time.monotonic() + 5
    while not momo.deliveries:
        assert time.monotonic() < deadline, "the first IPN attempt never came"
        time.sleep(0.02)

    momo.stop()

    assert momo.wait_idle(2.0)
    assert [d["attempt"] for d in momo.deliveries] == [1]
