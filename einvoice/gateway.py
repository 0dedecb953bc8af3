"""Adapter for the tax-authority gateway (cổng cơ quan thuế, reached through a provider).

The only module that speaks the gateway's HTTP protocol (sandboxes/taxgateway/PROTOCOL.md). It
returns our dataclasses and raises two kinds of error:

* :class:`GatewayUnavailable`: the gateway could not be reached, timed out or failed (5xx, 429).
  Try again later. After a timeout or a 5xx the request **may have been recorded** — the gateway
  deduplicates invoices by UUID, and the caller should ask (:meth:`TaxGatewayClient.get`) before
  sending again.
* :class:`GatewayRejected`: the gateway refused the request itself (4xx: bad parameters, unknown
  invoice — :class:`GatewayNotFound` —, wrong state, conflict). Retrying the same request will not
  help.

A *rejected invoice* is not an error: it is an answer (``GatewayInvoice.status == "rejected"``
with reasons). The base URL and key come from settings only (``TAXGATEWAY_URL``,
``TAXGATEWAY_API_KEY``, ``TAXGATEWAY_TIMEOUT_SECONDS``, ``TAXGATEWAY_CONNECT_TIMEOUT_SECONDS``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid as uuidlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import requests
from django.conf import settings

log = logging.getLogger(__name__)

USER_AGENT = "choso-einvoice/1.0"


# --------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------- #


class GatewayError(Exception):
    """Base class: ``message``, ``http_status``, ``code``, ``request_id``."""

    def __init__(
        self,
        message: str,
        *,
        http_status: int | None = None,
        code: str = "",
        request_id: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.code = code
        self.request_id = request_id
        self.param = param

    def __str__(self) -> str:
        parts = [self.message]
        if self.http_status is not None:
            parts.append(f"HTTP {self.http_status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.request_id:
            parts.append(f"request {self.request_id}")
        return " · ".join(parts)


class GatewayUnavailable(GatewayError):
    """Connection error, timeout, 5xx or 429. ``may_have_reached``: the request may have been
    recorded (a timeout or a server error after sending), as opposed to surely not (refused
    connection)."""

    def __init__(self, message: str, *, may_have_reached: bool = True, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.may_have_reached = may_have_reached


class GatewayTimeout(GatewayUnavailable):
    """No answer within the timeout: the request may well have been recorded."""


class GatewayRejected(GatewayError):
    """4xx: the request itself was refused; sending it again unchanged will not help."""


class GatewayNotFound(GatewayRejected):
    """404: the gateway does not know this invoice (or batch)."""


# --------------------------------------------------------------------------- #
# Our dataclasses
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Reason:
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}


@dataclass(frozen=True)
class GatewayInvoice:
    """The gateway's view of one invoice. ``status``: processing | accepted | rejected."""

    uuid: uuidlib.UUID
    status: str
    authority_code: str
    reasons: tuple[Reason, ...]
    received_at: datetime | None
    answered_at: datetime | None
    canceled_at: datetime | None
    duplicate: bool = False  # this submission found the invoice already recorded
    # An accepted coded invoice: the authority's document (our XML + MCCQT + its signature).
    document: str = ""

    @property
    def is_answered(self) -> bool:
        return self.status in ("accepted", "rejected")


@dataclass(frozen=True)
class Registration:
    tax_code: str
    form: str
    series: str
    register_prefix: str


@dataclass(frozen=True)
class BatchItem:
    uuid: str
    invoice: GatewayInvoice | None  # None when the item itself was refused
    error: GatewayRejected | None


@dataclass(frozen=True)
class BatchResult:
    id: str
    items: tuple[BatchItem, ...]


