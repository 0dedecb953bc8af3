from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.middleware.gzip import GZipMiddleware
from django.shortcuts import render

from .errors import ApplicationError


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
