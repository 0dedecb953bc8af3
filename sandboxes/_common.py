"""Pieces shared by the sandboxes: compact JSON, VND formatting, webhook signing and delivery,
the HTTP plumbing (serving in a thread, reading a request body, running until a signal), a
sandbox's life on loopback (:class:`LoopbackSandbox`) and its ``Bearer`` key check.

Standard library only, nothing from the Django project.

**Signing.** A header ``t=<unix seconds>,v1=<hex>`` where ``v1`` is the hex HMAC-SHA256 of
``f"{t}.{raw_body}"`` keyed with the webhook secret (the scheme Stripe uses). The sandboxes sign
every delivery attempt afresh, so a retry sent minutes after the first attempt still falls inside
the receiver's 300-second window. Each sandbox names its own header.

**Delivery.** A *parcel* is one webhook body to deliver once (a ``duplicate`` knob makes two
parcels of one subject). Parcels are dispatched in *units* (one parcel, or a batch): a unit's
thread makes the first attempt of each parcel in the unit's order, so the receiver sees that
order, and hands every parcel that failed to a thread of its own for the retries. A hanging
receiver therefore delays the rest of its unit by at most one timeout and never blocks the API.

Retries: attempt ``n + 1`` waits ``min(cap, base × 2^(n-1))`` scaled by a random factor in
[0.5, 1] (jitter); at most ``max_attempts`` attempts in all. An answer 2xx acknowledges;
anything else, a connection error or a timeout is a failure. Redirects are not followed.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import random
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, BinaryIO, ClassVar, Self

DEFAULT_TOLERANCE = 300
MAX_ANSWER_BYTES = 64 * 1024


class LoopbackHTTPServer(ThreadingHTTPServer):
    """A thread per connection, daemon threads, and a listen backlog deep enough for a burst of
    simultaneous clients (the stdlib's 5 resets some of 20 concurrent connections)."""

    daemon_threads = True
    request_queue_size = 128


def serve_in_thread(
    host: str,
    port: int,
    handler: type[BaseHTTPRequestHandler],
    sandbox: object,
    *,
    name: str = "sandbox",
) -> tuple[LoopbackHTTPServer, threading.Thread]:
    """Bind ``host:port`` (0 = any free port) and serve in a daemon thread; the handler reaches
    ``sandbox`` as ``self.server.sandbox``."""
    server = LoopbackHTTPServer((host, port), handler)
    server.sandbox = sandbox  # type: ignore[attr-defined]
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name=f"{name}-http-{server.server_address[1]}",
        daemon=True,
    )
    thread.start()
    return server, thread


class LoopbackSandbox:
    """A sandbox's life as an HTTP server on ``http://host:port``.

    :meth:`start` binds (``port=0``: any free port, read back into :attr:`port`), serves in a
    daemon thread and returns ``self``; :meth:`stop` shuts the server down, closes its socket and
    joins its thread (calling it again does no harm); as a context manager it starts unless it is
    started already, and stops at the end. **A sandbox starts once**: starting it a second time,
    or after it stopped, raises ``RuntimeError`` (make a new one).

    A subclass calls ``super().__init__(host, port, quiet=...)``, sets ``name`` (threads, logger
    ``sandboxes.<name>``) and ``title`` (the "listening" log line), and returns its request
    handler from :meth:`handler_class` (a sandbox may import it there, to avoid an import
    circle). Its own work goes in :meth:`_after_start` and :meth:`_after_stop`. ``_stopping`` is
    set first thing in :meth:`stop`: background threads wait on it to end early.
    """

    name: ClassVar[str] = "sandbox"
    title: ClassVar[str] = "sandbox"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True) -> None:
        self.host = host
        self.port = port
        self.quiet = quiet
        self._stopping = threading.Event()
        self._server: LoopbackHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def handler_class(self) -> type[BaseHTTPRequestHandler]:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        """Bind and serve in a background thread; returns ``self``."""
        if self._server is not None or self._stopping.is_set():
            raise RuntimeError("a sandbox starts once; make a new one")
        handler = self.handler_class()
        self._server, self._thread = serve_in_thread(
            self.host, self.port, handler, self, name=self.name
        )
        self.port = self._server.server_address[1]
        self._after_start()
        logging.getLogger(f"sandboxes.{self.name}").info("%s listening on %s", self.title, self.url)
        return self

    def stop(self) -> None:
        """Stop serving, then :meth:`_after_stop`."""
        self._stopping.set()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(5)
        self._after_stop()

    def _after_start(self) -> None:
        """The sandbox's own start work, once the server is up (e.g. a background thread)."""

    def _after_stop(self) -> None:
        """The sandbox's own stop work, once the server is down; runs at every :meth:`stop`."""

    def __enter__(self) -> Self:
        return self if self._server is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def key_list(api_keys: Iterable[str] | str) -> list[str]:
    """The accepted API keys, one or several, as a list; ``ValueError`` when there is none or
    one is empty."""
    keys = [api_keys] if isinstance(api_keys, str) else [str(k) for k in api_keys]
    if not keys or not all(keys):
        raise ValueError("api_keys must hold at least one non-empty key")
    return keys


