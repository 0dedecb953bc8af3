"""The SDK's HTTP behaviour against a scripted fake wallet: requests, retries, errors, logging."""

from __future__ import annotations

import json
import logging
import platform
import socket
import uuid

import pytest
import requests

from payments import sdk

from .conftest import API_KEY, FakeWallet, Reply, error_json, payment_json, refund_json

SERVER_ERROR = Reply(500, error_json("api_error", None, "Something went wrong"))


def _keys(wallet: FakeWallet) -> list[str | None]:
    return [seen.header("Idempotency-Key") for seen in wallet.requests]


# --------------------------------------------------------------------------- requests


def test_it_creates_a_payment_and_returns_a_typed_result(wallet, client):
    wallet.queue(Reply(201, payment_json(brand_new_field={"x": 1}), {"Request-Id": "req_abc"}))

    payment = client.payments.create(
        amount=85000,
        merchant_reference="CS7K4PX",
        merchant_name="Hải sản Hùng",
        description="2 kg tôm",
        expires_in=600,
        metadata={"order": "42"},
    )

    seen = wallet.requests[0]
    assert (seen.method, seen.path) == ("POST", "/v1/payments")
    assert seen.header("Authorization") == f"Bearer {API_KEY}"
    assert seen.header("Content-Type") == "application/json"
    assert seen.json == {
        "amount": 85000,
        "currency": "vnd",
        "merchant_reference": "CS7K4PX",
        "merchant_name": "Hải sản Hùng",
        "description": "2 kg tôm",
        "expires_in": 600,
        "metadata": {"order": "42"},
    }
    assert isinstance(payment, sdk.Payment)
    assert payment.id == "pay_0123456789abcdef01234567"
    assert (payment.amount, payment.status, payment.currency) == (85000, "pending", "vnd")
    assert payment.merchant_name == "Hải sản Hùng"
    assert payment.pay_url.endswith("/pay/pay_0123456789abcdef01234567")
    assert payment.metadata == {"order": "42"}
    assert payment.failure_reason is None
    assert payment.raw["brand_new_field"] == {"x": 1}
    assert not hasattr(payment, "brand_new_field")
    assert payment.last_response is not None
    assert payment.last_response.http_status == 201
    assert payment.last_response.request_id == "req_abc"
    assert payment.last_response.attempts == 1
    assert payment.last_response.idempotency_key == seen.header("Idempotency-Key")
    assert payment.last_response.idempotent_replayed is False


def test_it_leaves_out_optional_parameters_not_given(wallet, client):
    wallet.queue(Reply(201, payment_json()), Reply(201, refund_json()))
    client.payments.create(amount=1000, merchant_reference="A1")
    client.refunds.create(payment="pay_1", amount=1000)
    assert wallet.requests[0].json == {
        "amount": 1000,
        "currency": "vnd",
        "merchant_reference": "A1",
    }
    assert wallet.requests[1].json == {"payment": "pay_1", "amount": 1000}


def test_it_retrieves_cancels_and_refunds(wallet, client):
    wallet.queue(
        Reply(200, payment_json(status="succeeded")),
        Reply(200, payment_json(status="canceled")),
        Reply(201, refund_json()),
        Reply(200, refund_json()),
    )
    assert client.payments.retrieve("pay_1").status == "succeeded"
    assert client.payments.cancel("pay_1", idempotency_key="cancel-1").status == "canceled"
    payment = sdk.Payment.from_dict(payment_json(id="pay_1"))
    refund = client.refunds.create(payment=payment, amount=20000, reason="thiếu hàng")
    assert isinstance(refund, sdk.Refund)
    assert (refund.payment, refund.amount, refund.status) == (
        "pay_0123456789abcdef01234567",
        20000,
        "succeeded",
    )
    assert client.refunds.retrieve("re_1").id == "re_0123456789abcdef01234567"

    calls = [(s.method, s.path) for s in wallet.requests]
    assert calls == [
        ("GET", "/v1/payments/pay_1"),
        ("POST", "/v1/payments/pay_1/cancel"),
        ("POST", "/v1/refunds"),
        ("GET", "/v1/refunds/re_1"),
    ]
    assert wallet.requests[1].json == {}
    assert wallet.requests[1].header("Idempotency-Key") == "cancel-1"
    assert wallet.requests[2].json == {"payment": "pay_1", "amount": 20000, "reason": "thiếu hàng"}


