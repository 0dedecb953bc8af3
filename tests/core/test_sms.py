"""core/sms.py, the one SMS adapter, against the sandbox gateway over HTTP; the core.send_sms
task; and `check --deploy`'s refusal of a sandbox SMS provider in production."""

from __future__ import annotations

import logging

import pytest
from django.core.checks import run_checks
from django.db import transaction

from core import sms as sms_module
from core.sms import SmsRejected, SmsUnavailable, send_sms, send_sms_after_commit
from core.tasks import send_sms_task

PHONE = "+84905123456"


def test_it_sends_through_the_provider(sms):
    receipt = send_sms(PHONE, "Xin chào", reference="hello-1")

    assert receipt.id.startswith("sms_")
    assert not receipt.duplicate
    assert [m["text"] for m in sms.outbox(to=PHONE)] == ["Xin chào"]


def test_it_sends_a_reference_once(sms):
    send_sms(PHONE, "Xin chào", reference="hello-1")
    again = send_sms(PHONE, "Xin chào", reference="hello-1")

    assert again.duplicate
    assert len(sms.outbox(to=PHONE)) == 1


def test_it_maps_a_refusal_to_rejected(sms, settings):
    settings.SMS_API_KEY = "wrong"
    with pytest.raises(SmsRejected) as caught:
        send_sms(PHONE, "x")
    assert (caught.value.http_status, caught.value.code) == (401, "api_key_invalid")
    assert not caught.value.transient

    settings.SMS_API_KEY = "test-sms-key"
    with pytest.raises(SmsRejected) as caught:
        send_sms("+1202555", "x")
    assert caught.value.code == "phone_invalid"


def test_it_maps_an_outage_to_unavailable(sms, settings):
    sms.set_faults(fail_next=1)
    with pytest.raises(SmsUnavailable) as caught:
        send_sms(PHONE, "x")
    assert (caught.value.http_status, caught.value.transient) == (503, True)

    settings.SMS_URL = "http://127.0.0.1:9"
    with pytest.raises(SmsUnavailable) as caught:
        send_sms(PHONE, "x")
    assert caught.value.code == "connection"


def test_it_gives_up_waiting_after_the_timeout(sms, settings):
    settings.SMS_TIMEOUT_SECONDS = 1
    sms.set_faults(latency_ms=1500)

    with pytest.raises(SmsUnavailable) as caught:
        send_sms(PHONE, "x")

    assert caught.value.code == "timeout"


def test_it_says_when_sms_is_not_configured(settings):
    settings.SMS_API_KEY = ""

    with pytest.raises(SmsUnavailable) as caught:
        send_sms(PHONE, "x")

    assert caught.value.code == "not_configured"


def test_it_sends_only_after_the_transaction_commits(sms, django_capture_on_commit_callbacks, db):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        send_sms_after_commit(PHONE, "sau commit", reference="c-1")
        assert sms.outbox() == []

    assert [m["text"] for m in sms.outbox()] == ["sau commit"]


def test_it_sends_nothing_when_the_transaction_rolls_back(
    sms, django_capture_on_commit_callbacks, db
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        send_sms_after_commit(PHONE, "never")
        raise RuntimeError

    assert sms.outbox() == []


def test_its_task_logs_a_failure_instead_of_failing_the_request(sms, caplog):
    sms.set_faults(fail_next=1)

    with caplog.at_level(logging.ERROR, logger="core.tasks"):
        outcome = send_sms_task.apply(args=(sms_module.seal(PHONE, "x"), "t-1")).get(
            disable_sync_subtasks=False
        )

    assert outcome == "failed"
    assert "SMS t-1 not sent (service_unavailable 503)" in caplog.text
    assert PHONE not in caplog.text  # no personal data in logs


def _sms_checks():
    return [m for m in run_checks(include_deployment_checks=True) if "SMS" in m.msg]


def test_it_refuses_a_sandbox_sms_provider_in_the_deploy_checks(settings):
    settings.SMS_URL, settings.SMS_API_KEY = "http://127.0.0.1:8104", "sandbox-sms-key"
    ids = {m.id for m in _sms_checks()}
    assert ids == {"core.W001", "core.E004"}

    settings.SMS_URL, settings.SMS_API_KEY = "http://localhost:8104", ""
    assert {m.id for m in _sms_checks()} == {"core.E003", "core.E004"}

    settings.SMS_URL, settings.SMS_API_KEY = "https://sms.example.vn", "k" * 40
    assert _sms_checks() == []


def test_it_refuses_the_sandbox_tax_gateway_in_the_deploy_checks(settings):
    """E-invoices must reach the tax authority: a loopback or plain-http TAXGATEWAY_URL (the
    sandbox) is an error at ``check --deploy``."""

    def gateway_errors():
        return {
            m.id for m in run_checks(include_deployment_checks=True) if "TAXGATEWAY_URL" in m.msg
        }

    for url in (
        "http://127.0.0.1:8103",
        "https://localhost:8103",
        "https://10.0.0.5",
        "http://hoadon.example.vn",
    ):
        settings.TAXGATEWAY_URL = url
        assert gateway_errors() == {"core.E005"}, url

    settings.TAXGATEWAY_URL = "https://hoadon.example.vn"
    assert gateway_errors() == set()


def test_the_queue_carries_the_number_and_the_code_sealed(
    sms, django_capture_on_commit_callbacks, db, monkeypatch
):
    """A one-time code passes through Redis on its way to the SMS task: what the queue holds
    reads as neither the number nor the code, and opens only with this site's secret."""
    from core.tasks import send_sms_task as task

    queued = []
    real_delay = task.delay
    monkeypatch.setattr(task, "delay", lambda *args: queued.append(args) or real_delay(*args))
    with django_capture_on_commit_callbacks(execute=True):
        send_sms_after_commit(PHONE, "Chợ Số: mã của bạn là 482913")

    ((sealed, reference),) = queued
    assert "482913" not in sealed and PHONE not in sealed and PHONE[1:] not in sealed
    assert sms_module.unseal(sealed) == (PHONE, "Chợ Số: mã của bạn là 482913")
    assert reference.startswith("sms-")  # its own reference: a retry cannot send it twice
    assert [m["text"] for m in sms.outbox()] == ["Chợ Số: mã của bạn là 482913"]


def test_a_message_sealed_with_another_secret_is_refused_and_logged(sms, settings, caplog):
    sealed = sms_module.seal(PHONE, "x")
    settings.SECRET_KEY = "another-site-" + "k" * 50

    with caplog.at_level(logging.ERROR, logger="core.tasks"):
        outcome = send_sms_task.apply(args=(sealed, "t-2")).get(disable_sync_subtasks=False)

    assert outcome == "failed"
    assert "cannot be opened" in caplog.text
    assert sms.outbox() == []
