"""Celery messages per paid sale and CPU per invoice: one task per sale vs batches (issue 15).

Run by hand, prints figures, asserts nothing (tests/market/test_invoice_batches.py holds the
behaviour):

    CHOSO_VAR_DIR=$(mktemp -d) .venv/bin/python -m pytest -p no:xdist bench/invoice_batches.py -q -s
    source bin/_services.sh   # a throw-away PostgreSQL
    DATABASE_URL="$PG_SERVICE_URL" CHOSO_VAR_DIR=$(mktemp -d) .venv/bin/python -m pytest \\
        -p no:xdist bench/invoice_batches.py -q -s

``SALES`` cash sales (paid at once, one to three lines) across ``STALLS`` stalls with automatic
invoicing are committed first; a recording broker keeps every message sent (``apply_async``,
``delay``) instead of queuing it in Redis. Then the worker's part runs, timed:

- **one per sale** (before): each paid sale sends ``market.issue_order_invoice``; that task
  issues the invoice in its own transaction and, after commit, sends ``render_invoice_pdf`` and
  ``transmit_invoice`` for it;
- **batches** (now): the burst sends one ``market.issue_due_invoices``; it claims due sales
  ``INVOICE_BATCH_SIZE`` at a time (``FOR UPDATE SKIP LOCKED``), issues them in one transaction
  and sends one ``render_invoice_pdfs`` and one ``transmit_invoices`` per batch.

CPU is ``time.process_time`` of this process while the market tasks run (PDFs and transmission
are counted as messages, not run: they are the same work either way); on PostgreSQL the server's
own CPU is not in it, on SQLite it is. Statements are counted by an execute wrapper (SAVEPOINTs
included, BEGIN and COMMIT not). Each task is run through ``Task.apply`` (as a worker would,
minus the broker round trip a message costs, which is not in the figures).
"""

from __future__ import annotations

import os
import statistics
import time
from collections import Counter, deque
from typing import Any

import pytest
from celery.app.task import Task
from django.db import connection

from einvoice import services as einvoice
from einvoice import signing
from einvoice import tasks as _einvoice_tasks  # noqa: F401 - connects transmission, as a worker
from einvoice.models import Invoice
from market.models import Order
from market.sales import invoicing, orders
from market.sales.orders import LineInput
from tests.factories import merchant_with_account

pytestmark = pytest.mark.django_db(transaction=True)

SALES = int(os.environ.get("SALES", "300"))
STALLS = 10
ROUNDS = int(os.environ.get("ROUNDS", "3"))


class Broker:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.queue: deque[tuple[Task, tuple[Any, ...], dict[str, Any]]] = deque()

    def run_market_tasks(self) -> None:
        while self.queue:
            task, args, kwargs = self.queue.popleft()
            if task.name.startswith("market."):
                task.apply(args=args, kwargs=kwargs, throw=True)


@pytest.fixture
def broker(monkeypatch, settings) -> Broker:
    from django.core.cache import cache

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.TAXGATEWAY_URL = "http://127.0.0.1:9"
    cache.clear()
    recorder = Broker()

    def apply_async(self, args=None, kwargs=None, **options):
        recorder.sent.append(self.name)
        recorder.queue.append((self, tuple(args or ()), dict(kwargs or {})))

    monkeypatch.setattr(Task, "apply_async", apply_async)
    return recorder


def sales(stalls, n: int, start: int) -> list[Order]:
    return [
        orders.order_create(
            merchant=stalls[i % len(stalls)],
            lines=[LineInput(unit_price=10_000 + 1_000 * k + start + i) for k in range(1 + i % 3)],
            payment_method="cash",
            actor=None,
        )
        for i in range(n)
    ]


def run(broker: Broker, made: list[Order], *, per_sale: bool) -> dict[str, float]:
    from market.tasks import issue_order_invoice

    if per_sale:  # what market/apps.py did before: a message per paid sale
        for order in made:
            issue_order_invoice.delay(order.pk)
    sent_by_sales = len(broker.sent)
    before = Invoice.objects.count()
    statements = []

    def counted(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counted):
        cpu, wall = time.process_time(), time.perf_counter()
        broker.run_market_tasks()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    issued = Invoice.objects.count() - before
    assert issued == len(made), (issued, len(made))
    kinds = Counter(broker.sent)
    return {
        "messages/sale": len(broker.sent) / len(made),
        "from the payments": sent_by_sales,
        "issue msgs": kinds["market.issue_order_invoice"] + kinds["market.issue_due_invoices"],
        "pdf msgs": kinds["einvoice.render_invoice_pdf"] + kinds["einvoice.render_invoice_pdfs"],
        "transmit msgs": kinds["einvoice.transmit_invoice"] + kinds["einvoice.transmit_invoices"],
        "cpu ms/invoice": cpu * 1000 / issued,
        "wall ms/invoice": wall * 1000 / issued,
        "statements/invoice": len(statements) / issued,
    }


