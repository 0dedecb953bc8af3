"""Sending notifications to the webhook URL, with retries, in background threads.

A *parcel* is one notification to deliver once; the ``duplicate`` knob makes two parcels of one
transaction. Parcels are dispatched in *units* (one parcel, or a reordered batch): a unit's
thread makes the first attempt of each parcel in the unit's order, so the receiver sees that
order, and hands every parcel that failed to a thread of its own for the retries. A hanging
receiver therefore delays the rest of its unit by at most one timeout and never blocks the API.

Retries: attempt ``n + 1`` waits ``min(cap, base × 2^(n-1))`` scaled by a random factor in
[0.5, 1] (jitter); at most ``max_attempts`` attempts in all. An answer 2xx acknowledges;
anything else, a connection error or a timeout is a failure. Redirects are not followed.
"""

from __future__ import annotations

import http.client
import logging
import random
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .signing import SIGNATURE_HEADER, sign

logger = logging.getLogger("sandboxes.banknotify")

USER_AGENT = "banknotify-sandbox/1.0"
MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Parcel:
    transaction_id: str
    body: bytes
    copy: int  # 1, or 2 for the second send of the ``duplicate`` knob
    generation: int  # the sandbox's reset counter when it was made


@dataclass(frozen=True)
class Attempt:
    parcel: Parcel
    number: int  # 1-based
    status: int | None
    error: str | None
    elapsed_ms: int

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx then surfaces as an HTTPError, i.e. a failed attempt


class Deliverer:
    """Owns the delivery threads. ``hooks`` are the sandbox's, called without its lock held:

    - ``is_current(generation)``: false once the sandbox was reset; the parcel is abandoned;
    - ``take_loss()``: ``None``, or ``"request"`` / ``"response"`` to lose this attempt
      (the ``fail_first`` knob);
    - ``record(attempt)``: log an attempt for ``GET /api/_deliveries``.
    """

    def __init__(
        self,
        *,
        webhook_url: str,
        secret: str,
        is_current: Callable[[int], bool],
        take_loss: Callable[[], str | None],
        record: Callable[[Attempt], None],
        timeout: float = 5.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_attempts: int = 8,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.webhook_url = webhook_url
        self._secret = secret
        self._is_current = is_current
        self._take_loss = take_loss
        self._record = record
        self.timeout = timeout
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_attempts = max_attempts
        # Loopback sandbox: never route through a proxy from the environment.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())
        self._stopping = threading.Event()
        self._idle = threading.Condition()
        self._pending = 0
        self._threads: set[threading.Thread] = set()

    # -- public ---------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Parcels not yet acknowledged nor given up."""
        with self._idle:
            return self._pending

    def dispatch(self, parcels: Sequence[Parcel], *, delay: float = 0.0) -> None:
        """Deliver ``parcels`` in this order (first attempts), after ``delay`` seconds."""
        if not parcels:
            return
        if not self.webhook_url:
            logger.info("no webhook URL configured; %d notification(s) not sent", len(parcels))
            return
        with self._idle:
            self._pending += len(parcels)
        self._spawn(self._run_unit, list(parcels), delay)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every dispatched parcel is acknowledged or given up."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def stop(self, timeout: float = 6.0) -> None:
        """Stop retrying and wait (up to ``timeout``) for attempts in flight."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        with self._idle:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def backoff(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th failed attempt (1-based)."""
        nominal = min(self.backoff_cap, self.backoff_base * 2 ** (failures - 1))
        return nominal * random.uniform(0.5, 1.0)

    # -- threads --------------------------------------------------------------

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(
            target=self._guarded, args=(target, *args), name="banknotify-delivery", daemon=True
        )
        with self._idle:
            self._threads.add(thread)
        thread.start()

    def _guarded(self, target: Callable[..., None], *args: Any) -> None:
        try:
            target(*args)
        except Exception:  # a bug here must not kill the sandbox silently
            logger.exception("delivery thread failed")
        finally:
            with self._idle:
                self._threads.discard(threading.current_thread())

    def _done(self, count: int = 1) -> None:
        with self._idle:
            self._pending -= count
            self._idle.notify_all()

    def _run_unit(self, parcels: list[Parcel], delay: float) -> None:
        remaining = len(parcels)
        try:
            if delay > 0 and self._stopping.wait(delay):
                return
            for parcel in parcels:
                if self._stopping.is_set():
                    return
                acknowledged = self._attempt(parcel, 1)
                remaining -= 1
                if acknowledged or self.max_attempts == 1:
                    self._done()
                else:
                    self._spawn(self._retry, parcel)
        finally:
            if remaining:
                self._done(remaining)

    def _retry(self, parcel: Parcel) -> None:
        try:
            for number in range(2, self.max_attempts + 1):
                if self._stopping.wait(self.backoff(number - 1)):
                    return
                if self._attempt(parcel, number):
                    return
            logger.warning(
                "giving up on %s after %d attempts", parcel.transaction_id, self.max_attempts
            )
        finally:
            self._done()

    # -- one attempt ----------------------------------------------------------

    def _attempt(self, parcel: Parcel, number: int) -> bool:
        """One POST; true when acknowledged or abandoned (the sandbox was reset)."""
        if not self._is_current(parcel.generation):
            return True
        loss = self._take_loss()
        started = time.monotonic()
        status: int | None = None
        error: str | None = None
        if loss == "request":
            error = "simulated network loss (request not sent)"
        else:
            status, error = self._post(parcel)
            if loss == "response":
                error = f"simulated network loss (answer {status or error} not received)"
                status = None
        attempt = Attempt(
            parcel=parcel,
            number=number,
            status=status,
            error=error,
            elapsed_ms=round((time.monotonic() - started) * 1000),
        )
        self._record(attempt)
        if not attempt.ok:
            logger.info(
                "delivery of %s attempt %d failed: %s",
                parcel.transaction_id,
                number,
                error or status,
            )
        return attempt.ok

    def _post(self, parcel: Parcel) -> tuple[int | None, str | None]:
        request = urllib.request.Request(  # noqa: S310 - the configured webhook URL
            self.webhook_url,
            data=parcel.body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": USER_AGENT,
                SIGNATURE_HEADER: sign(parcel.body, self._secret),
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                answer.read(MAX_ANSWER_BYTES)
                return answer.status, None
        except urllib.error.HTTPError as failure:
            failure.close()
            return failure.code, None
        except TimeoutError:
            return None, f"timeout after {self.timeout:g} s"
        except urllib.error.URLError as failure:
            if isinstance(failure.reason, TimeoutError):
                return None, f"timeout after {self.timeout:g} s"
            return None, f"connection error: {failure.reason}"
        except (OSError, http.client.HTTPException) as failure:
            return None, f"connection error: {failure!r}"
