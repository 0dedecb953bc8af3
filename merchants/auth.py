"""How the JSON API knows who is asking: a per-merchant API key (Bearer) or the session cookie."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import HttpBearer
from ninja.security import SessionAuth as NinjaSessionAuth

from .models import User
from .selectors import Principal
from .services import api_key_authenticate


class ApiKeyAuth(HttpBearer):
    openapi_description = "Per-merchant API key: `Authorization: Bearer cs_live_…`"

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        key = api_key_authenticate(token)
        if key is None:
            return None
        request.principal = Principal(api_key=key)  # type: ignore[attr-defined]
        return key


def principal(request: HttpRequest) -> Principal:
    """The caller of an authenticated API request."""
    found = getattr(request, "principal", None)
    if found is not None:
        return found
    user = request.user if request.user.is_authenticated else None
    return Principal(user=user)  # type: ignore[arg-type]


class SessionAuth(NinjaSessionAuth):
    """The signed-in session, CSRF-checked. Without a signed-in user there is no session to
    protect: the caller is not authenticated (401), never "CSRF failed" (403)."""

    def __call__(self, request: HttpRequest) -> Any:
        if not request.user.is_authenticated:
            return None
        return super().__call__(request)


session_auth = SessionAuth()

# API key first, then the signed-in session (which also checks CSRF).
merchant_auth = [ApiKeyAuth(), session_auth]


class AuthedRequest(HttpRequest):
    """The request of a page behind @login_required: its user is a real User (for type checks)."""

    user: User  # type: ignore[assignment]
