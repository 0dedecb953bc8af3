from __future__ import annotations

from django.http import HttpRequest, HttpResponse
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
