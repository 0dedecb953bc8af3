"""MoMo settings: with MoMo taking e-wallet sales, `check --deploy` refuses a sandbox or test
endpoint, an unreachable IPN address, and empty or sandbox keys."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from payments.checks import momo_is_ready_for_production

LIVE = {
    "EWALLET_PROVIDER": "momo",
    "MOMO_ENDPOINT": "https://payment.momo.vn",
    "MOMO_IPN_URL": "https://cho.example.vn/api/v1/payments/webhooks/momo",
    "MOMO_PARTNER_CODE": "MOMOABCD20261204",
    "MOMO_ACCESS_KEY": "a-real-access-key",
    "MOMO_SECRET_KEY": "a-real-secret-key",
}


@pytest.fixture
def live(settings):
    for name, value in LIVE.items():
        setattr(settings, name, value)
    return settings


def test_it_accepts_momos_own_endpoint_and_real_keys(live):
    assert momo_is_ready_for_production() == []


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://127.0.0.1:8106",
        "https://localhost:8106",
        "https://test-payment.momo.vn",
        "http://payment.momo.vn",
    ],
)
def test_it_refuses_a_sandbox_or_test_endpoint(live, endpoint):
    live.MOMO_ENDPOINT = endpoint

    (error,) = momo_is_ready_for_production()

    assert error.id == "payments.E002" and "MOMO_ENDPOINT" in error.msg


@pytest.mark.parametrize("name", ["MOMO_PARTNER_CODE", "MOMO_ACCESS_KEY", "MOMO_SECRET_KEY"])
@pytest.mark.parametrize("value", ["", "  ", "sandbox-momo-secret", "MOMOCHOSO2026"])
def test_it_refuses_empty_or_sandbox_keys(live, name, value):
    setattr(live, name, value)

    (error,) = momo_is_ready_for_production()

    assert error.id == "payments.E004" and name in error.msg


def test_it_refuses_an_ipn_address_momo_cannot_reach(live):
    live.MOMO_IPN_URL = "http://127.0.0.1:8000/api/v1/payments/webhooks/momo"

    assert [e.id for e in momo_is_ready_for_production()] == ["payments.E003"]


def test_it_says_nothing_when_momo_is_not_the_provider(settings):
    settings.EWALLET_PROVIDER = "ewallet"
    settings.MOMO_ENDPOINT = "http://127.0.0.1:8106"

    assert momo_is_ready_for_production() == []


def test_it_stops_check_deploy_with_the_sandbox_endpoint(live):
    live.MOMO_ENDPOINT = "http://127.0.0.1:8106"

    with pytest.raises(SystemCheckError, match=r"payments\.E002"):
        call_command("check", "--deploy", "--tag", "security")


def test_it_refuses_to_start_with_an_unknown_wallet_provider(tmp_path):
    from tests.test_settings import _production_env, _run

    result = _run(_production_env(tmp_path, EWALLET_PROVIDER="zalopay"), "manage.py", "check")

    assert result.returncode != 0
    assert "EWALLET_PROVIDER must be 'ewallet' or 'momo'" in result.stderr


def test_a_production_with_momo_and_its_real_keys_passes_the_deploy_checks(tmp_path):
    from tests.test_settings import _production_env, _run

    env = _production_env(tmp_path, **LIVE)
    result = _run(env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stderr


def test_a_production_with_momo_and_no_keys_fails_the_deploy_checks(tmp_path):
    from tests.test_settings import _production_env, _run

    env = _production_env(tmp_path, EWALLET_PROVIDER="momo")
    result = _run(env, "manage.py", "check", "--deploy")

    assert result.returncode != 0
    assert "payments.E004" in result.stderr and "payments.E003" in result.stderr
