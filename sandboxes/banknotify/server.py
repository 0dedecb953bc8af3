"""The sandbox bank-notification service: an HTTP server on loopback.

It stands in for a provider such as SePay or Casso that watches merchants' bank accounts and
POSTs a signed notification for each incoming transfer. The wire protocol is in README.md beside
this file. Usage::

    with BankNotifySandbox(webhook_url, webhook_secret, api_key) as bank:
        bank.transfer(bin="970436", account_number="0041000123456", amount=150000,
                      description="DH1709")
        bank.wait_idle()

All state lives in memory under one lock; notifications go out from background threads
(:mod:`sandboxes.banknotify.delivery`).
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from .._common import LoopbackSandbox
from .delivery import Attempt, Deliverer, Parcel
from .handler import Handler
from .ledger import (
    VIETNAM_TZ,
    Knobs,
    Transaction,
    TransferRequest,
    new_reference,
    new_transaction_id,
    qr_transfer_request,
    transfer_request,
)
from .napas import bank_by_bin

logger = logging.getLogger("sandboxes.banknotify")


def _now() -> datetime:
    return datetime.now(VIETNAM_TZ)


class BankNotifySandbox(LoopbackSandbox):
    """A stand-in bank-notification provider on ``http://host:port``.

    ``webhook_url`` receives the notifications, signed with ``webhook_secret``; ``api_key``
    guards the transaction list. ``port=0`` picks a free port (see :attr:`url` after
    :meth:`start`). Delivery tuning: ``timeout`` per attempt, ``backoff_base`` × 2^n seconds
    between attempts capped at ``backoff_cap``, ``max_attempts`` in all. ``clock`` returns the
    aware datetime that transactions are booked at (tests pass a fake one).
    """

    name = "banknotify"
    title = "bank-notification sandbox"

    def __init__(
        self,
        webhook_url: str,
        webhook_secret: str,
        api_key: str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        timeout: float = 5.0,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
        max_attempts: int = 8,
        clock: Callable[[], datetime] | None = None,
        quiet: bool = True,
    ) -> None:
        if not webhook_secret:
            raise ValueError("webhook_secret must not be empty")
        if not api_key:
            raise ValueError("api_key must not be empty")
        super().__init__(host, port, quiet=quiet)
        self._api_key = api_key
        self._clock = clock or _now
        self._lock = threading.Lock()
        self._generation = 0
        self._transactions: list[Transaction] = []
        self._references: set[str] = set()
        self._tokens: dict[str, Transaction] = {}
        self._held: list[tuple[Transaction, int]] = []  # reorder knob: (transaction, copies)
        self._knobs = Knobs()
        self._attempts: list[dict[str, Any]] = []
        self._deliverer = Deliverer(
            webhook_url=webhook_url,
            secret=webhook_secret,
            is_current=self._is_current,
            take_loss=self._take_loss,
            record=self._record,
            timeout=timeout,
            backoff_base=backoff_base,
            backoff_cap=backoff_cap,
            max_attempts=max_attempts,
        )

    # -- lifecycle ------------------------------------------------------------

    def handler_class(self) -> type[Handler]:
        return Handler

    def _after_stop(self) -> None:
        """Stop delivering too. Held (reordered) notifications are discarded."""
        self._deliverer.stop()

    @property
    def webhook_url(self) -> str:
        """Where notifications go; may be changed while running (e.g. once a test server is up).
        Empty: notifications are not sent (transactions are still booked and listed)."""
        return self._deliverer.webhook_url

    @webhook_url.setter
    def webhook_url(self, value: str) -> None:
        self._deliverer.webhook_url = value

    # -- the bank -------------------------------------------------------------

    def transfer(
        self,
        *,
        bin: str,
        account_number: str,
        amount: int,
        description: str = "",
        counter_account: str = "",
        counter_name: str = "",
    ) -> dict[str, Any]:
        """Book an incoming transfer and notify; returns the notification object.

        Raises :class:`TransferError` for an unknown BIN, a bad amount or account.
        """
        request = transfer_request(
            {
                "bin": bin,
                "account_number": account_number,
                "amount": amount,
                "description": description,
                "counter_account": counter_account,
                "counter_name": counter_name,
            }
        )
        return self._book(request)[0].as_dict()

    def pay_qr(
        self,
        payload: str,
        *,
        amount: int | None = None,
        counter_account: str = "",
        counter_name: str = "",
        message: str = "",
        token: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Pay a VietQR payload as a shopper's bank app would.

        Returns the notification object and whether it was created now; a ``token`` seen before
        returns the earlier transaction (``False``) instead of paying twice.
        """
        request = qr_transfer_request(
            payload,
            amount=amount,
            counter_account=counter_account,
            counter_name=counter_name,
            message=message,
        )
        transaction, created = self._book(request, token=token)
        return transaction.as_dict(), created

    def submit(self, data: object) -> dict[str, Any]:
        """Book a transfer from a ``POST /api/transfers`` body."""
        return self._book(transfer_request(data))[0].as_dict()

    def transactions(
        self, *, since: datetime | None = None, account_number: str | None = None
    ) -> list[dict[str, Any]]:
        """Booked transactions, oldest first, including dropped ones; ``since`` is inclusive
        (a naive ``since`` is Vietnam time)."""
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=VIETNAM_TZ)
        with self._lock:
            booked = list(self._transactions)
        booked.sort(key=lambda transaction: transaction.booked_at)
        return [
            transaction.as_dict()
            for transaction in booked
            if (since is None or transaction.booked_at >= since)
            and (account_number is None or transaction.account_number == account_number)
        ]

    def deliveries(self) -> list[dict[str, Any]]:
        """Every delivery attempt so far, in the order they finished."""
        with self._lock:
            return [dict(attempt) for attempt in self._attempts]

    def get_knobs(self) -> dict[str, Any]:
        with self._lock:
            return self._knobs.as_dict()

    def set_knobs(self, changes: object = None, /, **knobs: Any) -> dict[str, Any]:
        """Change some knobs (a mapping or keywords); returns them all.

        Switching ``reorder`` off, or lowering ``reorder_batch`` to the number held, sends the
        held notifications at once (reversed, as a batch would have been).
        """
        update: object = knobs
        if changes is not None:
            update = {**changes, **knobs} if isinstance(changes, Mapping) else changes
        with self._lock:
            self._knobs.update(update)
            units = []
            if self._held and (
                not self._knobs.reorder or len(self._held) >= self._knobs.reorder_batch
            ):
                units.append(self._release_held())
            delay = self._knobs.delay_ms / 1000
            state = self._knobs.as_dict()
        for unit in units:
            self._deliverer.dispatch(unit, delay=delay)
        return state

    def reset(self) -> None:
        """Forget transactions, attempts and knobs; abandon notifications not yet delivered."""
        with self._lock:
            self._generation += 1
            self._transactions.clear()
            self._references.clear()
            self._tokens.clear()
            self._held.clear()
            self._attempts.clear()
            self._knobs = Knobs()

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Wait until every sent notification is acknowledged or given up (not held ones)."""
        return self._deliverer.wait_idle(timeout)

    def status(self) -> dict[str, int]:
        with self._lock:
            held = len(self._held)
        return {"pending": self._deliverer.pending, "held": held}

    def check_api_key(self, header: str | None) -> bool:
        """Whether an ``Authorization`` header carries our API key (``Apikey <key>``)."""
        scheme, _, key = (header or "").strip().partition(" ")
        if scheme.lower() != "apikey":
            return False
        return hmac.compare_digest(key.strip().encode(), self._api_key.encode())

    # -- internals ------------------------------------------------------------

    def _book(
        self, request: TransferRequest, *, token: str | None = None
    ) -> tuple[Transaction, bool]:
        bank = bank_by_bin(request.bin)
        assert bank is not None  # validated
        with self._lock:
            if token is not None and token in self._tokens:
                return self._tokens[token], False
            booked_at = self._clock()
            if booked_at.tzinfo is None:
                raise ValueError("clock must return an aware datetime")
            reference = new_reference(booked_at)
            while reference in self._references:
                reference = new_reference(booked_at)
            transaction = Transaction(
                id=new_transaction_id(),
                gateway=bank.short_name,
                bin=request.bin,
                account_number=request.account_number,
                amount=request.amount,
                description=request.description,
                reference=reference,
                booked_at=booked_at,
                counter_account=request.counter_account,
                counter_name=request.counter_name,
            )
            self._transactions.append(transaction)
            self._references.add(reference)
            if token is not None:
                self._tokens[token] = transaction
            units = self._plan(transaction)
            delay = self._knobs.delay_ms / 1000
        for unit in units:
            self._deliverer.dispatch(unit, delay=delay)
        logger.info(
            "booked %s: %d VND to %s %s",
            transaction.id,
            transaction.amount,
            bank.short_name,
            transaction.account_number,
        )
        return transaction, True

    def _plan(self, transaction: Transaction) -> list[list[Parcel]]:
        """Which parcels to send now, under the knobs (call with the lock held)."""
        knobs = self._knobs
        if knobs.drop:
            return []
        copies = 2 if knobs.duplicate else 1
        if knobs.reorder:
            self._held.append((transaction, copies))
            if len(self._held) >= knobs.reorder_batch:
                return [self._release_held()]
            return []
        return [self._parcels([(transaction, copies)])]

    def _release_held(self) -> list[Parcel]:
        batch = list(reversed(self._held))
        self._held.clear()
        return self._parcels(batch)

    def _parcels(self, entries: list[tuple[Transaction, int]]) -> list[Parcel]:
        parcels = []
        for transaction, copies in entries:
            body = transaction.body()
            for copy in range(1, copies + 1):
                parcels.append(
                    Parcel(
                        subject=transaction.id,
                        body=body,
                        copy=copy,
                        generation=self._generation,
                    )
                )
        return parcels

    # Deliverer hooks (called from delivery threads, without our lock).

    def _is_current(self, generation: int) -> bool:
        with self._lock:
            return generation == self._generation

    def _take_loss(self) -> str | None:
        with self._lock:
            if self._knobs.fail_remaining <= 0:
                return None
            self._knobs.fail_remaining -= 1
            return self._knobs.fail_mode

    def _record(self, attempt: Attempt) -> None:
        entry = {
            "transaction_id": attempt.parcel.subject,
            "attempt": attempt.number,
            "copy": attempt.parcel.copy,
            "status": attempt.status,
            "error": attempt.error,
            "ok": attempt.ok,
            "elapsed_ms": attempt.elapsed_ms,
            "at": _now().isoformat(timespec="milliseconds"),
        }
        with self._lock:
            if attempt.parcel.generation == self._generation:
                self._attempts.append(entry)
