"""``check --deploy``: the bank-alert provider's address must be a real one.

SEPAY_API_URL is where reconciliation reads each trader's SePay transaction list (with their API
token). In production it must be HTTPS to a public host: a loopback, private or plain-http
address is the sandbox (or a mistake), and a trader's token must never be sent there.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

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
