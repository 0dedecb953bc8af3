"""Contract of the SePay sandbox with our adapter (payments/providers/sepay.py).

The example payloads are ours, written from SePay's documented fields (PROTOCOL.md); the HMAC
vectors are computed here from a fixed secret and timestamp. What the sandbox sends, byte for
byte, must be what the adapter reads, and the transaction list must read as the same transfers.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from payments.providers import sepay as adapter
from sandboxes.sepay import SePaySandbox, auth_headers, body_of
from sandboxes.sepay.server import fibonacci

SECRET = "cho-han-b2-secret"
STAMP = 1796361342
EXAMPLE = {
    "id": 93117,
    "gateway": "MBBank",
    "transactionDate": "2026-12-04 07:15:42",
    "accountNumber": "0905111002",
    "code": None,
    "content": "CS7K4PX chuyen tien ca thu",
    "transferType": "in",
    "transferAmount": 153000,
    "accumulated": 2153000,
    "subAccount": None,
    "referenceCode": "FT26338ABCD123",
}
EXAMPLE_BODY = (
    b'{"id":93117,"gateway":"MBBank","transactionDate":"2026-12-04 07:15:42",'
    b'"accountNumber":"0905111002","code":null,"content":"CS7K4PX chuyen tien ca thu",'
    b'"transferType":"in","transferAmount":153000,"accumulated":2153000,"subAccount":null,'
    b'"referenceCode":"FT26338ABCD123"}'
)
# HMAC-SHA256(SECRET, "1796361342." + EXAMPLE_BODY), and of "1796361342.{}".
EXAMPLE_MAC = "d3ad7e62f957bd0a25a682e59d502da2b548566308460edf11fcb179cdac6148"
EMPTY_MAC = "a19899e06336ab2603f5747fcc5191202a31a209a1ffd17a62266b720a362712"


# --- signature vectors ------------------------------------------------------------------------


def test_it_serialises_the_example_byte_for_byte():
    assert body_of(EXAMPLE) == EXAMPLE_BODY


@pytest.mark.parametrize(("body", "mac"), [(EXAMPLE_BODY, EXAMPLE_MAC), (b"{}", EMPTY_MAC)])
def test_it_signs_as_the_vectors_say_on_both_sides(body, mac):
    recomputed = hmac.new(SECRET.encode(), f"{STAMP}.".encode() + body, hashlib.sha256).hexdigest()
    sandbox_side = auth_headers(body, auth="hmac", secret=SECRET, timestamp=STAMP)
    our_side = adapter.sign(body, SECRET, timestamp=STAMP)

    assert recomputed == mac
    assert (
        sandbox_side
        == our_side
        == {
            "X-SePay-Signature": f"sha256={mac}",
            "X-SePay-Timestamp": str(STAMP),
        }
    )
    adapter.verify(body, our_side, mode="hmac", secret=SECRET, now=STAMP + 299)


@pytest.mark.parametrize(
    ("headers", "now"),
    [
        (
            {"X-SePay-Signature": f"sha256={EXAMPLE_MAC}", "X-SePay-Timestamp": str(STAMP)},
            STAMP + 301,
        ),
        ({"X-SePay-Signature": f"sha256={EMPTY_MAC}", "X-SePay-Timestamp": str(STAMP)}, STAMP),
        ({"X-SePay-Signature": f"sha256={EXAMPLE_MAC}"}, STAMP),
        ({"Authorization": f"Apikey {SECRET}"}, STAMP),  # the key, where a signature is due
    ],
    ids=["stale", "other-body", "no-timestamp", "apikey-instead"],
)
def test_it_refuses_a_stale_or_wrong_signature(headers, now):
    with pytest.raises(adapter.SignatureError):
        adapter.verify(EXAMPLE_BODY, headers, mode="hmac", secret=SECRET, now=now)


@pytest.mark.parametrize(
    "header", ["", "Apikey wrong", f"Bearer {SECRET}", f"apikey{SECRET}", f"Apikey {SECRET}x"]
)
def test_it_refuses_a_missing_or_wrong_api_key(header):
    with pytest.raises(adapter.SignatureError):
        adapter.verify(EXAMPLE_BODY, {"Authorization": header}, mode="apikey", secret=SECRET)


def test_it_refuses_everything_with_an_empty_secret():
    with pytest.raises(adapter.SignatureError):
        adapter.verify(EXAMPLE_BODY, {"Authorization": "Apikey "}, mode="apikey", secret="")


# --- the adapter reads the documented payloads ------------------------------------------------


def test_it_reads_the_example_in_vietnam_time_and_whole_dong():
    alert = adapter.parse_body(EXAMPLE_BODY)

    assert alert.sepay_id == "93117"
    assert alert.amount == 153000 and isinstance(alert.amount, int)
    assert alert.transaction_date == datetime(2026, 12, 4, 0, 15, 42, tzinfo=UTC)
    tx = alert.transaction(connection_id=7, bank_bin="970422")
    assert (tx.provider_id, tx.source, tx.transfer_type) == ("sepay:7:93117", "sepay", "in")
    assert (tx.description, tx.bank_reference) == ("CS7K4PX chuyen tien ca thu", "FT26338ABCD123")


def test_it_looks_for_our_code_in_sepays_code_too():
    """SePay's own payment-code pattern may find the code a bank cut out of the content."""
    alert = adapter.parse_alert({**EXAMPLE, "code": "CS9XKT3", "content": "chuyen tien ca"})
    tx = alert.transaction(connection_id=1, bank_bin="970422")

    assert tx.description == "CS9XKT3 chuyen tien ca"
    assert adapter.parse_alert({**EXAMPLE, "code": "CS7K4PX"}).message == EXAMPLE["content"]