def _when(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def _invoice(data: Mapping[str, Any], *, duplicate: bool = False) -> GatewayInvoice:
    try:
        reasons = tuple(
            Reason(str(r.get("code", "")), str(r.get("message", "")))
            for r in data.get("reasons") or []
            if isinstance(r, Mapping)
        )
        return GatewayInvoice(
            uuid=uuidlib.UUID(str(data["uuid"])),
            status=str(data["status"]),
            authority_code=str(data.get("authority_code") or ""),
            reasons=reasons,
            received_at=_when(data.get("received_at")),
            answered_at=_when(data.get("answered_at")),
            canceled_at=_when(data.get("canceled_at")),
            duplicate=duplicate,
            document=str(data.get("xml") or ""),
        )
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise GatewayUnavailable(
            f"unexpected invoice object from the gateway: {exc!r}", may_have_reached=True
        ) from exc


def _rejected(status: int, body: Any, request_id: str | None) -> GatewayRejected:
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    cls = GatewayNotFound if status == 404 else GatewayRejected
    return cls(
        str(error.get("message") or f"the gateway refused the request (HTTP {status})"),
        http_status=status,
        code=str(error.get("code") or ""),
        request_id=request_id,
        param=error.get("param") if isinstance(error.get("param"), str) else None,
    )


# --------------------------------------------------------------------------- #
# The client
# --------------------------------------------------------------------------- #


class TaxGatewayClient:
    """One gateway account (one API key). Thread-safe (a ``requests.Session`` per thread).

    ``timeout`` is the read timeout per attempt, ``connect_timeout`` the connect timeout
    (seconds). ``get_retries``: how many times a GET is retried after a connection error or a
    5xx, ``retry_delay`` seconds apart (POSTs are never retried here: the transmission service
    schedules retries, so an issuing request never waits for them).
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout: float = 10.0,
        connect_timeout: float = 3.0,
        get_retries: int = 1,
        retry_delay: float = 0.2,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"TAXGATEWAY_URL must be an http(s) URL, not {base_url!r}")
        if not api_key:
            raise ValueError("TAXGATEWAY_API_KEY is empty")
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.get_retries = get_retries
        self.retry_delay = retry_delay
        self._local = threading.local()

    def __repr__(self) -> str:  # never show the key
        return f"TaxGatewayClient(base_url={self.base_url!r})"

    # -- the API ----------------------------------------------------------------

    def register_series(
        self, *, tax_code: str, form: str, series: str, register_prefix: str | None = None
    ) -> Registration:
        """Register a seller's series; answers the 5-character cash-register prefix.
        Registering the same (tax code, form, series) again answers the same prefix.
        ``register_prefix``: a prefix the register already has (409 if it conflicts)."""
        body = {"tax_code": tax_code, "form": form, "series": series}
        if register_prefix:
            body["register_prefix"] = register_prefix
        data = self._post("/v1/registrations", body)[0]
        try:
            return Registration(
                tax_code=str(data["tax_code"]),
                form=str(data["form"]),
                series=str(data["series"]),
                register_prefix=str(data["register_prefix"]),
            )
        except KeyError as exc:
            raise GatewayUnavailable(f"unexpected registration: {exc!r}") from exc

    def submit(self, uuid: uuidlib.UUID | str, xml: str) -> GatewayInvoice:
        """Send one signed invoice. The answer usually comes later (``status: processing``);
        a UUID already known answers its current state with ``duplicate=True``."""
        data, headers = self._post("/v1/invoices", {"uuid": str(uuid), "xml": xml})
        return _invoice(data, duplicate=headers.get("Invoice-Duplicate") == "true")

    def submit_batch(
        self, items: Sequence[tuple[uuidlib.UUID | str, str]], *, day: date
    ) -> BatchResult:
        """Send cash-register invoices of ``day`` in one batch: ``items`` are (uuid, xml)."""
        body = {"date": day.isoformat(), "items": [{"uuid": str(u), "xml": x} for u, x in items]}
        data = self._post("/v1/batches", body)[0]
        results: list[BatchItem] = []
        for entry in data.get("results") or []:
            if not isinstance(entry, dict):
                continue
            if "error" in entry:
                results.append(BatchItem(str(entry.get("uuid")), None, _rejected(400, entry, None)))
            else:
                invoice = _invoice(entry["invoice"], duplicate=bool(entry.get("duplicate")))
                results.append(BatchItem(str(invoice.uuid), invoice, None))
        return BatchResult(id=str(data.get("id", "")), items=tuple(results))

    def get(self, uuid: uuidlib.UUID | str) -> GatewayInvoice:
        """The gateway's current state of an invoice; :class:`GatewayNotFound` if unknown."""
        return _invoice(self._get(f"/v1/invoices/{uuid}"))

    def cancel(self, uuid: uuidlib.UUID | str, reason: str) -> GatewayInvoice:
        """Record the cancellation of an accepted invoice (idempotent)."""
        return _invoice(self._post(f"/v1/invoices/{uuid}/cancel", {"reason": reason[:255]})[0])

    def ping(self, *, timeout: float = 2.0) -> None:
        """Is the gateway reachable? One ``GET /healthz`` within ``timeout`` seconds (connect
        and read each), no retry, no log line (the readiness probe asks often); raises
        :class:`GatewayUnavailable` unless it answers 200."""
        try:
            response = self._session().get(
                self.base_url + "/healthz",
                headers={"Accept": "application/json", "User-Agent": USER_AGENT},
                timeout=(timeout, timeout),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise GatewayUnavailable(
                f"cannot reach the tax gateway: {type(exc).__name__}", may_have_reached=False
            ) from exc
        if response.status_code != 200:
            raise GatewayUnavailable(
                f"the tax gateway's health check answered HTTP {response.status_code}",
                http_status=response.status_code,
                may_have_reached=False,
            )

    # -- HTTP ---------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _post(self, path: str, body: Mapping[str, Any]) -> tuple[dict[str, Any], Mapping[str, str]]:
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return self._request("POST", path, payload, retries=0)

    def _get(self, path: str) -> dict[str, Any]:
        return self._request("GET", path, None, retries=self.get_retries)[0]

    def _request(
        self, method: str, path: str, payload: bytes | None, *, retries: int
    ) -> tuple[dict[str, Any], Mapping[str, str]]:
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if payload is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        url = self.base_url + path
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._once(method, url, path, payload, headers)
            except GatewayUnavailable as exc:
                if attempt > retries:
                    raise
                log.info("tax gateway %s %s: %s; retrying", method, path, exc)
                time.sleep(self.retry_delay)

    def _once(
        self,
        method: str,
        url: str,
        path: str,
        payload: bytes | None,
        headers: dict[str, str],
    ) -> tuple[dict[str, Any], Mapping[str, str]]:
        started = time.monotonic()
        try:
            response = self._session().request(
                method,
                url,
                data=payload,
                headers=headers,
                timeout=(self.connect_timeout, self.timeout),
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            # A connect timeout means it was not sent; a read timeout means it may have been.
            sent = not isinstance(exc, requests.ConnectTimeout)
            log.warning("tax gateway %s %s timed out (%s)", method, path, type(exc).__name__)
            raise GatewayTimeout(
                f"no answer from the tax gateway within the timeout ({method} {path})",
                may_have_reached=sent,
            ) from exc
        except requests.RequestException as exc:
            log.warning("tax gateway %s %s failed: %r", method, path, exc)
            refused = isinstance(exc, requests.ConnectionError) and "refused" in str(exc).lower()
            raise GatewayUnavailable(
                f"cannot reach the tax gateway ({method} {path}): {type(exc).__name__}",
                may_have_reached=not refused,
            ) from exc
        status = response.status_code
        request_id = response.headers.get("Request-Id")
        log.log(
            logging.INFO if status < 400 else logging.WARNING,
            "tax gateway %s %s -> %d request_id=%s (%.3fs)",
            method,
            path,
            status,
            request_id,
            time.monotonic() - started,
        )
        try:
            body = response.json()
        except ValueError:
            body = None
        if 200 <= status < 300:
            if not isinstance(body, dict):
                raise GatewayUnavailable(
                    f"the tax gateway answered HTTP {status} without a JSON object",
                    http_status=status,
                    request_id=request_id,
                )
            return body, response.headers
        if status >= 500 or status == 429:
            error = body.get("error") if isinstance(body, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            raise GatewayUnavailable(
                str(message or f"the tax gateway failed (HTTP {status})"),
                http_status=status,
                code=str(error.get("code") or "") if isinstance(error, dict) else "",
                request_id=request_id,
            )
        raise _rejected(status, body, request_id)


_clients: dict[tuple[str, str, float, float], TaxGatewayClient] = {}
_clients_lock = threading.Lock()


def gateway_client() -> TaxGatewayClient:
    """The client configured by settings (one per configuration, reused for its connections)."""
    key = (
        str(settings.TAXGATEWAY_URL),
        str(settings.TAXGATEWAY_API_KEY),
        float(settings.TAXGATEWAY_TIMEOUT_SECONDS),
        float(settings.TAXGATEWAY_CONNECT_TIMEOUT_SECONDS),
    )
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = TaxGatewayClient(
                base_url=key[0], api_key=key[1], timeout=key[2], connect_timeout=key[3]
            )
        return client