def test_it_quotes_ids_so_they_cannot_escape_the_path(wallet, client):
    client.payments.retrieve("../refunds/re_1")
    assert wallet.requests[0].path == "/v1/payments/..%2Frefunds%2Fre_1"


@pytest.mark.parametrize("bad", ["", "   "])
def test_it_refuses_a_blank_id_without_a_request(wallet, client, bad):
    with pytest.raises(sdk.InvalidRequestError) as info:
        client.payments.retrieve(bad)
    assert info.value.param == "id"
    assert wallet.attempts == 0


def test_it_sends_a_user_agent(wallet, client):
    client.payments.retrieve("pay_1")
    python = ".".join(platform.python_version_tuple()[:2])
    assert wallet.requests[0].header("User-Agent") == (
        f"choso-wallet-python/{sdk.__version__} python/{python} requests/{requests.__version__}"
    )
    assert sdk.__version__ == "0.1.0"


def test_it_lists_with_filters_and_walks_every_page(wallet, client):
    page1 = [payment_json(id=f"pay_{i}") for i in (5, 4)]
    page2 = [payment_json(id=f"pay_{i}") for i in (3, 2)]
    page3 = [payment_json(id="pay_1")]
    wallet.queue(
        Reply(200, {"object": "list", "data": page1, "has_more": True}),
        Reply(200, {"object": "list", "data": page2, "has_more": True}),
        Reply(200, {"object": "list", "data": page3, "has_more": False}),
    )

    page = client.payments.list(status="succeeded", merchant_reference="CS7", limit=2)

    assert isinstance(page, sdk.ListPage)
    assert [p.id for p in page] == ["pay_5", "pay_4"] and len(page) == 2 and page.has_more
    assert all(isinstance(p, sdk.Payment) for p in page.data)
    assert wallet.attempts == 1  # pages are fetched lazily
    assert [p.id for p in page.auto_paging_iter()] == [f"pay_{i}" for i in (5, 4, 3, 2, 1)]
    queries = [s.query for s in wallet.requests]
    assert queries[0] == {"status": ["succeeded"], "merchant_reference": ["CS7"], "limit": ["2"]}
    assert queries[1] == {**queries[0], "starting_after": ["pay_4"]}
    assert queries[2] == {**queries[0], "starting_after": ["pay_2"]}
    assert all(s.method == "GET" and s.path == "/v1/payments" for s in wallet.requests)


def test_it_stops_paging_on_an_empty_page_even_if_has_more(wallet, client):
    wallet.queue(Reply(200, {"object": "list", "data": [], "has_more": True}))
    assert list(client.payments.list().auto_paging_iter()) == []
    assert wallet.attempts == 1


# --------------------------------------------------------------------------- idempotency keys


def test_it_adds_a_fresh_uuid4_idempotency_key_to_every_post(wallet, client):
    wallet.queue(Reply(201, payment_json()), Reply(201, payment_json()), Reply(201, refund_json()))
    client.payments.create(amount=1000, merchant_reference="A1")
    client.payments.create(amount=1000, merchant_reference="A1")
    client.refunds.create(payment="pay_1", amount=1000)
    keys = _keys(wallet)
    assert len(set(keys)) == 3
    assert all(uuid.UUID(k).version == 4 for k in keys if k)


def test_it_sends_the_callers_idempotency_key(wallet, client):
    client.payments.create(amount=1000, merchant_reference="A1", idempotency_key="order-42")
    assert _keys(wallet) == ["order-42"]


def test_it_sends_no_idempotency_key_on_get(wallet, client):
    client.payments.retrieve("pay_1")
    assert _keys(wallet) == [None]


@pytest.mark.parametrize("bad", ["", "x" * 256, "a\r\nX-Evil: 1", "khóa"])
def test_it_rejects_an_unusable_idempotency_key_before_sending(wallet, client, bad):
    with pytest.raises(ValueError, match="idempotency_key"):
        client.payments.create(amount=1000, merchant_reference="A1", idempotency_key=bad)
    assert wallet.attempts == 0


def test_it_reports_a_replayed_answer(wallet, client):
    replayed = {"Idempotent-Replayed": "true", "Original-Request": "req_first"}
    wallet.queue(Reply(201, payment_json(), replayed))
    payment = client.payments.create(amount=1000, merchant_reference="A1", idempotency_key="k")
    assert payment.last_response is not None and payment.last_response.idempotent_replayed
    assert payment.last_response.original_request_id == "req_first"


# --------------------------------------------------------------------------- retries


