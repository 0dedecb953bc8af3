"""One API call: headers, idempotency key, retries with backoff, logging, error mapping.

The retry rules are stripe-python's (``_http_client.py``), in this order: stop once
``max_retries`` retries have been made; retry connection errors and timeouts; obey the
``Should-Retry`` header (``false`` stops, ``true`` retries); else retry 409 and every 5xx, never
another status. The n-th retry waits ``initial_delay × 2^(n-1)`` seconds, capped at
``max_delay``, times a random factor in [0.5, 1], but at least ``initial_delay`` and at least a
reasonable ``Retry-After``. A POST keeps the same ``Idempotency-Key`` across its retries, so a
retried request is never executed twice by the provider.
"""

from __future__ import annotations

import json
import logging
import platform
import random
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import requests

from ._errors import APIConnectionError, APIError, WalletError, error_from_response
from ._objects import WalletResponse
from ._version import __version__

logger = logging.getLogger("choso_wallet")
logger.addHandler(logging.NullHandler())

MAX_IDEMPOTENCY_KEY_LENGTH = 255
MAX_RETRY_AFTER = 60.0  # seconds; a longer Retry-After is ignored (as stripe-python does)

Sleep = Callable[[float], None]


def user_agent() -> str:
    python = ".".join(platform.python_version_tuple()[:2])
    return f"choso-wallet-python/{__version__} python/{python} requests/{requests.__version__}"


def _header_flag(headers: Mapping[str, str], name: str) -> bool | None:
    value = headers.get(name)
    if value is None:
        return None
    value = value.strip().lower()
    return True if value == "true" else False if value == "false" else None


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: not worth honouring for a few-second backoff
    return seconds if seconds is not None and 0 <= seconds <= MAX_RETRY_AFTER else None


class _Sessions:
    """The caller's session, or one ``requests.Session`` per thread (Session is not thread-safe)."""

    def __init__(self, session: requests.Session | None) -> None:
        self._given = session
        self._local = threading.local()
        self._owned: list[requests.Session] = []
        self._lock = threading.Lock()

    def get(self) -> requests.Session:
        if self._given is not None:
            return self._given
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
            with self._lock:
                self._owned.append(session)
        return session

    def close(self) -> None:
        """Close the sessions this SDK opened (never the caller's own)."""
        with self._lock:
            owned, self._owned = self._owned, []
        for session in owned:
            session.close()
        self._local = threading.local()


