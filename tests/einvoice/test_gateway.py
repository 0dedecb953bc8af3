"""The gateway adapter (einvoice/gateway.py) against the sandbox gateway over real HTTP."""

from __future__ import annotations

import socket
import time
import uuid
from datetime import date

import pytest

from einvoice import gateway
from sandboxes.taxgateway import TaxGatewaySandbox
from sandboxes.taxgateway.samples import cash_register_code, invoice_xml

KEY = "sk_test_tax_adapter"
MST = "0401234566"
DAY = date(2026, 3, 14)


@pytest.fixture
def sandbox():
    with TaxGatewaySandbox([KEY], answer_delay=0, seed=11) as gw:
        yield gw


@pytest.fixture
def client(sandbox) -> gateway.TaxGatewayClient:
    return gateway.TaxGatewayClient(
        base_url=sandbox.url, api_key=KEY, timeout=0.5, connect_timeout=0.5, retry_delay=0.01
    )


@pytest.fixture
def registered(client) -> str:
    return client.register_series(tax_code=MST, form="1", series="C26TAA").register_prefix


def xml(number: int = 1, **kwargs) -> str:
    kwargs.setdefault("issued_on", DAY)
    kwargs.setdefault("series", "C26TAA")
    return invoice_xml(number=number, tax_code=MST, **kwargs)


def test_it_registers_a_series_and_gets_the_same_prefix_again(client):
    first = client.register_series(tax_code=MST, form="2", series="C26MAB")
    again = client.register_series(tax_code=MST, form="2", series="C26MAB")
    assert first == again
    assert len(first.register_prefix) == 5
    brought = client.register_series(
        tax_code=MST, form="2", series="C26MCD", register_prefix="A1B2C"
    )
    assert brought.register_prefix == "A1B2C"
    with pytest.raises(gateway.GatewayRejected) as refused:
        client.register_series(tax_code=MST, form="2", series="C26MEF", register_prefix="A1B2C")
    assert refused.value.code == "prefix_taken"


def test_it_submits_and_reads_the_answer_later(client, sandbox, registered):
    sandbox.set_faults(answer_delay=0.2)
    invoice_uuid = uuid.uuid4()

    sent = client.submit(invoice_uuid, xml())
    assert (sent.uuid, sent.status, sent.is_answered, sent.duplicate) == (
        invoice_uuid,
        "processing",
        False,
        False,
    )
    time.sleep(0.25)
    answer = client.get(invoice_uuid)

    assert answer.status == "accepted"
    assert len(answer.authority_code) == 34
    assert answer.answered_at is not None and answer.received_at is not None
    again = client.submit(invoice_uuid, xml())
    assert again.duplicate and again.authority_code == answer.authority_code


def test_it_returns_the_reasons_of_a_rejection(client, registered):
    answer = client.submit(uuid.uuid4(), xml(payable=1))
    assert answer.status == "rejected"
    assert [r.code for r in answer.reasons] == ["total_payable_mismatch"]
    assert answer.reasons[0].as_dict()["message"]


def test_it_raises_not_found_for_an_unknown_invoice(client):
    with pytest.raises(gateway.GatewayNotFound) as missing:
        client.get(uuid.uuid4())
    assert missing.value.http_status == 404
    assert missing.value.code == "resource_missing"


def test_it_raises_unavailable_on_5xx_and_retries_gets_once(client, sandbox, registered):
    sandbox.set_faults(fail_next=1, fail_next_mode="error")
    with pytest.raises(gateway.GatewayUnavailable) as failed:
        client.submit(uuid.uuid4(), xml())
    assert failed.value.http_status == 503
    assert failed.value.request_id.startswith("req_")

    invoice_uuid = uuid.uuid4()
    client.submit(invoice_uuid, xml())
    sandbox.set_faults(fail_next=1, fail_next_mode="error")
    assert client.get(invoice_uuid).status == "accepted"  # the GET was retried


def test_it_raises_a_timeout_that_may_have_reached_the_gateway(client, sandbox, registered):
    sandbox.set_faults(fail_next=1, fail_next_mode="timeout", hang_seconds=2)
    invoice_uuid = uuid.uuid4()
    started = time.monotonic()
    with pytest.raises(gateway.GatewayTimeout) as timed_out:
        client.submit(invoice_uuid, xml())
    assert time.monotonic() - started < 1.5
    assert timed_out.value.may_have_reached is True
    assert client.get(invoice_uuid).status == "accepted"  # it had been recorded


def test_it_says_a_refused_connection_did_not_reach_the_gateway():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = gateway.TaxGatewayClient(
        base_url=f"http://127.0.0.1:{port}", api_key=KEY, get_retries=0
    )
    with pytest.raises(gateway.GatewayUnavailable) as down:
        client.submit(uuid.uuid4(), "<HDon/>")
    assert down.value.may_have_reached is False


def test_it_raises_rejected_for_a_bad_key_and_a_uuid_conflict(sandbox, client, registered):
    bad = gateway.TaxGatewayClient(base_url=sandbox.url, api_key="wrong")
    with pytest.raises(gateway.GatewayRejected) as refused:
        bad.get(uuid.uuid4())
    assert refused.value.http_status == 401
    invoice_uuid = uuid.uuid4()
    client.submit(invoice_uuid, xml(1))
    with pytest.raises(gateway.GatewayRejected) as conflict:
        client.submit(invoice_uuid, xml(1, lines=[("Cá", "1", 10_000, "8%")]))
    assert conflict.value.code == "invoice_uuid_conflict"


def test_it_sends_a_batch_and_reads_each_result(client):
    prefix = client.register_series(tax_code=MST, form="2", series="C26MAB").register_prefix
    items = []
    for n in (1, 2):
        code = cash_register_code(form="2", year=2026, prefix=prefix, sequence=n)
        body = xml(
            n, form="2", series="C26MAB", cash_register_code=code, lines=[("Rau", "1", 5_000, "")]
        )
        items.append((uuid.uuid4(), body))
    items.append((uuid.uuid4(), xml(7)))  # not a cash-register invoice

    result = client.submit_batch(items, day=DAY)

    assert result.id.startswith("bat_")
    assert [i.invoice.status if i.invoice else None for i in result.items] == [
        "accepted",
        "accepted",
        None,
    ]
    assert result.items[0].invoice.authority_code.startswith(f"M2-26-{prefix}-")
    assert result.items[2].error.code == "not_cash_register"


def test_it_cancels_an_accepted_invoice(client, registered):
    accepted = client.submit(uuid.uuid4(), xml(1))
    canceled = client.cancel(accepted.uuid, "Khách trả hàng")
    assert canceled.canceled_at is not None
    rejected = client.submit(uuid.uuid4(), xml(2, payable=2))
    with pytest.raises(gateway.GatewayRejected) as refused:
        client.cancel(rejected.uuid, "x")
    assert refused.value.code == "invoice_not_cancelable"


def test_it_is_configured_by_settings_only(settings, sandbox):
    settings.TAXGATEWAY_URL = sandbox.url
    settings.TAXGATEWAY_API_KEY = KEY
    client = gateway.gateway_client()
    assert client.base_url == sandbox.url
    assert gateway.gateway_client() is client
    assert KEY not in repr(client)
    with pytest.raises(gateway.GatewayNotFound):
        client.get(uuid.uuid4())