def test_it_reads_an_outgoing_transfer_to_a_virtual_account():
    alert = adapter.parse_alert(
        {**EXAMPLE, "id": "93118", "transferType": "out", "subAccount": "VQRQ0001234"}
    )

    assert (alert.transfer_type, alert.sub_account, alert.is_test) == ("out", "VQRQ0001234", False)


@pytest.mark.parametrize(
    "change",
    [
        {"transferAmount": 1.5},
        {"transferAmount": "153000"},
        {"transferAmount": -5},
        {"transferAmount": True},
        {"transferType": "credit"},
        {"transactionDate": "2026-12-04T07:15:42+07:00"},
        {"id": "abc"},
        {"accountNumber": ""},
        {"accountNumber": "1" * 20},
        {"content": "a\x00b"},
    ],
    ids=str,
)
def test_it_refuses_a_payload_that_breaks_the_contract(change):
    with pytest.raises(adapter.PayloadError):
        adapter.parse_alert({**EXAMPLE, **change})


@pytest.mark.parametrize("missing", ["id", "accountNumber", "transferType", "transferAmount"])
def test_it_names_a_missing_field(missing):
    data = {k: v for k, v in EXAMPLE.items() if k != missing}
    with pytest.raises(adapter.PayloadError, match=missing):
        adapter.parse_alert(data)


# --- the sandbox speaks it --------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.got.append((self.headers, body))  # case-insensitive, as Django's  # type: ignore[attr-defined]
        answer = self.server.answers.pop(0) if self.server.answers else (200, b'{"success":true}')  # type: ignore[attr-defined]
        self.send_response(answer[0])
        self.send_header("Content-Length", str(len(answer[1])))
        self.end_headers()
        self.wfile.write(answer[1])

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.got, server.answers = [], []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def sepay():
    with SePaySandbox("tok", interval=0.01) as sandbox:
        yield sandbox


def url_of(receiver) -> str:
    return f"http://127.0.0.1:{receiver.server_address[1]}/hook/1"


@pytest.mark.parametrize("auth", ["apikey", "hmac"])
def test_it_delivers_what_the_adapter_reads_and_verifies(sepay, receiver, auth):
    sepay.register_webhook(url_of(receiver), account_number="0905111002", auth=auth, secret=SECRET)

    sent = sepay.transfer(
        account_number="0905111002", amount=153000, content="CS7K4PX", gateway="MBBank"
    )

    assert sepay.wait_idle(5)
    ((headers, body),) = receiver.got
    assert body == body_of(sent)
    assert list(json.loads(body)) == [*EXAMPLE, "description"]
    assert headers["Content-Type"] == "application/json"
    adapter.verify(body, headers, mode=auth, secret=SECRET)
    alert = adapter.parse_body(body)
    assert (alert.amount, alert.content, alert.gateway) == (153000, "CS7K4PX", "MBBank")


