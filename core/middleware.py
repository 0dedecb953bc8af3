from __future__ import annotations

from typing import Any

import sentry_sdk
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.middleware.gzip import GZipMiddleware
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from .errors import ApplicationError
from .logs import request_id_from, request_id_var
from .text import INVALID_TEXT_CODE, INVALID_TEXT_MESSAGE, text_is_clean


class ApplicationErrorMiddleware:
    """Pages: an ApplicationError that escapes a view becomes a friendly page with its status
    (404 for another merchant's object, 403 for a missing permission), never a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if request.path.startswith("/api/") or not isinstance(exc, ApplicationError):
            return None
        return render(
            request,
            "error.html",
            {"status": exc.status, "message": str(exc.message)},
            status=exc.status,
        )


class CompressPagesMiddleware(GZipMiddleware):
    """Gzip pages and JSON for phones on a weak 3G link (a storefront's HTML shrinks ~6×).

    Live streams (Server-Sent Events) pass untouched: gzip would hold events back in its buffer.
    CSRF tokens are masked anew on every response (Django), which defeats BREACH-style guessing
    of the token through compressed sizes.
    """

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if response.get("Content-Type", "").startswith("text/event-stream"):
            return response
        return super().process_response(request, response)


class RequestIdMiddleware:
    """Each request gets an id: the caller's ``X-Request-ID`` when well-formed (a load balancer
    may set one), else a new one. Every log line written while the request runs carries it
    (core/logs.py), Sentry tags its events with it, and the response echoes it in
    ``X-Request-ID`` so a trader's "it failed" can be found in the logs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        # Kept until the response is closed (core.logs.forget_request_id): Django writes its
        # "Not Found: …" / "Unprocessable Content: …" lines after the middleware has returned,
        # and a stream (SSE) logs while it is being sent.
        request_id = request_id_from(request.headers.get("X-Request-ID"))
        request_id_var.set(request_id)
        if sentry_sdk.get_client().is_active():  # SENTRY_DSN is set
            sentry_sdk.set_tag("request_id", request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


PROBE_PATHS = frozenset({"/healthz", "/readyz"})


class HealthProbeHostMiddleware:
    """Load balancers and container runtimes probe by the container's own address
    (``10.0.3.7:8000``, ``localhost``), which is not in ALLOWED_HOSTS. For the two probe paths
    only, the Host header is taken as it is: those views answer the same to any host and never
    build a URL from it (the SSL redirect is waived for them by SECURE_REDIRECT_EXEMPT)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.path_info in PROBE_PATHS:
            request.get_host = request._get_raw_host  # type: ignore[attr-defined,method-assign]
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """``Content-Security-Policy`` on every HTML page, built from ``settings.SECURE_CSP``
    (directive → sources, the shape Django 6.0 reads). A response that already has one keeps it.

    Only HTML: a PDF or JSON answer runs no script, and Chromium's PDF viewer breaks under
    ``object-src 'none'``. Django's technical 500 page (DEBUG only) keeps its inline script.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = "; ".join(
            " ".join([directive, *sources]) for directive, sources in settings.SECURE_CSP.items()
        )

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            self.policy
            and "Content-Security-Policy" not in response
            and response.get("Content-Type", "").startswith("text/html")
            and not (settings.DEBUG and response.status_code >= 500)
        ):
            response["Content-Security-Policy"] = self.policy
        return response


# --- issue 13: every bad request gets a clean 4xx ----------------------------------------------

API_PREFIX = "/api/"
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def api_error_response(
    status: int, code: str, message: Any, fields: dict[str, list[Any]] | None = None
) -> HttpResponse:
    """The API's error shape, for answers given outside django-ninja (middleware, Django)."""
    body = {
        "error": {
            "code": code,
            "message": str(message),
            "fields": {name: [str(m) for m in msgs] for name, msgs in (fields or {}).items()},
        }
    }
    return JsonResponse(
        body,
        status=status,
        json_dumps_params={"ensure_ascii": False},
        content_type="application/json; charset=utf-8",
    )


def _too_large(request: HttpRequest) -> HttpResponse:
    message = _("Nội dung gửi lên quá lớn.")
    if request.path.startswith(API_PREFIX):
        return api_error_response(413, "payload_too_large", message)
    return render(request, "error.html", {"status": 413, "message": message}, status=413)


