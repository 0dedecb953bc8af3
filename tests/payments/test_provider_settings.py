"""`check --deploy` refuses a sandbox as the platform's bank-notification or e-wallet provider,
and the sandbox bank's link on the QR pages: in production a "payment" there is not money."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from payments.checks import payment_providers_are_real

SANDBOXES = [
    "http://127.0.0.1:8101",
    "https://127.0.0.1:8101",
    "https://localhost:8102",
    "https://192.168.1.20",
    "http://baoco.example.vn",
    "",
]


@pytest.fixture
def real(settings):
    settings.BANKNOTIFY_URL = "https://baoco.example.vn"
    settings.EWALLET_URL = "https://vi.example.vn"
    settings.SANDBOX_LINKS = False
    return settings


def test_it_accepts_real_providers(real):
    assert payment_providers_are_real() == []


@pytest.mark.parametrize("url", SANDBOXES)
@pytest.mark.parametrize(
    ("name", "code"), [("BANKNOTIFY_URL", "payments.E005"), ("EWALLET_URL", "payments.E006")]
)
def test_it_refuses_a_sandbox_provider(real, name, code, url):
    setattr(real, name, url)

    (error,) = payment_providers_are_real()

    assert error.id == code
    assert name in error.msg


def test_it_refuses_the_sandbox_banks_link_on_the_qr_pages(real):
    real.SANDBOX_LINKS = True

    (error,) = payment_providers_are_real()

    assert error.id == "payments.E007"


def test_the_development_defaults_stop_check_deploy(settings):
    """What bin/run uses (the sandboxes on loopback, the demo link) never passes as production."""
    settings.BANKNOTIFY_URL = "http://127.0.0.1:8101"
    settings.EWALLET_URL = "http://127.0.0.1:8102"
    settings.SANDBOX_LINKS = True

    with pytest.raises(SystemCheckError) as refused:
        call_command("check", "--deploy", "--tag", "security")

    for code in ("payments.E005", "payments.E006", "payments.E007"):
        assert code in str(refused.value)