def test_it_retries_until_success_true_on_fibonacci_steps(sepay, receiver):
    sepay.register_webhook(url_of(receiver), account_number="1", auth="apikey", secret=SECRET)
    # A 200 without {"success": true} is not an acknowledgement either.
    receiver.answers.extend([(500, b""), (200, b"ok"), (201, b'{"success": false}')])

    sepay.transfer(account_number="1", amount=5000)

    assert sepay.wait_idle(5)
    assert [a["status"] for a in sepay.attempts()] == [500, 200, 201, 200]
    assert [a["ok"] for a in sepay.attempts()] == [False, False, False, True]
    assert len({body for _h, body in receiver.got}) == 1  # the same bytes every time


def test_it_gives_up_after_seven_retries(sepay, receiver):
    sepay.register_webhook(url_of(receiver), account_number="1", auth="apikey", secret=SECRET)
    receiver.answers.extend([(503, b"")] * 20)

    sepay.transfer(account_number="1", amount=5000)

    assert sepay.wait_idle(10)
    assert len(sepay.attempts()) == 8
    assert [fibonacci(n) for n in range(1, 8)] == [1, 1, 2, 3, 5, 8, 13]  # minutes at SePay


def test_it_applies_the_fault_knobs(sepay, receiver):
    sepay.register_webhook(url_of(receiver), account_number="1", auth="apikey", secret=SECRET)

    sepay.set_knobs({"duplicate": True})
    sepay.transfer(account_number="1", amount=1000, content="a")
    assert sepay.wait_idle(5)
    sepay.set_knobs({"duplicate": False, "drop": True})
    sepay.transfer(account_number="1", amount=2000, content="b")
    sepay.set_knobs({"drop": False, "fail_first": 1, "fail_mode": "request"})
    sepay.transfer(account_number="1", amount=3000, content="c")
    assert sepay.wait_idle(5)

    contents = [json.loads(body)["content"] for _h, body in receiver.got]
    assert contents == ["a", "a", "c"]
    assert sepay.attempts()[-2]["error"].startswith("simulated network loss")
    with pytest.raises(ValueError):
        sepay.set_knobs({"fail_mode": "sometimes"})


def test_it_lists_transactions_that_read_as_the_same_transfers(sepay):
    sepay.transfer(account_number="0905111002", amount=153000, content="CS7K4PX")
    sepay.transfer(
        account_number="0905111002", amount=40000, content="tra NCC", transfer_type="out"
    )
    sepay.transfer(account_number="999", amount=1000)
    client = adapter.SePayClient(sepay.url, "tok")

    alerts = client.list_transactions(
        account_number="0905111002", since=datetime(2020, 1, 1, tzinfo=UTC)
    )

    assert [(a.transfer_type, a.amount, a.content) for a in alerts] == [
        ("in", 153000, "CS7K4PX"),
        ("out", 40000, "tra NCC"),
    ]
    assert alerts[1].raw["accumulated"] == "113000.00"


def test_it_refuses_the_list_without_the_bearer_token(sepay):
    request = urllib.request.Request(  # noqa: S310 - the loopback sandbox
        f"{sepay.url}/userapi/transactions/list", headers={"Authorization": "Apikey tok"}
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)  # noqa: S310
    assert refused.value.code == 401
    with pytest.raises(adapter.SePayUnavailable):
        adapter.SePayClient(sepay.url, "wrong").list_transactions(
            account_number="1", since=datetime(2020, 1, 1, tzinfo=UTC)
        )


def test_it_reads_amounts_of_the_list_as_whole_dong():
    row = {
        "id": "5", "bank_brand_name": "ACB", "account_number": "1",
        "transaction_date": "2026-12-04 07:15:42", "amount_in": "150000.00", "amount_out": "0.00",
        "transaction_content": "x", "reference_number": "FT1", "code": None, "sub_account": None,
    }  # fmt: skip
    assert adapter.listed_alert(row).amount == 150000
    with pytest.raises(adapter.PayloadError):
        adapter.listed_alert({**row, "amount_in": "150000.50"})
    with pytest.raises(adapter.PayloadError):
        adapter.listed_alert({**row, "amount_out": "1.00"})