def bearer_key(header: str | None, keys: Iterable[str]) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header when it is one of ``keys``, else
    ``None``. Compared with every key, each in constant time, so the answer's timing tells
    nothing of which key (or how much of one) matched."""
    scheme, _, given = (header or "").strip().partition(" ")
    given = given.strip()
    if scheme.lower() != "bearer" or not given:
        return None
    found = None
    for key in keys:
        if hmac.compare_digest(given.encode(), key.encode()):
            found = key
    return found


class BodyError(Exception):
    """A request body that cannot be read: answer ``status`` and close the connection."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def read_body(rfile: BinaryIO, headers: Mapping[str, str], limit: int) -> bytes:
    """The body announced by ``Content-Length`` (chunked bodies are refused with 411)."""
    if headers.get("Transfer-Encoding"):
        raise BodyError(411, "length_required", "Cần tiêu đề Content-Length.")
    length_text = headers.get("Content-Length")
    if not length_text:
        return b""
    try:
        length = int(length_text)
    except ValueError:
        raise BodyError(400, "invalid_request", "Content-Length không hợp lệ.") from None
    if length < 0 or length > limit:
        raise BodyError(413, "body_too_large", "Nội dung gửi lên quá lớn.")
    return rfile.read(length)


def run_until_signal(name: str, start: Callable[[], Any], stop: Callable[[], None]) -> int:
    """``start()`` then wait for SIGINT/SIGTERM, then ``stop()``: the body of a ``__main__``.
    Returns the process exit status (1 when the port cannot be bound)."""

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _terminate)
    try:
        start()
    except OSError as error:
        print(f"{name}: cannot listen: {error}", file=sys.stderr)
        return 1
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        stop()
    return 0


def dumps(data: Any) -> bytes:
    """Compact UTF-8 JSON (non-ASCII kept as is)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def format_vnd(amount: int) -> str:
    """``150000`` → ``"150.000 đ"`` (Vietnamese thousands separator)."""
    return f"{amount:,}".replace(",", ".") + " đ"


# --------------------------------------------------------------------------- #
# Signing
# --------------------------------------------------------------------------- #


def signature(body: bytes, secret: str, timestamp: int) -> str:
    """The hex ``v1`` value for ``body`` signed at ``timestamp``."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The full header value, ``t=<timestamp>,v1=<hex>``; ``timestamp`` defaults to now."""
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={signature(body, secret, t)}"