def test_it_retries_500_twice_then_succeeds_with_the_same_key(wallet, client, sleeps):
    wallet.queue(SERVER_ERROR, SERVER_ERROR, Reply(201, payment_json()))

    payment = client.payments.create(amount=85000, merchant_reference="CS7K4PX")

    assert wallet.attempts == 3
    keys = _keys(wallet)
    assert keys[0] and keys == [keys[0]] * 3
    assert [s.body for s in wallet.requests] == [wallet.requests[0].body] * 3
    assert payment.last_response is not None and payment.last_response.attempts == 3
    assert len(sleeps) == 2
    assert sleeps[0] == 0.5  # 0.5 × 2^0 with jitter, floored at 0.5
    assert 0.5 <= sleeps[1] <= 1.0


def test_it_keeps_the_callers_key_across_retries(wallet, client):
    wallet.queue(SERVER_ERROR, Reply(201, payment_json()))
    client.payments.create(amount=1000, merchant_reference="A1", idempotency_key="order-7")
    assert _keys(wallet) == ["order-7", "order-7"]


def test_it_gives_up_after_max_retries(wallet, client, sleeps):
    wallet.queue(SERVER_ERROR, SERVER_ERROR, SERVER_ERROR, Reply(201, payment_json()))
    with pytest.raises(sdk.APIError) as info:
        client.payments.create(amount=1000, merchant_reference="A1")
    assert wallet.attempts == 3
    assert len(sleeps) == 2
    assert info.value.http_status == 500
    assert info.value.idempotency_key == wallet.requests[0].header("Idempotency-Key")


@pytest.mark.parametrize("max_retries", [0, 1, 4])
def test_it_makes_at_most_max_retries_plus_one_attempts(wallet, max_retries):
    wallet.default = SERVER_ERROR
    c = sdk.Client(API_KEY, wallet.url, max_retries=max_retries, sleep=lambda s: None)
    with pytest.raises(sdk.APIError):
        c.payments.retrieve("pay_1")
    assert wallet.attempts == max_retries + 1


def test_it_retries_a_timeout_then_raises_a_connection_error(wallet, sleeps):
    wallet.default = Reply(200, payment_json(), hang=5)
    c = sdk.Client(API_KEY, wallet.url, timeout=0.2, sleep=sleeps.append)

    with pytest.raises(sdk.APIConnectionError) as info:
        c.payments.create(amount=1000, merchant_reference="A1")

    assert wallet.attempts == 3
    assert len(set(_keys(wallet))) == 1
    err = info.value
    assert err.should_retry and err.http_status is None
    assert "timed out" in str(err) and "retried 2 times" in str(err)
    assert err.idempotency_key == _keys(wallet)[0]


def test_it_recovers_when_a_timeout_is_followed_by_an_answer(wallet):
    c = sdk.Client(API_KEY, wallet.url, timeout=0.2, sleep=lambda s: None)
    wallet.queue(Reply(200, payment_json(), hang=5), Reply(201, payment_json()))
    assert c.payments.create(amount=1000, merchant_reference="A1").id.startswith("pay_")
    assert wallet.attempts == 2 and len(set(_keys(wallet))) == 1


def test_it_retries_a_refused_connection(sleeps):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    c = sdk.Client(API_KEY, f"http://127.0.0.1:{port}", sleep=sleeps.append)
    with pytest.raises(sdk.APIConnectionError) as info:
        c.payments.retrieve("pay_1")
    assert len(sleeps) == 2  # two retries, three attempts
    assert "could not connect" in str(info.value)


def test_it_retries_409_in_flight(wallet, client):
    in_flight = Reply(409, error_json("idempotency_error", "idempotency_key_in_use", "In flight"))
    wallet.queue(in_flight, Reply(201, payment_json()))
    client.payments.create(amount=1000, merchant_reference="A1", idempotency_key="k1")
    assert wallet.attempts == 2


def test_it_raises_idempotency_error_when_409_persists(wallet, client):
    wallet.default = Reply(409, error_json("idempotency_error", "idempotency_key_in_use", "Busy"))
    with pytest.raises(sdk.IdempotencyError) as info:
        client.payments.create(amount=1000, merchant_reference="A1")
    assert wallet.attempts == 3 and info.value.code == "idempotency_key_in_use"


def test_it_does_not_retry_when_should_retry_is_false(wallet, client, sleeps):
    wallet.default = Reply(503, error_json("api_error"), {"Should-Retry": "false"})
    with pytest.raises(sdk.APIError):
        client.payments.retrieve("pay_1")
    assert wallet.attempts == 1 and sleeps == []


