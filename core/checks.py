"""System checks for the secrets that guard money (settings.REQUIRED_SECRETS).

config/settings.py already refuses to start with DEBUG off when one is empty; these report the
same at ``manage.py check`` (and at runserver / migrate) when settings were changed after it, and
``check --deploy`` also reports, whatever DEBUG says, an empty secret and one still holding the
sandboxes' public development value.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register
from django.core.checks import Warning as CheckWarning
from django.core.exceptions import ImproperlyConfigured

# The values config/settings.py gives these secrets with DEBUG on (the sandboxes' defaults; a
# test keeps this list in step). They are public: in production each is as good as none.
DEVELOPMENT_VALUES = frozenset(
    {
        "sandbox-banknotify-key",
        "sandbox-banknotify-secret",
        "sandbox-ewallet-key",
        "sandbox-ewallet-secret",
        "sandbox-taxgateway-key",
    }
)

_HINT = "Set it in the environment (see README.md, Configuration)."


def _value(name: str) -> str:
    try:
        return str(getattr(settings, name, "") or "")
    except ImproperlyConfigured:  # Django refuses to even read an empty SECRET_KEY
        return ""


def empty_secrets() -> list[str]:
    return [name for name in settings.REQUIRED_SECRETS if not _value(name).strip()]


@register(Tags.security)
def secrets_are_set(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """With DEBUG off, every required secret has a value."""
    if settings.DEBUG:
        return []  # the sandboxes' values; EINVOICE_KEY_SECRET derived from SECRET_KEY
    return [
        Error(f"{name} is empty; it is required when DEBUG is off.", hint=_HINT, id="core.E001")
        for name in empty_secrets()
    ]


@register(Tags.security, deploy=True)
def secrets_are_ready_for_production(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``check --deploy``: no required secret is empty or the sandboxes' public value."""
    messages: list[CheckMessage] = []
    if settings.DEBUG:  # with DEBUG off, secrets_are_set above reports the empty ones
        messages += [
            Error(
                f"{name} is empty; it is required in production (DEBUG off).",
                hint=_HINT,
                id="core.E002",
            )
            for name in empty_secrets()
        ]
    messages += [
        CheckWarning(
            f"{name} is the sandboxes' public development value.",
            hint="Use the provider's real secret.",
            id="core.W001",
        )
        for name in settings.REQUIRED_SECRETS
        if _value(name) in DEVELOPMENT_VALUES
    ]
    return messages


SMS_DEVELOPMENT_KEY = "sandbox-sms-key"  # the SMS sandbox's public key (bin/run, settings)
_LOOPBACK_HOSTS = ("127.", "localhost", "0.0.0.0")  # noqa: S104 - a host to refuse


@register(Tags.security, deploy=True)
def sms_is_ready_for_production(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``check --deploy``: the SMS provider (core/sms.py) is a real one. Without it nobody can
    reset a password or be registered on their behalf, and no stall decision reaches a phone."""
    from urllib.parse import urlsplit

    messages: list[CheckMessage] = []
    if not _value("SMS_API_KEY").strip():
        messages.append(
            Error("SMS_API_KEY is empty; SMS cannot be sent.", hint=_HINT, id="core.E003")
        )
    elif _value("SMS_API_KEY") == SMS_DEVELOPMENT_KEY:
        messages.append(
            CheckWarning(
                "SMS_API_KEY is the sandbox's public development value.",
                hint="Use the SMS provider's real key.",
                id="core.W001",
            )
        )
    host = (urlsplit(_value("SMS_URL")).hostname or "").lower()
    if not host or host.startswith(_LOOPBACK_HOSTS) or host in ("::1", "localhost"):
        messages.append(
            Error(
                f"SMS_URL {_value('SMS_URL')!r} is not a provider: it is empty or on loopback "
                "(the sandbox).",
                hint="Set SMS_URL to the SMS provider's https address.",
                id="core.E004",
            )
        )
    return messages


SANDBOX_HOSTS = frozenset({"localhost", "localhost.localdomain", "0.0.0.0"})  # noqa: S104


def sandbox_url_problem(url: str) -> str:
    """Why ``url`` is not a production provider's address, or "" when it is."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https":
        return "is not https"
    if not host:
        return "has no host"
    if host in SANDBOX_HOSTS or host.endswith(".localhost"):
        return "points at this machine (a sandbox)"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return ""
    if address.is_loopback or address.is_private or address.is_link_local:
        return "points at a loopback or private address (a sandbox)"
    return ""


@register(Tags.security, deploy=True)
def tax_gateway_is_real(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``check --deploy``: e-invoices must go to the tax authority's gateway (through the
    operator's provider), never to the sandbox on loopback (docs/einvoice-provider.md)."""
    problem = sandbox_url_problem(settings.TAXGATEWAY_URL)
    if not problem:
        return []
    return [
        Error(
            f"TAXGATEWAY_URL {problem}: {settings.TAXGATEWAY_URL!r}.",
            hint="Set it to the e-invoice provider's gateway (docs/einvoice-provider.md).",
            id="core.E005",
        )
    ]
