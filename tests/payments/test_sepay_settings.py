"""SePay settings: `check --deploy` refuses a sandbox or plain-http provider address."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from payments.checks import bank_alert_provider_is_real


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8104",
        "https://127.0.0.1:8104",
        "https://localhost/",
        "https://10.0.0.5",
        "http://my.sepay.vn",
        "https://[::1]:8104",
        "sepay",
    ],
)
def test_it_refuses_a_sandbox_or_plain_http_address_in_the_deploy_checks(settings, url):
    settings.SEPAY_API_URL = url

    (error,) = bank_alert_provider_is_real()

    assert error.id == "payments.E001"
    assert "SEPAY_API_URL" in error.msg


def test_it_accepts_sepays_own_address(settings):
    settings.SEPAY_API_URL = "https://my.sepay.vn"

    assert bank_alert_provider_is_real() == []


def test_it_stops_check_deploy_with_the_sandbox_address(settings):
    settings.SEPAY_API_URL = "http://127.0.0.1:8104"

    with pytest.raises(SystemCheckError, match=r"payments\.E001"):
        call_command("check", "--deploy", "--tag", "security")