@pytest.mark.parametrize("status", [400, 429])
def test_it_retries_any_status_when_should_retry_is_true(wallet, client, status):
    wallet.queue(Reply(status, error_json("rate_limit_error"), {"Should-Retry": "true"}))
    assert client.payments.retrieve("pay_1").id
    assert wallet.attempts == 2


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 422, 429])
def test_it_never_retries_other_4xx(wallet, client, sleeps, status):
    wallet.default = Reply(status, error_json("invalid_request_error", message="no"))
    with pytest.raises(sdk.WalletError):
        client.payments.create(amount=1000, merchant_reference="A1")
    assert wallet.attempts == 1 and sleeps == []


def test_it_backs_off_exponentially_with_jitter_and_a_cap():
    c = sdk.Client(API_KEY, "http://127.0.0.1:1", max_retries=10)
    requestor = c._requestor
    for retries_done, (low, high) in enumerate(
        [(0.5, 0.5), (0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (2.5, 5.0), (2.5, 5.0)]
    ):
        delays = [requestor.sleep_seconds(retries_done) for _ in range(200)]
        assert low <= min(delays) and max(delays) <= high, retries_done
    assert requestor.sleep_seconds(0, {"Retry-After": "3"}) == 3.0
    assert requestor.sleep_seconds(0, {"Retry-After": "3600"}) == 0.5  # unreasonable: ignored


def test_it_honours_an_injected_base_delay(wallet, sleeps):
    wallet.queue(SERVER_ERROR, SERVER_ERROR)
    c = sdk.Client(API_KEY, wallet.url, sleep=sleeps.append, initial_retry_delay=0.01)
    c.payments.retrieve("pay_1")
    assert sleeps[0] == 0.01 and 0.01 <= sleeps[1] <= 0.02


# --------------------------------------------------------------------------- errors


def test_it_maps_400_with_param_to_invalid_request_error(wallet, client):
    wallet.queue(
        Reply(
            400,
            error_json(
                "invalid_request_error", "parameter_invalid", "amount is too small", "amount"
            ),
            {"Request-Id": "req_0badc0de"},
        )
    )
    with pytest.raises(sdk.InvalidRequestError) as info:
        client.payments.create(amount=5, merchant_reference="A1")
    err = info.value
    assert (err.http_status, err.code, err.param) == (400, "parameter_invalid", "amount")
    assert err.request_id == "req_0badc0de"
    assert err.error_type == "invalid_request_error"
    assert err.user_message == "amount is too small"
    assert err.json_body["error"]["param"] == "amount"
    assert err.headers["Request-Id"] == "req_0badc0de"
    text = str(err)
    assert "req_0badc0de" in text and "amount is too small" in text
    assert "param=amount" in text and "HTTP 400" in text
    assert "req_0badc0de" in repr(err)


def test_it_maps_401_to_authentication_error(wallet, client):
    wallet.queue(Reply(401, error_json("authentication_error", None, "Invalid API key")))
    with pytest.raises(sdk.AuthenticationError) as info:
        client.payments.retrieve("pay_1")
    assert info.value.http_status == 401 and wallet.attempts == 1


@pytest.mark.parametrize(
    ("status", "type_", "expected"),
    [
        (400, "idempotency_error", sdk.IdempotencyError),
        (409, "idempotency_error", sdk.IdempotencyError),
        (400, "invalid_request_error", sdk.InvalidRequestError),
        (404, "invalid_request_error", sdk.InvalidRequestError),
        (401, "authentication_error", sdk.AuthenticationError),
        (403, "permission_error", sdk.PermissionDeniedError),
        (402, "payment_declined", sdk.PaymentDeclinedError),
        (400, "payment_declined", sdk.PaymentDeclinedError),
        (429, "rate_limit_error", sdk.RateLimitError),
        (500, "api_error", sdk.APIError),
        # an unknown type falls back on the status
        (400, "brand_new_error", sdk.InvalidRequestError),
        (401, None, sdk.AuthenticationError),
        (402, None, sdk.PaymentDeclinedError),
        (403, None, sdk.PermissionDeniedError),
        (404, None, sdk.InvalidRequestError),
        (429, None, sdk.RateLimitError),
        (418, None, sdk.APIError),
        (503, None, sdk.APIError),
    ],
)
def test_it_maps_errors_by_type_then_status(wallet, status, type_, expected):
    wallet.default = Reply(status, error_json(type_, "some_code", "msg"), {"Should-Retry": "false"})
    c = sdk.Client(API_KEY, wallet.url, sleep=lambda s: None)
    with pytest.raises(sdk.WalletError) as info:
        c.payments.retrieve("pay_1")
    assert type(info.value) is expected
    assert info.value.code == "some_code" and info.value.http_status == status


def test_it_raises_api_error_for_a_non_json_502_after_retrying(wallet, client):
    wallet.default = Reply(
        502, b"<html><h1>502 Bad Gateway</h1></html>", {"Content-Type": "text/html"}
    )
    with pytest.raises(sdk.APIError) as info:
        client.payments.retrieve("pay_1")
    assert wallet.attempts == 3
    err = info.value
    assert err.http_status == 502 and err.json_body is None and err.code is None
    assert "502 Bad Gateway" in str(err) and err.request_id in str(err)


def test_it_raises_api_error_for_a_success_that_is_not_json(wallet, client):
    wallet.queue(Reply(200, b"OK"))
    with pytest.raises(sdk.APIError, match="not a JSON object"):
        client.payments.retrieve("pay_1")
    assert wallet.attempts == 1


def test_it_raises_api_error_for_an_unreadable_object(wallet, client):
    wallet.queue(Reply(200, {"object": "payment", "amount": "lots"}))
    with pytest.raises(sdk.APIError, match="cannot read"):
        client.payments.retrieve("pay_1")


def test_it_does_not_follow_redirects(wallet, client):
    wallet.queue(Reply(302, b"", {"Location": "http://evil.example/steal"}))
    with pytest.raises(sdk.APIError) as info:
        client.payments.retrieve("pay_1")
    assert info.value.http_status == 302 and wallet.attempts == 1


# --------------------------------------------------------------------------- configuration


@pytest.mark.parametrize("key", ["", "  ", None, "sk_test_x\n"])
def test_it_refuses_a_missing_or_garbled_api_key(key):
    with pytest.raises(sdk.AuthenticationError):
        sdk.Client(key, "http://127.0.0.1:8102")


@pytest.mark.parametrize("url", ["127.0.0.1:8102", "ftp://x", "http://", "http://x/?a=1"])
def test_it_refuses_a_bad_base_url(url):
    with pytest.raises(ValueError, match="base_url"):
        sdk.Client(API_KEY, url)


def test_it_never_shows_the_api_key_in_its_repr(wallet):
    c = sdk.Client(API_KEY, wallet.url + "/")
    assert API_KEY not in repr(c) and API_KEY not in repr(c._requestor)
    assert c.base_url == wallet.url


def test_it_uses_the_callers_session_and_leaves_it_open(wallet):
    session = requests.Session()
    session.headers["X-Trace"] = "t-1"
    with sdk.Client(API_KEY, wallet.url, session=session) as c:
        c.payments.retrieve("pay_1")
    assert wallet.requests[0].header("X-Trace") == "t-1"
    assert session.adapters  # not closed: still usable
    session.get(wallet.url + "/v1/payments/pay_2", timeout=2)


# --------------------------------------------------------------------------- logging


def test_it_logs_each_attempt_without_secrets(wallet, client, caplog):
    wallet.queue(SERVER_ERROR, Reply(201, payment_json(), {"Request-Id": "req_feed"}))
    with caplog.at_level(logging.DEBUG, logger="choso_wallet"):
        client.payments.create(
            amount=85000,
            merchant_reference="CS7K4PX",
            description="secret-description",
            metadata={"phone": "0909000001"},
        )

    records = [r for r in caplog.records if r.name == "choso_wallet"]
    everything = " ".join(
        r.getMessage() + " " + json.dumps(r.__dict__, default=str) for r in records
    )
    assert API_KEY not in everything
    assert "Bearer" not in everything and "Authorization" not in everything
    assert "secret-description" not in everything and "0909000001" not in everything
    final = records[-1]
    message = final.getMessage()
    assert "POST" in message and "/v1/payments" in message and "201" in message
    assert "req_feed" in message and "attempt 2/3" in message
    assert final.wallet_status == 201 and final.wallet_attempt == 2
    assert final.wallet_request_id == "req_feed" and final.wallet_elapsed >= 0
    assert any("retrying" in r.getMessage() for r in records)
    assert any(r.levelno == logging.WARNING and "500" in r.getMessage() for r in records)
