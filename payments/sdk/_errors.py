"""The exception hierarchy, modelled on stripe-python's ``_error.py``.

Every exception the SDK raises on purpose is a :class:`WalletError`. Catch the specific classes
for the cases you handle differently (a refused request, a wallet that is down) and
``WalletError`` for everything else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIConnectionError",
    "APIError",
    "AuthenticationError",
    "IdempotencyError",
    "InvalidRequestError",
    "PaymentDeclinedError",
    "PermissionDeniedError",
    "RateLimitError",
    "SignatureVerificationError",
    "WalletError",
    "error_from_response",
]


class WalletError(Exception):
    """Base class of every SDK error.

    Attributes: ``message`` (the provider's own message, see :attr:`user_message`),
    ``http_status``, ``code`` (e.g. ``"amount_too_large"``), ``error_type`` (the ``type`` of the
    error body, e.g. ``"invalid_request_error"``), ``param`` (the offending parameter),
    ``request_id`` (quote it to the provider's support), ``json_body`` (the parsed answer),
    ``headers`` (the response headers) and ``idempotency_key`` (the key a failed POST was sent
    with: retry later with the same key and the provider will not do the work twice).
    """

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code
        self.request_id = request_id
        self.json_body = json_body
        self.headers: Mapping[str, str] = headers if headers is not None else {}
        self.param = param
        self.idempotency_key: str | None = None
        error = json_body.get("error") if isinstance(json_body, dict) else None
        kind = error.get("type") if isinstance(error, dict) else None
        self.error_type: str | None = kind if isinstance(kind, str) else None

    @property
    def user_message(self) -> str:
        """The provider's message alone, without the request id and codes ``str()`` adds."""
        return self.message

    def __str__(self) -> str:
        details = []
        if self.http_status is not None:
            details.append(f"HTTP {self.http_status}")
        if self.code:
            details.append(f"code={self.code}")
        if self.param:
            details.append(f"param={self.param}")
        text = self.message or "(no message)"
        if details:
            text = f"{text} ({', '.join(details)})"
        if self.request_id:
            text = f"Request {self.request_id}: {text}"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(message={self.message!r}, http_status={self.http_status!r}, "
            f"code={self.code!r}, request_id={self.request_id!r})"
        )


class APIError(WalletError):
    """The provider failed (5xx) or answered something this SDK cannot understand."""


class APIConnectionError(WalletError):
    """The provider could not be reached, or did not answer within the timeout.

    ``should_retry`` tells whether the failure was of a kind worth retrying (connection refused,
    reset, timeout) as opposed to, say, an invalid URL.
    """

    def __init__(self, message: str, *, should_retry: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.should_retry = should_retry


class AuthenticationError(WalletError):
    """401: the API key is missing or unknown."""


class PermissionDeniedError(WalletError):
    """403: the API key may not act on this object (it belongs to another key)."""


class InvalidRequestError(WalletError):
    """400/404: a bad parameter (``param`` names it), an unknown id or a wrong state."""


class IdempotencyError(WalletError):
    """The idempotency key was reused with another body (400) or is still in flight (409)."""


class RateLimitError(WalletError):
    """429: too many requests."""


class PaymentDeclinedError(WalletError):
    """402 / ``payment_declined``: the wallet declined the payment."""


class SignatureVerificationError(WalletError):
    """A webhook's ``Wallet-Signature`` header is missing, malformed, stale or does not match.

    ``sig_header`` is the header received; ``http_body`` the payload, as given.
    """

    def __init__(
        self,
        message: str,
        sig_header: str | None = None,
        http_body: bytes | str | None = None,
    ) -> None:
        super().__init__(message)
        self.sig_header = sig_header
        self.http_body = http_body


_BY_TYPE: dict[str, type[WalletError]] = {
    "idempotency_error": IdempotencyError,
    "authentication_error": AuthenticationError,
    "permission_error": PermissionDeniedError,
    "rate_limit_error": RateLimitError,
    "payment_declined": PaymentDeclinedError,
    "invalid_request_error": InvalidRequestError,
    "api_error": APIError,
}

_BY_STATUS: dict[int, type[WalletError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    402: PaymentDeclinedError,
    403: PermissionDeniedError,
    404: InvalidRequestError,
    429: RateLimitError,
}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def error_from_response(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    json_body: Any,
) -> WalletError:
    """The exception for a non-2xx answer: by the error ``type`` first, then by the status.

    ``json_body`` is the parsed body, or ``None`` when it was not JSON (a proxy's HTML page):
    then the answer is an :class:`APIError` quoting the start of the body.
    """
    request_id = headers.get("Request-Id")
    error = json_body.get("error") if isinstance(json_body, dict) else None
    if not isinstance(error, dict):
        snippet = body[:200].decode("utf-8", "replace").strip()
        what = "a non-JSON body" if json_body is None else "an unexpected JSON body"
        message = f"The wallet answered HTTP {status} with {what}"
        if snippet:
            message += f": {snippet!r}"
        return APIError(
            message,
            http_status=status,
            request_id=request_id,
            json_body=json_body,
            headers=headers,
        )
    kind = _text(error.get("type"))
    cls = _BY_TYPE.get(kind or "") or _BY_STATUS.get(status) or APIError
    return cls(
        _text(error.get("message")) or f"The wallet answered HTTP {status}",
        http_status=status,
        code=_text(error.get("code")),
        request_id=request_id,
        json_body=json_body,
        headers=headers,
        param=_text(error.get("param")),
    )
