"""The sandbox e-wallet provider: an HTTP server on loopback.

It stands in for a wallet such as MoMo or ZaloPay: the platform creates a payment server to
server, the shopper pays on a hosted page (``pay_url``), and a signed webhook tells the platform
what happened. The wire protocol is PROTOCOL.md beside this file. Usage::

    with EWalletSandbox(webhook_url, webhook_secret, ["sk_test_1"]) as wallet:
        ...  # POST {wallet.url}/v1/payments with Authorization: Bearer sk_test_1
        wallet.approve(payment_id, phone="0909 000 001")  # what the pay page does
        wallet.wait_idle()

All state lives in memory under one lock; webhooks go out from background threads
(:class:`sandboxes._common.Deliverer`).
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .._common import Attempt, Deliverer, LoopbackSandbox, Parcel, bearer_key
from .handler import Handler
from .idempotency import IdempotencyStore
from .ledger import (
    DEFAULT_ACCOUNT_NAME,
    DEMO_WALLETS,
    OPENING_BALANCE,
    REFUNDABLE,
    Event,
    EWalletError,
    Knobs,
    Payment,
    Refund,
    cancel_params,
    check_refund_amount,
    forbidden,
    injected_failure,
    invalid,
    list_params,
    looks_like,
    missing,
    new_id,
    normalize_phone,
    payment_params,
    random_failure,
    refund_params,
)

logger = logging.getLogger("sandboxes.ewallet")

SIGNATURE_HEADER = "Wallet-Signature"
USER_AGENT = "ewallet-sandbox/1.0"


@dataclass
class _Token:
    """A one-time token of a pay page form: signed in (``phone``) or not; ``used`` once an
    approve or decline went through, after which posting it again only shows the outcome."""

    payment_id: str
    phone: str | None
    used: bool = False


def _page_error(status: int, code: str, message: str) -> EWalletError:
    return EWalletError(status, "invalid_request_error", code, message)


class EWalletSandbox(LoopbackSandbox):
    """A stand-in e-wallet provider on ``http://host:port``.

    ``api_keys``: the accepted ``Bearer`` keys, a list, or a mapping key → account name (the
    default ``merchant_name``). Webhooks go to ``webhook_url`` signed with ``webhook_secret``.
    ``port=0`` picks a free port (see :attr:`url` after :meth:`start`); ``public_url`` replaces
    :attr:`url` in ``pay_url``. Delivery tuning: ``timeout`` per attempt, ``backoff_base`` × 2^n
    seconds between attempts capped at ``backoff_cap``, ``max_attempts`` in all. ``clock``
    returns unix seconds (tests pass a fake one to expire payments); pending payments past
    ``expires_at`` are expired on every request and every ``sweep_interval`` seconds.
    """

    name = "ewallet"
    title = "e-wallet sandbox"

    def __init__(
        self,
        webhook_url: str,
        webhook_secret: str,
        api_keys: Mapping[str, str] | Iterable[str],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        public_url: str | None = None,
        timeout: float = 5.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_attempts: int = 8,
        clock: Callable[[], float] | None = None,
        sweep_interval: float = 1.0,
        quiet: bool = True,
    ) -> None:
        if not webhook_secret:
            raise ValueError("webhook_secret must not be empty")
        if isinstance(api_keys, str):
            api_keys = [api_keys]
        if isinstance(api_keys, Mapping):
            keys = {str(k): str(v) or DEFAULT_ACCOUNT_NAME for k, v in api_keys.items()}
        else:
            keys = {str(k): DEFAULT_ACCOUNT_NAME for k in api_keys}
        if not keys or not all(keys):
            raise ValueError("api_keys must hold at least one non-empty key")
        super().__init__(host, port, quiet=quiet)
        self.public_url = public_url.rstrip("/") if public_url else None
        self.sweep_interval = sweep_interval
        self._keys = keys
        self._clock = clock or time.time
        self._lock = threading.Lock()
        self._generation = 0
        self._payments: dict[str, Payment] = {}
        self._pending: set[str] = set()
        self._refunds: dict[str, Refund] = {}
        self._events: dict[str, Event] = {}
        self._wallets: dict[str, int] = {}
        self._tokens: dict[str, _Token] = {}
        self._attempts: list[dict[str, Any]] = []
        self._knobs = Knobs()
        self.idempotency = IdempotencyStore()
        self._deliverer = Deliverer(
            webhook_url=webhook_url,
            secret=webhook_secret,
            signature_header=SIGNATURE_HEADER,
            user_agent=USER_AGENT,
            is_current=self._is_current,
            record=self._record,
            name="ewallet",
            logger=logger,
            timeout=timeout,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            max_attempts=max_attempts,
        )
        self._sweeper: threading.Thread | None = None
        self._connections: set[socket.socket] = set()

    # -- lifecycle ------------------------------------------------------------

    def handler_class(self) -> type[Handler]:
        return Handler

    def _after_start(self) -> None:
        self._sweeper = threading.Thread(
            target=self._sweep_loop, name="ewallet-expiry", daemon=True
        )
        self._sweeper.start()

    def _after_stop(self) -> None:
        """Close kept-alive connections too, stop expiring and delivering."""
        with self._lock:
            connections, self._connections = self._connections, set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        sweeper, self._sweeper = self._sweeper, None
        if sweeper is not None:
            sweeper.join(5)
        self._deliverer.stop()

    def connection_opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def connection_closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    @property
    def webhook_url(self) -> str:
        """Where webhooks go; may be changed while running. Empty: events are not sent."""
        return self._deliverer.webhook_url

    @webhook_url.setter
    def webhook_url(self, value: str) -> None:
        self._deliverer.webhook_url = value

    # -- the API (the handler has authenticated ``key``) ------------------------

    def authenticate(self, header: str | None) -> str | None:
        """The API key of an ``Authorization: Bearer <key>`` header, if it is one of ours."""
        return bearer_key(header, self._keys)

    def create_payment(self, key: str, data: object) -> tuple[int, dict[str, Any]]:
        params = payment_params(data, default_merchant_name=self._keys[key])
        self.sweep()
        with self._lock:
            now = int(self._clock())
            payment_id = new_id("pay")
            payment = Payment(
                id=payment_id,
                owner=key,
                amount=params["amount"],
                merchant_reference=params["merchant_reference"],
                merchant_name=params["merchant_name"],
                description=params["description"],
                metadata=params["metadata"],
                pay_url=f"{self.public_url or self.url}/pay/{payment_id}",
                created=now,
                expires_at=now + params["expires_in"],
            )
            self._payments[payment_id] = payment
            self._pending.add(payment_id)
            return 201, payment.as_dict()

    def retrieve_payment(self, key: str, payment_id: str) -> tuple[int, dict[str, Any]]:
        self.sweep()
        with self._lock:
            return 200, self._owned_payment(key, payment_id).as_dict()

    def list_payments(self, key: str, query: Mapping[str, list[str]]) -> tuple[int, dict[str, Any]]:
        status, reference, limit, starting_after = list_params(query)
        self.sweep()
        with self._lock:
            mine = [p for p in reversed(self._payments.values()) if p.owner == key]
            if starting_after is not None:
                ids = [p.id for p in mine]
                if starting_after not in ids:
                    raise missing("thanh toán starting_after", "starting_after")
                mine = mine[ids.index(starting_after) + 1 :]
            chosen = [
                p
                for p in mine
                if (status is None or p.status == status)
                and (reference is None or p.merchant_reference == reference)
            ]
            page = [p.as_dict() for p in chosen[:limit]]
        return 200, {"object": "list", "data": page, "has_more": len(chosen) > limit}

    def cancel_payment(self, key: str, payment_id: str, data: object) -> tuple[int, dict[str, Any]]:
        cancel_params(data)
        self.sweep()
        with self._lock:
            payment = self._owned_payment(key, payment_id)
            if payment.status != "pending":
                raise invalid(
                    "payment_not_cancelable",
                    f"Chỉ huỷ được thanh toán đang chờ (trạng thái hiện tại: {payment.status}).",
                )
            payment.status = "canceled"
            self._pending.discard(payment_id)
            return 200, payment.as_dict()

    def create_refund(self, key: str, data: object) -> tuple[int, dict[str, Any]]:
        payment_id, amount, reason = refund_params(data)
        self.sweep()
        with self._lock:
            payment = self._owned_payment(key, payment_id, param="payment")
            if payment.status not in REFUNDABLE:
                raise invalid(
                    "payment_not_refundable",
                    f"Không hoàn tiền được thanh toán ở trạng thái {payment.status}.",
                    "payment",
                )
            amount = check_refund_amount(payment, amount)
            refund = Refund(
                id=new_id("re"),
                owner=key,
                payment=payment.id,
                amount=amount,
                reason=reason,
                created=int(self._clock()),
            )
            self._refunds[refund.id] = refund
            payment.amount_refunded += amount
            done = payment.amount_refunded == payment.amount
            payment.status = "refunded" if done else "partially_refunded"
            if payment.wallet_phone is not None:
                self._wallets[payment.wallet_phone] = self._balance(payment.wallet_phone) + amount
            units = self._emit("refund.succeeded", refund.as_dict())
            answer = refund.as_dict()
        self._dispatch(units)
        return 201, answer

    def retrieve_refund(self, key: str, refund_id: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            refund = self._refunds.get(refund_id)
            if refund is None:
                raise missing(f"hoàn tiền {refund_id}")
            if refund.owner != key:
                raise forbidden("hoàn tiền")
            return 200, refund.as_dict()

    def take_fault(self) -> tuple[EWalletError | None, float]:
        """The knobs' verdict for one API request: an error to answer at once (or ``None``),
        and the latency to add, in seconds."""
        with self._lock:
            knobs = self._knobs
            latency = knobs.latency_ms / 1000
            if knobs.fail_next > 0:
                knobs.fail_next -= 1
                return injected_failure(knobs.fail_next_status), latency
            if knobs.error_rate > 0 and random.random() < knobs.error_rate:
                return random_failure(), latency
            return None, latency

    # -- the shopper (pay page) -----------------------------------------------

    def payment(self, payment_id: str) -> dict[str, Any] | None:
        """Any payment by id (no API key), or ``None``."""
        self.sweep()
        with self._lock:
            payment = self._payments.get(payment_id)
            return payment.as_dict() if payment is not None else None

    def wallet_balance(self, phone: str) -> int:
        """The balance of a wallet (any Vietnamese mobile; 5 000 000 đ until it pays)."""
        e164 = normalize_phone(phone)
        if e164 is None:
            raise _page_error(400, "invalid_phone", "Số điện thoại không hợp lệ.")
        with self._lock:
            return self._balance(e164)

    def issue_token(self, payment_id: str, phone: str | None = None) -> str:
        """A one-time token for a pay page form (``phone``: signed in as it)."""
        token = new_id("tok")
        with self._lock:
            self._tokens[token] = _Token(payment_id, phone)
        return token

    def sign_in(self, payment_id: str, phone: str) -> tuple[str, str]:
        """Sign in on the pay page → (E.164 phone, token for approve/decline)."""
        e164 = normalize_phone(phone)
        if e164 is None:
            raise _page_error(
                400,
                "invalid_phone",
                "Số điện thoại không hợp lệ. Nhập số di động Việt Nam, ví dụ 0909 000 001.",
            )
        self.sweep()
        with self._lock:
            self._pending_payment(payment_id)
            self._balance(e164)  # opens the wallet
        return e164, self.issue_token(payment_id, e164)

    def approve_with_token(self, payment_id: str, token: str) -> tuple[dict[str, Any], bool]:
        """The shopper taps "Xác nhận thanh toán" → (payment, whether it was done before)."""
        return self._use_token(payment_id, token, approve=True)

    def decline_with_token(self, payment_id: str, token: str) -> tuple[dict[str, Any], bool]:
        """The shopper taps "Từ chối" → (payment, whether it was done before)."""
        return self._use_token(payment_id, token, approve=False)

    def approve(self, payment_id: str, phone: str = "0909 000 001") -> dict[str, Any]:
        """Pay as the pay page does (sign in with ``phone``, approve); returns the payment.

        Raises :class:`EWalletError`: ``resource_missing``, ``payment_expired``,
        ``payment_not_pending``, ``invalid_phone``, ``insufficient_balance``.
        """
        _, token = self.sign_in(payment_id, phone)
        return self.approve_with_token(payment_id, token)[0]

    def decline(self, payment_id: str, phone: str | None = None) -> dict[str, Any]:
        """Decline as the pay page does (signed in with ``phone``, or not); returns the payment."""
        if phone is not None:
            token = self.sign_in(payment_id, phone)[1]
        else:
            self.sweep()
            with self._lock:
                self._pending_payment(payment_id)
            token = self.issue_token(payment_id)
        return self.decline_with_token(payment_id, token)[0]

    def expire(self, payment_id: str) -> dict[str, Any]:
        """Expire a pending payment now (as if ``expires_at`` had passed); returns it."""
        with self._lock:
            payment = self._pending_payment(payment_id)
            payment.expires_at = min(payment.expires_at, int(self._clock()))
        self.sweep()
        return self.payment(payment_id) or {}

    # -- tests and knobs --------------------------------------------------------

    def events(self) -> list[dict[str, Any]]:
        """Every event made so far, oldest first, including dropped ones."""
        with self._lock:
            return [event.as_dict() for event in self._events.values()]

    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook attempt so far, in the order they finished."""
        with self._lock:
            return [dict(attempt) for attempt in self._attempts]

    def get_knobs(self) -> dict[str, Any]:
        with self._lock:
            return self._knobs.as_dict()

    def set_knobs(self, changes: object = None, /, **knobs: Any) -> dict[str, Any]:
        """Change some knobs (a mapping or keywords), all or nothing; returns them all."""
        update: object = knobs
        if changes is not None:
            update = {**changes, **knobs} if isinstance(changes, Mapping) else changes
        with self._lock:
            self._knobs.update(update)
            return self._knobs.as_dict()

    def reset(self) -> None:
        """Forget payments, refunds, events, attempts, tokens, idempotency keys, wallet
        balances and knobs; abandon webhooks not yet delivered."""
        with self._lock:
            self._generation += 1
            for store in (self._payments, self._refunds, self._events, self._wallets):
                store.clear()
            self._pending.clear()
            self._tokens.clear()
            self._attempts.clear()
            self._knobs = Knobs()
        self.idempotency.clear()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until every sent webhook is acknowledged or given up."""
        return self._deliverer.wait_idle(timeout)

    def status(self) -> dict[str, int]:
        return {"pending": self._deliverer.pending}

    def wallets(self) -> list[tuple[str, int]]:
        """The demo wallets and every wallet used so far, with balances."""
        with self._lock:
            phones = list(DEMO_WALLETS) + sorted(set(self._wallets) - set(DEMO_WALLETS))
            return [(phone, self._balance(phone)) for phone in phones]

    def sweep(self) -> None:
        """Expire the pending payments whose ``expires_at`` has come (``payment.failed``)."""
        with self._lock:
            now = self._clock()
            units: list[list[Parcel]] = []
            for payment_id in list(self._pending):
                payment = self._payments[payment_id]
                if now >= payment.expires_at:
                    self._finish(payment, "failed", "expired")
                    units += self._emit("payment.failed", payment.as_dict())
        self._dispatch(units)

    # -- internals (``_``-methods ending in state changes expect the lock held) --

    def _sweep_loop(self) -> None:
        while not self._stopping.wait(self.sweep_interval):
            try:
                self.sweep()
            except Exception:  # pragma: no cover - keep sweeping
                logger.exception("expiry sweep failed")

    def _balance(self, phone: str) -> int:
        return self._wallets.setdefault(phone, OPENING_BALANCE)

    def _owned_payment(self, key: str, payment_id: str, *, param: str = "id") -> Payment:
        payment = self._payments.get(payment_id) if looks_like("pay", payment_id) else None
        if payment is None:
            raise missing(f"thanh toán {payment_id}", param)
        if payment.owner != key:
            raise forbidden("thanh toán")
        return payment

    def _pending_payment(self, payment_id: str) -> Payment:
        payment = self._payments.get(payment_id)
        if payment is None:
            raise _page_error(404, "resource_missing", "Không tìm thấy yêu cầu thanh toán.")
        if payment.status == "failed" and payment.failure_reason == "expired":
            raise _page_error(409, "payment_expired", "Yêu cầu thanh toán đã hết hạn.")
        if payment.status != "pending":
            raise _page_error(409, "payment_not_pending", "Yêu cầu thanh toán đã được xử lý.")
        return payment

    def _use_token(self, payment_id: str, token: str, *, approve: bool) -> tuple[dict, bool]:
        self.sweep()
        with self._lock:
            ticket = self._tokens.get(token)
            if ticket is None or ticket.payment_id != payment_id:
                raise _page_error(
                    400, "invalid_token", "Phiên thanh toán không hợp lệ. Vui lòng mở lại trang."
                )
            if ticket.used:  # a double tap or a reload: show what happened, do nothing
                return self._payments[payment_id].as_dict(), True
            payment = self._pending_payment(payment_id)
            if approve:
                if ticket.phone is None:
                    raise _page_error(400, "sign_in_required", "Vui lòng đăng nhập ví trước.")
                balance = self._balance(ticket.phone)
                if balance < payment.amount:
                    raise _page_error(
                        400, "insufficient_balance", "Số dư ví không đủ để thanh toán."
                    )
                self._wallets[ticket.phone] = balance - payment.amount
                self._finish(payment, "succeeded", None, ticket.phone)
                units = self._emit("payment.succeeded", payment.as_dict())
            else:
                self._finish(payment, "failed", "declined_by_shopper", ticket.phone)
                units = self._emit("payment.failed", payment.as_dict())
            ticket.used = True
            answer = payment.as_dict()
        self._dispatch(units)
        return answer, False

    def _finish(
        self, payment: Payment, status: str, reason: str | None, phone: str | None = None
    ) -> None:
        payment.status = status
        payment.failure_reason = reason
        payment.wallet_phone = phone
        self._pending.discard(payment.id)

    def _emit(self, event_type: str, obj: dict[str, Any]) -> list[list[Parcel]]:
        """Record an event; the parcels to send now under the knobs (one unit per copy, so
        a copy never waits for the other's answer)."""
        event = Event(id=new_id("evt"), type=event_type, created=int(self._clock()), object=obj)
        self._events[event.id] = event
        if self._knobs.drop_webhooks:
            return []
        body = event.body()
        copies = 2 if self._knobs.duplicate_webhooks else 1
        return [
            [Parcel(subject=event.id, body=body, copy=n, generation=self._generation)]
            for n in range(1, copies + 1)
        ]

    def _dispatch(self, units: list[list[Parcel]]) -> None:
        for unit in units:
            self._deliverer.dispatch(unit)

    # Deliverer hooks (called from delivery threads, without our lock).

    def _is_current(self, generation: int) -> bool:
        with self._lock:
            return generation == self._generation

    def _record(self, attempt: Attempt) -> None:
        with self._lock:
            if attempt.parcel.generation != self._generation:
                return
            event = self._events.get(attempt.parcel.subject)
            self._attempts.append(
                {
                    "event_id": attempt.parcel.subject,
                    "type": event.type if event else None,
                    "attempt": attempt.number,
                    "copy": attempt.parcel.copy,
                    "status": attempt.status,
                    "error": attempt.error,
                    "ok": attempt.ok,
                    "elapsed_ms": attempt.elapsed_ms,
                    "at": round(time.time(), 3),
                }
            )
