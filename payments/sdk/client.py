"""The entry point: ``Client(api_key, base_url)`` with ``.payments`` and ``.refunds``."""

from __future__ import annotations

import time
from types import TracebackType

import requests

from ._errors import AuthenticationError
from ._http import Requestor, Sleep, check_base_url
from ._resources import PaymentsResource, RefundsResource

__all__ = ["Client"]


class Client:
    """A client for one wallet account (one API key).

    ``timeout`` is per attempt, in seconds. ``max_retries`` is how many times a failed request
    is retried (so at most ``max_retries + 1`` attempts), by stripe-python's rules: see the
    README. ``session`` lets you bring your own ``requests.Session`` (proxies, TLS settings,
    connection pool); the client never closes a session it did not create. Tests may pass
    ``sleep`` (called with the delay before each retry) and ``initial_retry_delay`` /
    ``max_retry_delay`` (seconds; 0.5 and 5 by default) to make retries instant.

    The client is thread-safe; make one per API key and reuse it (it keeps connections open).
    """

    def __init__(
        self,
        api_key: str,
        base_url: str,
        *,
        timeout: float = 10.0,
        max_retries: int = 2,
        session: requests.Session | None = None,
        sleep: Sleep | None = None,
        initial_retry_delay: float = 0.5,
        max_retry_delay: float = 5.0,
    ) -> None:
        if not isinstance(api_key, str) or not api_key.strip():
            raise AuthenticationError(
                "No API key provided: pass your wallet secret key, e.g. "
                'Client("sk_test_…", "https://wallet.example")'
            )
        if api_key != api_key.strip() or not api_key.isprintable():
            raise AuthenticationError(
                "The API key contains whitespace or control characters (copy-paste error?)"
            )
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if initial_retry_delay < 0 or max_retry_delay < 0:
            raise ValueError("retry delays must be >= 0")
        self._requestor = Requestor(
            api_key=api_key,
            base_url=check_base_url(base_url),
            timeout=timeout,
            max_retries=max_retries,
            session=session,
            sleep=sleep or time.sleep,
            initial_retry_delay=initial_retry_delay,
            max_retry_delay=max_retry_delay,
        )
        self.payments = PaymentsResource(self._requestor)
        self.refunds = RefundsResource(self._requestor)

    @property
    def base_url(self) -> str:
        return self._requestor.base_url

    @property
    def timeout(self) -> float:
        return self._requestor.timeout

    @property
    def max_retries(self) -> int:
        return self._requestor.max_retries

    def close(self) -> None:
        """Close the HTTP connections the client opened (not a session passed in)."""
        self._requestor.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:  # never show the API key
        return f"Client(base_url={self.base_url!r}, max_retries={self.max_retries})"