class Requestor:
    """Sends requests to one wallet API with one API key. Used by the resources of a Client."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str,
        timeout: float,
        max_retries: int,
        session: requests.Session | None,
        sleep: Sleep,
        initial_retry_delay: float,
        max_retry_delay: float,
    ) -> None:
        self._api_key = api_key
        self.base_url = base_url
        self.timeout = timeout
        self.max_retries = max_retries
        self.initial_retry_delay = initial_retry_delay
        self.max_retry_delay = max_retry_delay
        self._sleep = sleep
        self._sessions = _Sessions(session)
        self._user_agent = user_agent()

    def __repr__(self) -> str:  # never show the key
        return f"Requestor(base_url={self.base_url!r})"

    def close(self) -> None:
        self._sessions.close()

    # -- retry policy (stripe-python's rules) ---------------------------------------------

    def should_retry(
        self,
        retries_done: int,
        status: int | None,
        headers: Mapping[str, str] | None,
        connection_error: APIConnectionError | None = None,
    ) -> bool:
        if retries_done >= self.max_retries:
            return False
        if status is None:
            return connection_error is not None and connection_error.should_retry
        flag = _header_flag(headers or {}, "Should-Retry")
        if flag is not None:
            return flag
        return status == 409 or status >= 500

    def sleep_seconds(self, retries_done: int, headers: Mapping[str, str] | None = None) -> float:
        """The wait before retry number ``retries_done + 1``."""
        delay = min(self.initial_retry_delay * 2**retries_done, self.max_retry_delay)
        delay *= 0.5 * (1 + random.random())  # jitter, not cryptography
        delay = max(self.initial_retry_delay, delay)
        retry_after = _retry_after(headers)
        return max(delay, retry_after) if retry_after is not None else delay

    # -- one call ---------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> tuple[dict[str, Any], WalletResponse]:
        """Send ``method path`` (retrying as above); the JSON object answered and its metadata.

        Raises a :class:`WalletError` subclass for every failure.
        """
        method = method.upper()
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "User-Agent": self._user_agent,
            "Accept": "application/json",
        }
        data: bytes | None = None
        if method == "POST":
            idempotency_key = check_idempotency_key(idempotency_key) or str(uuid.uuid4())
            headers["Idempotency-Key"] = idempotency_key
            headers["Content-Type"] = "application/json"
            data = json.dumps(dict(body or {}), ensure_ascii=False, separators=(",", ":")).encode()
        else:
            idempotency_key = None
        query = {k: v for k, v in (params or {}).items() if v is not None}
        url = self.base_url + path
        attempts = self.max_retries + 1

        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                response = self._sessions.get().request(
                    method,
                    url,
                    params=query or None,
                    data=data,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                elapsed = time.monotonic() - started
                error = _connection_error(exc, method, url)
                error.idempotency_key = idempotency_key
                logger.warning(
                    "wallet %s %s failed: %s (attempt %d/%d, %.3fs)",
                    method,
                    path,
                    type(exc).__name__,
                    attempt,
                    attempts,
                    elapsed,
                    extra=_extra(method, path, None, None, attempt, elapsed, idempotency_key),
                )
                if self.should_retry(attempt - 1, None, None, error):
                    self._wait(method, path, attempt, attempts, None)
                    continue
                if attempt > 1:
                    error.message += f" (request was retried {attempt - 1} times)"
                    error.args = (error.message,)
                raise error from exc

            elapsed = time.monotonic() - started
            status = response.status_code
            rheaders = response.headers
            request_id = rheaders.get("Request-Id")
            level = logging.INFO if status < 400 else logging.WARNING
            logger.log(
                level,
                "wallet %s %s -> %d request_id=%s (attempt %d/%d, %.3fs)",
                method,
                path,
                status,
                request_id,
                attempt,
                attempts,
                elapsed,
                extra=_extra(method, path, status, request_id, attempt, elapsed, idempotency_key),
            )
            if 200 <= status < 300:
                meta = WalletResponse(
                    http_status=status,
                    request_id=request_id,
                    headers=rheaders,
                    idempotency_key=idempotency_key,
                    attempts=attempt,
                )
                return _parse_success(response.content, status, rheaders, idempotency_key), meta
            if self.should_retry(attempt - 1, status, rheaders):
                self._wait(method, path, attempt, attempts, rheaders)
                continue
            err = error_from_response(status, response.content, rheaders, _json_or_none(response))
            err.idempotency_key = idempotency_key
            raise err

    def _wait(
        self,
        method: str,
        path: str,
        attempt: int,
        attempts: int,
        headers: Mapping[str, str] | None,
    ) -> None:
        delay = self.sleep_seconds(attempt - 1, headers)
        logger.info(
            "wallet %s %s: retrying in %.2fs (attempt %d/%d next)",
            method,
            path,
            delay,
            attempt + 1,
            attempts,
        )
        self._sleep(delay)


def check_idempotency_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not isinstance(key, str) or not key.strip():
        raise ValueError("idempotency_key must be a non-empty string")
    if len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValueError(f"idempotency_key is longer than {MAX_IDEMPOTENCY_KEY_LENGTH} characters")
    if not key.isprintable() or not key.isascii():
        raise ValueError("idempotency_key must be printable ASCII")
    return key


def check_base_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
    if parts.query or parts.fragment:
        raise ValueError("base_url must not have a query or a fragment")
    return base_url.rstrip("/")


def _extra(
    method: str,
    path: str,
    status: int | None,
    request_id: str | None,
    attempt: int,
    elapsed: float,
    idempotency_key: str | None,
) -> dict[str, Any]:
    """Structured fields for log formatters/JSON loggers, prefixed to avoid LogRecord clashes."""
    return {
        "wallet_method": method,
        "wallet_path": path,
        "wallet_status": status,
        "wallet_request_id": request_id,
        "wallet_attempt": attempt,
        "wallet_elapsed": round(elapsed, 4),
        "wallet_idempotency_key": idempotency_key,
    }


def _connection_error(exc: requests.RequestException, method: str, url: str) -> APIConnectionError:
    retryable = isinstance(
        exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
    )
    if isinstance(exc, requests.Timeout):
        what = "timed out waiting for"
    elif retryable:
        what = "could not connect to"
    else:
        what = "could not send the request to"
    message = f"The SDK {what} the wallet ({method} {url}): {type(exc).__name__}: {exc}"
    return APIConnectionError(message, should_retry=retryable)


def _json_or_none(response: requests.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _parse_success(
    content: bytes, status: int, headers: Mapping[str, str], idempotency_key: str | None
) -> dict[str, Any]:
    try:
        data = json.loads(content)
    except ValueError:
        data = None
    if isinstance(data, dict):
        return data
    snippet = content[:200].decode("utf-8", "replace")
    err: WalletError = APIError(
        f"The wallet answered HTTP {status} with a body that is not a JSON object: {snippet!r}",
        http_status=status,
        request_id=headers.get("Request-Id"),
        headers=headers,
    )
    err.idempotency_key = idempotency_key
    raise err