class RequestHygieneMiddleware:
    """A backstop for text from outside: a request whose path, query string, Idempotency-Key or
    page form fields (urlencoded or multipart; not the files) hold NUL, control characters other
    than tab and line breaks, or lone surrogates is answered 400 before any view sees it — the
    API's error shape under /api/, the error page elsewhere. Views and services then never store
    such text (a NUL breaks PostgreSQL, a control character the e-invoice XML), even those that
    read ``request.POST`` without a form. Forms (core.forms.CleanTextMixin) and the API's
    schemas (core.schemas.InSchema, for JSON bodies) check the finer rule per field — no line
    break in a one-line field — and name the field.

    Placed after the session and auth middleware, so its error page knows who is signed in. It
    reads a page's form before CSRF's check does, as CSRF would (no view here changes
    ``request.upload_handlers`` or reads ``request.body``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            where = self._dirty(request)
        except RequestDataTooBig:
            return _too_large(request)
        if where is not None:
            return self._refuse(request, where)
        return self.get_response(request)

    @staticmethod
    def _dirty(request: HttpRequest) -> str | None:
        if not text_is_clean(request.path):
            return "path"
        # Stored as it comes (core/idempotency.py): a NUL would reach the database.
        if not text_is_clean(request.headers.get("Idempotency-Key", "")):
            return "Idempotency-Key"
        sources = [request.GET]
        if (
            request.method == "POST"
            and request.content_type in _FORM_TYPES
            # The API reads its body itself (JSON; core.schemas checks it): parsing a multipart
            # body here would leave ``request.body`` unreadable to it.
            and not request.path.startswith(API_PREFIX)
        ):
            sources.append(request.POST)
        for data in sources:
            for key, values in data.lists():
                if not text_is_clean(key):
                    return "query"
                for value in values:
                    if not text_is_clean(value, multiline=True):
                        return key
        return None

    @staticmethod
    def _refuse(request: HttpRequest, where: str) -> HttpResponse:
        if request.path.startswith(API_PREFIX):
            return api_error_response(
                400, INVALID_TEXT_CODE, INVALID_TEXT_MESSAGE, {where: [INVALID_TEXT_MESSAGE]}
            )
        return render(
            request, "error.html", {"status": 400, "message": INVALID_TEXT_MESSAGE}, status=400
        )


_API_ERRORS: dict[int, tuple[str, Any]] = {
    400: ("bad_request", _lazy("Yêu cầu không hợp lệ.")),
    401: ("not_authenticated", _lazy("Bạn cần đăng nhập hoặc dùng khóa API hợp lệ.")),
    403: ("permission_denied", _lazy("Bạn không có quyền thực hiện thao tác này.")),
    404: ("not_found", _lazy("Không tìm thấy.")),
    405: ("method_not_allowed", _lazy("Phương thức này không được hỗ trợ ở địa chỉ này.")),
    413: ("payload_too_large", _lazy("Nội dung gửi lên quá lớn.")),
    429: ("rate_limited", _lazy("Bạn thử quá nhiều lần, vui lòng đợi một lúc.")),
}


class ApiErrorShapeMiddleware:
    """Under /api/ every error is JSON in the API's shape, also those django-ninja never sees:
    an unknown path (Django's 404 page), a method an operation does not take (405), a body
    above DATA_UPLOAD_MAX_MEMORY_SIZE (413) or any other HTML error page of Django. Headers
    such as ``Allow`` and ``Retry-After`` are kept."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            not request.path.startswith(API_PREFIX)
            or response.status_code < 400
            or response.get("Content-Type", "").startswith("application/json")
            or (response.status_code >= 500 and settings.DEBUG)  # keep Django's debug page
        ):
            return response
        code, message = _API_ERRORS.get(
            response.status_code,
            ("server_error", _lazy("Máy chủ gặp lỗi, vui lòng thử lại sau."))
            if response.status_code >= 500
            else ("http_error", _lazy("Yêu cầu không hợp lệ.")),
        )
        shaped = api_error_response(response.status_code, code, message)
        for header in ("Allow", "Retry-After", "X-Request-ID"):
            if header in response:
                shaped[header] = response[header]
        return shaped

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if request.path.startswith(API_PREFIX) and isinstance(exc, RequestDataTooBig):
            return _too_large(request)
        return None