def test_messages_and_cpu_per_invoice(broker, monkeypatch):
    stalls = []
    for i in range(STALLS):
        merchant = merchant_with_account(display_name=f"Sạp {i}")
        einvoice.series_create(
            merchant=merchant, form="2", symbol=f"C26T{'ABCDEFGHIJ'[i]}A", auto_issue=True
        )
        signing.certificate_for(merchant)  # the key is made once per stall, not timed
        stalls.append(merchant)

    kick = invoicing.invoices_due_kick
    results: dict[str, list[dict[str, float]]] = {"one per sale": [], "batches": []}
    for r in range(ROUNDS + 1):  # round 0 warms caches (and is not reported)
        for mode in ("one per sale", "batches"):
            per_sale = mode == "one per sale"
            monkeypatch.setattr(
                invoicing, "invoices_due_kick", (lambda: None) if per_sale else kick
            )
            broker.sent.clear()
            n = 20 if r == 0 else SALES
            figures = run(broker, sales(stalls, n, start=r * 10_000), per_sale=per_sale)
            if r:
                results[mode].append(figures)

    from django.conf import settings

    print(
        f"\n{connection.vendor}: {SALES} paid sales over {STALLS} stalls, "
        f"INVOICE_BATCH_SIZE={settings.INVOICE_BATCH_SIZE}, median of {ROUNDS} rounds"
    )
    for mode, rows in results.items():
        line = ", ".join(
            f"{key} {statistics.median(row[key] for row in rows):.3g}" for key in rows[0]
        )
        print(f"  {mode:13} {line}")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="threads need PostgreSQL")
def test_a_steady_rate_of_sales(broker, monkeypatch):
    """Sales paid at RATE/s for SECONDS s (one sender thread, each due at a fixed time) while a
    worker thread runs the market messages when their countdown is up: messages per sale at that
    rate, and how long after its payment each sale's invoice was issued (``issued_at`` −
    ``paid_at``; the trader sees it at its batch's commit, a few ms later)."""
    import threading

    from django.db import connections

    rate = float(os.environ.get("RATE", "20"))
    seconds = float(os.environ.get("SECONDS", "10"))
    stalls = []
    for i in range(STALLS):
        merchant = merchant_with_account(display_name=f"Sạp {i}")
        einvoice.series_create(
            merchant=merchant, form="2", symbol=f"C26T{'ABCDEFGHIJ'[i]}B", auto_issue=True
        )
        signing.certificate_for(merchant)
        stalls.append(merchant)

    lock = threading.Lock()
    pending: list[tuple[float, Task, tuple[Any, ...], dict[str, Any]]] = []

    def apply_async(self, args=None, kwargs=None, **options):
        with lock:
            broker.sent.append(self.name)
            due = time.monotonic() + float(options.get("countdown") or 0)
            pending.append((due, self, tuple(args or ()), dict(kwargs or {})))

    monkeypatch.setattr(Task, "apply_async", apply_async)
    # MODE=per_sale: the path before (a message per paid sale), for the same figures.
    per_sale = os.environ.get("MODE") == "per_sale"
    if per_sale:
        monkeypatch.setattr(invoicing, "invoices_due_kick", lambda: None)
    from market.tasks import issue_order_invoice

    made: list[int] = []
    sent_in: list[float] = []
    sending = threading.Event()
    sending.set()

    def sender() -> None:
        try:
            start = time.monotonic()
            for n in range(int(rate * seconds)):
                wait = start + n / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                (order,) = sales([stalls[n % STALLS]], 1, start=n)
                made.append(order.pk)
                if per_sale:
                    issue_order_invoice.delay(order.pk)
            sent_in.append(time.monotonic() - start)
        finally:
            sending.clear()
            connections.close_all()

    def worker() -> None:
        try:
            while sending.is_set() or pending:
                now = time.monotonic()
                with lock:
                    ready = [p for p in pending if p[0] <= now]
                    for p in ready:
                        pending.remove(p)
                for _, task, args, kwargs in sorted(ready, key=lambda p: p[0]):
                    if task.name.startswith("market."):
                        task.apply(args=args, kwargs=kwargs, throw=True)
                time.sleep(0.01)
        finally:
            connections.close_all()

    started = time.monotonic()
    threads = [threading.Thread(target=sender), threading.Thread(target=worker)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    took = time.monotonic() - started
    invoiced = dict(
        Invoice.objects.filter(
            source_ref__in=Order.objects.filter(pk__in=made).values("number")
        ).values_list("source_ref", "issued_at")
    )
    lags = sorted(
        (invoiced[number] - paid).total_seconds()
        for number, paid in Order.objects.filter(pk__in=made).values_list("number", "paid_at")
    )
    assert len(lags) == len(made)
    kinds = Counter(broker.sent)
    print(
        f"\n{connection.vendor} {'one per sale' if per_sale else 'batches'}: "
        f"{len(made)} sales at {rate:g}/s offered, "
        f"{len(made) / sent_in[0]:.1f}/s achieved ({sent_in[0]:.1f} s), the worker done "
        f"{took:.1f} s after the first; "
        f"messages/sale {len(broker.sent) / len(made):.3f} ({dict(kinds)}); "
        f"payment → invoice issued p50 {statistics.median(lags):.2f} s, "
        f"p95 {lags[int(0.95 * (len(lags) - 1))]:.2f} s, max {lags[-1]:.2f} s"
    )
