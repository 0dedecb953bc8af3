"""Rate limits: django-ratelimit counters in the default cache (Redis in production, so every
worker shares them), keyed by the client as ``core.clientip`` finds it.

Rates are settings (``RATE_*``, "count/period" such as ``600/m`` or ``30/15m``; empty turns one
off) read on every request, so an override in a test or an environment variable applies at once.
A page over its limit gets a friendly 429 page with ``Retry-After``; the JSON API gets
``{"error": {"code": "rate_limited", ...}}`` with ``Retry-After`` (``install_api_throttle``).

Not limited here on purpose: the payment providers' webhooks. They are authenticated by their
HMAC signature, come from a few provider addresses and retry in bursts after an outage; a 429
would only delay money being confirmed.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_ratelimit import ALL
from django_ratelimit.core import get_usage
from ninja.errors import Throttled
from ninja.throttling import BaseThrottle

from .clientip import rate_key_ip
from .errors import RateLimited
from .rates import RATE_PATTERN

log = logging.getLogger(__name__)

Key = str | Callable[[str, HttpRequest | None], str]
# A rate: the name of its setting, or a function giving "count/period" or (count, seconds).
Rate = str | Callable[[], Any]

# JSON API paths never throttled (prefixes of request.path): the providers' webhooks.
API_UNTHROTTLED_PATHS = ("/api/v1/payments/webhooks/",)


def ip_key(group: str, request: HttpRequest | None) -> str:
    """django-ratelimit key: the client address (IPv6 by its /64)."""
    assert request is not None
    return f"ip:{rate_key_ip(request)}"


def _rate(rate: Rate) -> Callable[[str, HttpRequest | None], Any]:
    def resolve(group: str, request: HttpRequest | None) -> Any:
        value = rate() if callable(rate) else getattr(settings, rate, None)
        if isinstance(value, str) and value and not RATE_PATTERN.match(value):
            raise ImproperlyConfigured(f"rate limit {group}: {value!r} is not like 600/m or 30/15m")
        return value or None  # "" / None: this limit is off

    return resolve


@dataclass(frozen=True)
class Verdict:
    limited: bool
    retry_after: int = 0  # seconds until the counting window ends


NOT_LIMITED = Verdict(False)


def _usage(
    request: HttpRequest | None,
    *,
    group: str,
    rate: Rate,
    key: Key,
    increment: bool,
    method: Any = ALL,
) -> dict[str, Any] | None:
    keyfn = key if callable(key) else (lambda g, r: key)  # a literal value, never a dotted path
    try:
        return get_usage(
            request,
            group=group,
            key=keyfn,
            rate=_rate(rate),
            method=method,
            increment=increment,
        )
    except ImproperlyConfigured:
        raise
    except Exception as exc:  # the cache is down: protection off, the site stays up
        log.warning("rate limit %s not checked: %s", group, exc)
        return None


def _retry_after(usage: dict[str, Any]) -> int:
    # The window still holds its last second (django-ratelimit ends it at time_left == 0).
    return max(0, int(usage.get("time_left") or 0)) + 1


def hit(
    request: HttpRequest | None,
    *,
    group: str,
    rate: Rate,
    key: Key = ip_key,
    method: Any = ALL,
) -> Verdict:
    """Count one request; limited once more than the rate's count arrived in the window."""
    usage = _usage(request, group=group, rate=rate, key=key, increment=True, method=method)
    if usage is None or not usage["should_limit"]:
        return NOT_LIMITED
    return Verdict(True, _retry_after(usage))


def peek(request: HttpRequest | None, *, group: str, rate: Rate, key: Key = ip_key) -> Verdict:
    """Without counting: limited once the window already holds the rate's count. For limits
    that count only failures: ``peek`` before the attempt, ``hit`` when it failed."""
    usage = _usage(request, group=group, rate=rate, key=key, increment=False)
    if usage is None or usage["count"] < usage["limit"]:
        return NOT_LIMITED
    return Verdict(True, _retry_after(usage))


class RateLimitExceeded(RateLimited):
    """RateLimited that knows when to come back (``Retry-After``)."""

    def __init__(self, message: Any = None, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


# --- pages ------------------------------------------------------------------------------------


def wait_text(seconds: int) -> str:
    """ "5 phút" / "40 giây": how long to wait, rounded up, in the request's language."""
    if seconds < 60:
        n = max(1, seconds)
        return ngettext("%(n)s giây", "%(n)s giây", n) % {"n": n}
    n = math.ceil(seconds / 60)
    return ngettext("%(n)s phút", "%(n)s phút", n) % {"n": n}


def too_many_page(request: HttpRequest, retry_after: int, message: str = "") -> HttpResponse:
    response = render(
        request,
        "429.html",
        {"message": message, "wait": wait_text(retry_after)},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def limit_page(
    *, group: str, rate: Rate, methods: Iterable[str] | None = None, message: Callable[[], str]
) -> Callable:
    """Decorator for a page: every request (or only those of ``methods``) counts per client;
    over the rate the page is a 429 saying how long to wait."""
    method = list(methods) if methods is not None else ALL

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            verdict = hit(request, group=group, rate=rate, method=method)
            if verdict.limited:
                return too_many_page(request, verdict.retry_after, message())
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


# --- the JSON API -----------------------------------------------------------------------------


def api_key(group: str, request: HttpRequest | None) -> str:
    """Who an API call counts against: its API key, else the signed-in user, else the client IP."""
    assert request is not None
    principal = getattr(request, "principal", None)  # set by merchants.auth.ApiKeyAuth
    api_key = getattr(principal, "api_key", None)
    if api_key is not None:
        return f"key:{api_key.pk}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return ip_key(group, request)


def api_rate_setting(key: str) -> str:
    if key.startswith("key:"):
        return "RATE_API_KEY"
    if key.startswith("user:"):
        return "RATE_API_USER"
    return "RATE_API_ANON"


class ApiThrottle(BaseThrottle):
    """django-ninja throttle (runs after authentication) on django-ratelimit's counters."""

    def __init__(self) -> None:
        self._local = threading.local()  # wait() is asked right after allow_request(), per thread

    def allow_request(self, request: HttpRequest) -> bool:
        self._local.wait = None
        if request.path.startswith(API_UNTHROTTLED_PATHS):
            return True
        who = api_key("api", request)
        verdict = hit(request, group="api", rate=api_rate_setting(who), key=who)
        if verdict.limited:
            self._local.wait = verdict.retry_after
        return not verdict.limited

    def wait(self) -> float | None:
        return getattr(self._local, "wait", None)


def install_api_throttle(api: Any) -> None:
    """Limit every operation of ``api`` and answer 429 in the API's error shape."""
    api.throttle = [ApiThrottle()]

    def on_throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
        wait = math.ceil(exc.wait) if exc.wait else 60
        error = RateLimited(
            _("Quá nhiều yêu cầu. Vui lòng thử lại sau %(wait)s.") % {"wait": wait_text(wait)}
        )
        response = api.create_response(request, error.as_dict(), status=error.status)
        response["Retry-After"] = str(wait)  # ninja sets it too; here for any other raiser
        return response

    def on_rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
        response = api.create_response(request, exc.as_dict(), status=exc.status)
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            response["Retry-After"] = str(retry_after)
        return response

    api.add_exception_handler(Throttled, on_throttled)
    api.add_exception_handler(RateLimited, on_rate_limited)
