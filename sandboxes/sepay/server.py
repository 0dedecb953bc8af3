"""The sandbox SePay: bank alerts in SePay's webhook format, and its transaction list API.

Standard library only, nothing from the Django project. The wire protocol is PROTOCOL.md beside
this file. Usage::

    with SePaySandbox(api_token="tok", interval=0.02) as sepay:
        sepay.register_webhook(url, account_number="0041000123456", auth="apikey", secret="k")
        sepay.transfer(account_number="0041000123456", amount=150000, content="CS7K2QX")
        sepay.wait_idle()

Each webhook is what a trader sets up in SePay's dashboard: a URL, the account it watches and
how it authenticates. Deliveries run in background threads; a failed one is retried up to
``max_retries`` times, the n-th retry after ``fib(n) × interval`` seconds (SePay: 1, 1, 2, 3,
5, 8, 13 minutes, about 33 minutes in all; tests use a short ``interval``).
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .._common import MAX_ANSWER_BYTES, BodyError, LoopbackSandbox, read_body

logger = logging.getLogger("sandboxes.sepay")

VIETNAM_TZ = timezone(timedelta(hours=7))
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"
AUTH_MODES = ("apikey", "hmac")
HMAC_HEADER = "X-SePay-Signature"
TIMESTAMP_HEADER = "X-SePay-Timestamp"
USER_AGENT = "SePay-Webhook-Sandbox/1.0"
MAX_BODY = 64 * 1024
FAIL_MODES = ("request", "response")


def body_of(payload: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON, keys in SePay's documented order (as built by ``_payload``)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def auth_headers(body: bytes, *, auth: str, secret: str, timestamp: int | None = None) -> dict:
    """The authentication headers of one delivery attempt (signed afresh each time)."""
    if auth == "apikey":
        return {"Authorization": f"Apikey {secret}"}
    t = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(secret.encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {HMAC_HEADER: f"sha256={mac}", TIMESTAMP_HEADER: t}


def fibonacci(n: int) -> int:
    a, b = 1, 1
    for _ in range(n - 1):
        a, b = b, a + b
    return a


@dataclass
class Webhook:
    id: int
    url: str
    account_number: str
    auth: str
    secret: str


@dataclass
class Knobs:
    """Fault injection, as sandboxes/banknotify's (``POST /sandbox/knobs``)."""

    delay_ms: int = 0
    duplicate: bool = False
    reorder: bool = False
    drop: bool = False
    fail_first: int = 0
    fail_mode: str = "request"
    fail_remaining: int = field(default=0, repr=False)

    def update(self, changes: Any) -> None:
        if not isinstance(changes, dict):
            raise ValueError("knobs must be a JSON object")
        checked: dict[str, Any] = {}
        for name, value in changes.items():
            if name in ("duplicate", "reorder", "drop"):
                if not isinstance(value, bool):
                    raise ValueError(f"{name} must be true or false")
            elif name in ("delay_ms", "fail_first"):
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    raise ValueError(f"{name} must be a whole number ≥ 0")
            elif name == "fail_mode":
                if value not in FAIL_MODES:
                    raise ValueError("fail_mode must be 'request' or 'response'")
            else:
                raise ValueError(f"unknown knob {name}")
            checked[name] = value
        for name, value in checked.items():
            setattr(self, name, value)
        if "fail_first" in checked:
            self.fail_remaining = checked["fail_first"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "delay_ms": self.delay_ms,
            "duplicate": self.duplicate,
            "reorder": self.reorder,
            "drop": self.drop,
            "fail_first": self.fail_first,
            "fail_mode": self.fail_mode,
            "fail_remaining": self.fail_remaining,
        }