def verify(
    body: bytes,
    header: str | None,
    secret: str,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` within ``tolerance`` seconds of now.

    A receiver-side helper for tests and demos; the platform has its own.
    """
    if not header:
        return False
    timestamps: list[str] = []
    candidates: list[str] = []
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if sep and key == "t":
            timestamps.append(value)
        elif sep and key == "v1":
            candidates.append(value)
    if len(timestamps) != 1 or not timestamps[0].isdigit():
        return False
    t = int(timestamps[0])
    current = time.time() if now is None else now
    if abs(current - t) > tolerance:
        return False
    expected = signature(body, secret, t)
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


# --------------------------------------------------------------------------- #
# Delivery
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Parcel:
    subject: str  # what is delivered: a transaction id, an event id
    body: bytes
    copy: int  # 1, or 2 for the second send of a ``duplicate`` knob
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


def _no_loss() -> str | None:
    return None


class Deliverer:
    """Owns the delivery threads. ``hooks`` are the sandbox's, called without its lock held:

    - ``is_current(generation)``: false once the sandbox was reset; the parcel is abandoned;
    - ``take_loss()``: ``None``, or ``"request"`` / ``"response"`` to lose this attempt;
    - ``record(attempt)``: log an attempt for the sandbox's ``_deliveries`` endpoint.

    ``signature_header`` names the header carrying :func:`sign`'s value; ``name`` prefixes
    thread names and ``logger`` receives the log lines.
    """

    def __init__(
        self,
        *,
        webhook_url: str,
        secret: str,
        signature_header: str,
        user_agent: str,
        is_current: Callable[[int], bool],
        record: Callable[[Attempt], None],
        take_loss: Callable[[], str | None] = _no_loss,
        name: str = "sandbox",
        logger: logging.Logger | None = None,
        timeout: float = 5.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_attempts: int = 8,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.webhook_url = webhook_url
        self._secret = secret
        self._header = signature_header
        self._user_agent = user_agent
        self._is_current = is_current
        self._take_loss = take_loss
        self._record = record
        self._name = name
        self._logger = logger or logging.getLogger(f"sandboxes.{name}")
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
            self._logger.info("no webhook URL configured; %d webhook(s) not sent", len(parcels))
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
            target=self._guarded,
            args=(target, *args),
            name=f"{self._name}-delivery",
            daemon=True,
        )
        with self._idle:
            self._threads.add(thread)
        thread.start()

    def _guarded(self, target: Callable[..., None], *args: Any) -> None:
        try:
            target(*args)
        except Exception:  # a bug here must not kill the sandbox silently
            self._logger.exception("delivery thread failed")
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
            self._logger.warning(
                "giving up on %s after %d attempts", parcel.subject, self.max_attempts
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
            self._logger.info(
                "delivery of %s attempt %d failed: %s", parcel.subject, number, error or status
            )
        return attempt.ok

    def _post(self, parcel: Parcel) -> tuple[int | None, str | None]:
        request = urllib.request.Request(  # noqa: S310 - the configured webhook URL
            self.webhook_url,
            data=parcel.body,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": self._user_agent,
                self._header: sign(parcel.body, self._secret),
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


class SandboxHandler(BaseHTTPRequestHandler):
    """What every sandbox's HTTP handler shares: HTTP/1.1 keep-alive without Nagle delays, each
    method routed to ``_dispatch(method)``, and quiet logs when the sandbox says so. A subclass
    sets ``server_version`` and implements ``_dispatch``; ``self.sandbox`` is the server's."""

    protocol_version = "HTTP/1.1"
    methods: tuple[str, ...] = ("GET", "POST", "PUT", "PATCH", "DELETE")

    @property
    def sandbox(self) -> Any:
        return self.server.sandbox  # type: ignore[attr-defined]

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes: without this, Nagle's algorithm and the
        # client's delayed ACK cost ~40 ms per request on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def _method(self, method: str) -> None:
        if method not in self.methods:
            self.send_error(501, f"Unsupported method ({method!r})")
            return
        self._dispatch(method)

    def do_GET(self) -> None:
        self._method("GET")

    def do_POST(self) -> None:
        self._method("POST")

    def do_PUT(self) -> None:
        self._method("PUT")

    def do_PATCH(self) -> None:
        self._method("PATCH")

    def do_DELETE(self) -> None:
        self._method("DELETE")

    def _dispatch(self, method: str) -> None:  # pragma: no cover - every sandbox defines it
        raise NotImplementedError

    def log_message(self, format: str, *args: Any) -> None:
        if not getattr(self.sandbox, "quiet", False):
            super().log_message(format, *args)
