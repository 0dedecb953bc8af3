"""``check --deploy``: every payment provider's address must be a real one, and no page may offer
the sandbox bank.

SEPAY_API_URL is where reconciliation reads each trader's SePay transaction list (with their API
token); BANKNOTIFY_URL is the platform's bank-notification provider (reconciliation, with the
platform's key); EWALLET_URL the e-wallet provider (payments and refunds). In production each
must be HTTPS to a public host: a loopback, private or plain-http address is a sandbox (or a
mistake), its "payments" are not money, and a key must never be sent there. SANDBOX_LINKS puts
"Thử đóng vai khách" (pay in the sandbox bank) on every QR: never in production.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

from core.checks import sandbox_url_problem


@register(Tags.security, deploy=True)
def bank_alert_provider_is_real(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problem = sandbox_url_problem(settings.SEPAY_API_URL)
    if not problem:
        return []
    return [
        Error(
            f"SEPAY_API_URL {problem}: {settings.SEPAY_API_URL!r}.",
            hint="Unset it for SePay's own https://my.sepay.vn (see README.md, Configuration).",
            id="payments.E001",
        )
    ]


MOMO_TEST_HOSTS = frozenset({"test-payment.momo.vn"})  # MoMo's own test environment
MOMO_DEVELOPMENT_VALUES = frozenset(
    {"MOMOCHOSO2026", "sandbox-momo-access", "sandbox-momo-secret"}
)  # config/settings.py's values with DEBUG on (sandboxes/momo's defaults): public


@register(Tags.security, deploy=True)
def momo_is_ready_for_production(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``check --deploy`` with MoMo taking e-wallet sales: its real endpoint and real keys."""
    if settings.EWALLET_PROVIDER != "momo":
        return []
    messages: list[CheckMessage] = []
    endpoint = settings.MOMO_ENDPOINT
    problem = sandbox_url_problem(endpoint)
    if not problem and (urlsplit(endpoint).hostname or "").lower() in MOMO_TEST_HOSTS:
        problem = "is MoMo's test environment"
    if problem:
        messages.append(
            Error(
                f"MOMO_ENDPOINT {problem}: {endpoint!r}.",
                hint="Unset it for https://payment.momo.vn (docs/ewallet-momo.md).",
                id="payments.E002",
            )
        )
    ipn_problem = sandbox_url_problem(settings.MOMO_IPN_URL)
    if ipn_problem:
        messages.append(
            Error(
                f"MOMO_IPN_URL {ipn_problem}: {settings.MOMO_IPN_URL!r}; MoMo cannot reach it.",
                hint="Set it to this platform's public https address of "
                "/api/v1/payments/webhooks/momo.",
                id="payments.E003",
            )
        )
    for name in ("MOMO_PARTNER_CODE", "MOMO_ACCESS_KEY", "MOMO_SECRET_KEY"):
        value = str(getattr(settings, name, "") or "")
        if not value.strip() or value in MOMO_DEVELOPMENT_VALUES:
            messages.append(
                Error(
                    f"{name} is empty or the sandbox's public value.",
                    hint="Use the keys MoMo gave the operator's partner account.",
                    id="payments.E004",
                )
            )
    return messages


@register(Tags.security, deploy=True)
def payment_providers_are_real(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``check --deploy``: the platform's bank-notification and e-wallet providers are real ones,
    and the QR pages do not link to the sandbox bank."""
    messages: list[CheckMessage] = []
    for name, code in (("BANKNOTIFY_URL", "payments.E005"), ("EWALLET_URL", "payments.E006")):
        url = str(getattr(settings, name, "") or "")
        problem = sandbox_url_problem(url)
        if problem:
            messages.append(
                Error(
                    f"{name} {problem}: {url!r}.",
                    hint="Set it to the provider's https address (deploy/env.example).",
                    id=code,
                )
            )
    if settings.SANDBOX_LINKS:
        messages.append(
            Error(
                "SANDBOX_LINKS is on: every QR page links to the sandbox bank.",
                hint="Unset SANDBOX_LINKS (it follows DEBUG).",
                id="payments.E007",
            )
        )
    return messages