class SePaySandbox(LoopbackSandbox):
    """A stand-in SePay on ``http://host:port`` (``port=0``: any free port, see :attr:`url`).
    Stopping also ends the deliveries' waits (no retry after :meth:`stop`)."""

    name = "sepay"
    title = "SePay sandbox"

    def __init__(
        self,
        api_token: str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        interval: float = 60.0,
        max_retries: int = 7,
        timeout: float = 5.0,
    ) -> None:
        if not api_token:
            raise ValueError("api_token must not be empty")
        super().__init__(host, port)
        self.api_token = api_token
        self.interval = interval
        self.max_retries = max_retries
        self.timeout = timeout
        self.knobs = Knobs()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._ids = itertools.count(92001)
        self._hook_ids = itertools.count(1)
        self._webhooks: list[Webhook] = []
        self._transactions: list[dict[str, Any]] = []
        self._balances: dict[str, int] = {}
        self._held: list[tuple[Webhook, dict[str, Any]]] = []
        self._attempts: list[dict[str, Any]] = []
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # -- lifecycle ------------------------------------------------------------

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        from .handler import Handler  # the handler imports this module

        return Handler

    # -- the dashboard --------------------------------------------------------

    def register_webhook(self, url: str, *, account_number: str, auth: str, secret: str) -> int:
        """What the trader sets up in SePay's dashboard; a URL registered again is updated."""
        if auth not in AUTH_MODES:
            raise ValueError("auth must be 'apikey' or 'hmac'")
        if not url.startswith(("http://", "https://")) or not account_number or not secret:
            raise ValueError("url, account_number and secret are required")
        with self._lock:
            for hook in self._webhooks:
                if hook.url == url:
                    hook.account_number, hook.auth, hook.secret = account_number, auth, secret
                    return hook.id
            hook = Webhook(next(self._hook_ids), url, account_number, auth, secret)
            self._webhooks.append(hook)
            return hook.id

    # -- the bank -------------------------------------------------------------

    def transfer(
        self,
        *,
        account_number: str,
        amount: int,
        content: str = "",
        transfer_type: str = "in",
        gateway: str = "Vietcombank",
        sub_account: str | None = None,
        code: str | None = None,
        when: datetime | None = None,
        reference: str | None = None,
    ) -> dict[str, Any]:
        """Book a transaction on the account and notify its webhooks; returns the payload.
        ``reference``: the bank's reference of a transfer another watcher of the account (the
        bank's own notification service) also saw; by default SePay's sandbox makes one up."""
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise ValueError("amount must be a positive whole number of đồng")
        if transfer_type not in ("in", "out"):
            raise ValueError("transfer_type must be 'in' or 'out'")
        if not account_number:
            raise ValueError("account_number is required")
        with self._lock:
            balance = self._balances.get(account_number, 0)
            balance += amount if transfer_type == "in" else -amount
            self._balances[account_number] = balance
            payload = self._payload(
                sepay_id=next(self._ids),
                gateway=gateway,
                when=when or datetime.now(VIETNAM_TZ),
                account_number=account_number,
                sub_account=sub_account,
                code=code,
                content=content,
                transfer_type=transfer_type,
                amount=amount,
                accumulated=balance,
            )
            if reference is not None:
                payload["referenceCode"] = reference
            self._transactions.append(payload)
            hooks = [h for h in self._webhooks if h.account_number == account_number]
        if not self.knobs.drop:
            for hook in hooks:
                self._send(hook, payload)
        return payload

    def send_test(
        self,
        *,
        webhook_url: str,
        auth: str,
        secret: str,
        account_number: str,
        gateway: str = "Vietcombank",
        content: str = "",
    ) -> dict[str, Any]:
        """The dashboard's "send a test": register (or update) the webhook, then deliver a
        zero-amount notification carrying ``content``; nothing is booked or listed."""
        hook_id = self.register_webhook(
            webhook_url, account_number=account_number, auth=auth, secret=secret
        )
        with self._lock:
            hook = next(h for h in self._webhooks if h.id == hook_id)
        payload = self._payload(
            sepay_id=next(self._ids),
            gateway=gateway,
            when=datetime.now(VIETNAM_TZ),
            account_number=account_number,
            sub_account=None,
            code=None,
            content=content,
            transfer_type="in",
            amount=0,
            accumulated=self._balances.get(account_number, 0),
        )
        self._send(hook, payload)
        return payload

    @staticmethod
    def _payload(
        *,
        sepay_id: int,
        gateway: str,
        when: datetime,
        account_number: str,
        sub_account: str | None,
        code: str | None,
        content: str,
        transfer_type: str,
        amount: int,
        accumulated: int,
    ) -> dict[str, Any]:
        stamp = when.astimezone(VIETNAM_TZ)
        return {
            "id": sepay_id,
            "gateway": gateway,
            "transactionDate": stamp.strftime(DATE_FORMAT),
            "accountNumber": account_number,
            "code": code,
            "content": content,
            "transferType": transfer_type,
            "transferAmount": amount,
            "accumulated": accumulated,
            "subAccount": sub_account,
            "referenceCode": f"FT{stamp:%y%j}{sepay_id:07d}",
            "description": f"BankAPINotify {content}".strip(),
        }

    def transactions(
        self,
        *,
        account_number: str = "",
        date_min: str = "",
        date_max: str = "",
        since_id: int = 0,
        limit: int = 5000,
    ) -> list[dict[str, Any]]:
        """Rows of the transaction list API, oldest first."""
        with self._lock:
            rows = list(self._transactions)
        picked = []
        for t in rows:
            if account_number and t["accountNumber"] != account_number:
                continue
            if date_min and t["transactionDate"] < date_min:
                continue
            if date_max and t["transactionDate"] > date_max:
                continue
            if t["id"] <= since_id:
                continue
            amount = f"{t['transferAmount']}.00"
            picked.append(
                {
                    "id": str(t["id"]),
                    "bank_brand_name": t["gateway"],
                    "account_number": t["accountNumber"],
                    "transaction_date": t["transactionDate"],
                    "amount_out": amount if t["transferType"] == "out" else "0.00",
                    "amount_in": amount if t["transferType"] == "in" else "0.00",
                    "accumulated": f"{t['accumulated']}.00",
                    "transaction_content": t["content"],
                    "reference_number": t["referenceCode"],
                    "code": t["code"],
                    "sub_account": t["subAccount"],
                    "bank_account_id": "1",
                }
            )
        return picked[:limit]

    # -- knobs and the delivery log ------------------------------------------

    def set_knobs(self, changes: Any) -> dict[str, Any]:
        with self._lock:
            self.knobs.update(changes)
            held = list(self._held) if not self.knobs.reorder else []
            if held:
                self._held.clear()
        for hook, payload in held:
            self._dispatch(hook, payload)
        return self.knobs.as_dict()

    def attempts(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._attempts)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    # -- delivery -------------------------------------------------------------

    def _send(self, hook: Webhook, payload: dict[str, Any]) -> None:
        copies = 2 if self.knobs.duplicate else 1
        with self._lock:
            if self.knobs.reorder:
                self._held.extend([(hook, payload)] * copies)
                if len(self._held) < 2:
                    return
                batch, self._held = list(reversed(self._held)), []
            else:
                batch = [(hook, payload)] * copies
        for item in batch:
            self._dispatch(*item)

    def _dispatch(self, hook: Webhook, payload: dict[str, Any]) -> None:
        with self._lock:
            self._pending += 1
        threading.Thread(
            target=self._deliver, args=(hook, payload), name="sepay-delivery", daemon=True
        ).start()

    def _deliver(self, hook: Webhook, payload: dict[str, Any]) -> None:
        try:
            if self.knobs.delay_ms and self._stopping.wait(self.knobs.delay_ms / 1000):
                return
            body = body_of(payload)
            for attempt in range(self.max_retries + 1):
                if attempt and self._stopping.wait(fibonacci(attempt) * self.interval):
                    return
                if self._attempt(hook, payload, body, attempt + 1):
                    return
            logger.warning("giving up on SePay id %s after %d attempts", payload["id"], attempt + 1)
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def _take_loss(self) -> str | None:
        with self._lock:
            if self.knobs.fail_remaining > 0:
                self.knobs.fail_remaining -= 1
                return self.knobs.fail_mode
        return None

    def _attempt(self, hook: Webhook, payload: dict[str, Any], body: bytes, number: int) -> bool:
        """One POST; acknowledged only by 200/201 with ``{"success": true}``."""
        loss = self._take_loss()
        status: int | None = None
        answer = b""
        error = ""
        if loss == "request":
            error = "simulated network loss (request not sent)"
        else:
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                **auth_headers(body, auth=hook.auth, secret=hook.secret),
            }
            request = urllib.request.Request(hook.url, data=body, method="POST", headers=headers)  # noqa: S310
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    status, answer = response.status, response.read(MAX_ANSWER_BYTES)
            except urllib.error.HTTPError as failure:
                status, answer = failure.code, failure.read(MAX_ANSWER_BYTES)
                failure.close()
            except (OSError, urllib.error.URLError) as failure:
                error = f"connection error: {failure!r}"
            if loss == "response":
                error = f"simulated network loss (answer {status} not received)"
                status = None
        ok = status in (200, 201) and _says_success(answer)
        with self._lock:
            self._attempts.append(
                {
                    "id": payload["id"],
                    "webhook": hook.id,
                    "attempt": number,
                    "status": status,
                    "ok": ok,
                    "error": error,
                }
            )
        return ok


def _says_success(answer: bytes) -> bool:
    try:
        data = json.loads(answer)
    except ValueError:
        return False
    return isinstance(data, dict) and data.get("success") is True


def query_params(path: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(path)
    return parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


__all__ = ["BodyError", "SePaySandbox", "auth_headers", "body_of", "query_params", "read_body"]
