"""Paid sales' automatic e-invoices go in batches, not a message per sale (issue 15).

A recording broker stands in for Redis: every ``apply_async``/``delay`` is recorded and queued,
and ``run()`` plays the worker, so the test sees the messages a burst of payments really sends
(eager mode would run each at once and hide the debounce). The database is real: the claims,
the invoice numbers and the rollbacks are the engine's own."""

from __future__ import annotations

import threading
from collections import Counter, deque
from typing import Any

import pytest
from celery.app.task import Task
from django.db import connections

from einvoice import services as einvoice
from einvoice import tasks as _einvoice_tasks  # noqa: F401 - connects transmission, as a worker does
from einvoice.models import Invoice, SeriesCounter
from market.models import Order
from market.sales import invoicing, orders
from market.sales.orders import BuyerInput, LineInput
from tests.factories import merchant_with_account

pytestmark = pytest.mark.django_db(transaction=True)


class RecordingBroker:
    """Messages as a broker would get them; ``run()`` is the worker (first in, first out)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, tuple[Any, ...], dict[str, Any], dict[str, Any]]] = []
        self.queue: deque[tuple[Task, tuple[Any, ...], dict[str, Any]]] = deque()

    def names(self) -> Counter[str]:
        return Counter(name for name, *_ in self.sent)

    def run(self) -> None:
        while self.queue:
            task, args, kwargs = self.queue.popleft()
            task.apply(args=args, kwargs=kwargs, throw=True)


@pytest.fixture
def broker(monkeypatch) -> RecordingBroker:
    recorder = RecordingBroker()

    def apply_async(self, args=None, kwargs=None, **options):
        args, kwargs = tuple(args or ()), dict(kwargs or {})
        recorder.sent.append((self.name, args, kwargs, options))
        recorder.queue.append((self, args, kwargs))

    monkeypatch.setattr(Task, "apply_async", apply_async)
    # A task's own send methods (another test's patch left behind) would bypass the recorder.
    from config.celery import app

    for task in app.tasks.values():
        for name in ("apply_async", "delay"):
            if name in vars(task):
                monkeypatch.delitem(vars(task), name)
    return recorder


@pytest.fixture
def stalls():
    """Three stalls with automatic (coded: the PDF waits for the authority's code) series."""
    found = []
    for i in range(3):
        merchant = merchant_with_account(display_name=f"Sạp {i}")
        einvoice.series_create(
            merchant=merchant, form="2", symbol=f"C26TB{'ABC'[i]}", auto_issue=True
        )
        found.append(merchant)
    return found


def cash_sale(merchant, amount: int = 50_000) -> Order:
    return orders.order_create(
        merchant=merchant,
        lines=[LineInput(unit_price=amount)],
        payment_method="cash",
        actor=None,
    )


def invoices_per_order(sales: list[Order]) -> dict[str, int]:
    counted = Counter(
        Invoice.objects.filter(source_ref__in=[o.number for o in sales]).values_list(
            "source_ref", flat=True
        )
    )
    return {o.number: counted[o.number] for o in sales}


def assert_gapless() -> None:
    for counter in SeriesCounter.objects.all():
        numbers = sorted(
            Invoice.objects.filter(series=counter.series, year=counter.year).values_list(
                "number", flat=True
            )
        )
        assert numbers == list(range(1, counter.last_number + 1))


def test_50_paid_sales_send_a_handful_of_messages_and_each_gets_one_invoice(
    broker, stalls, settings
):
    settings.INVOICE_BATCH_SIZE = 20
    sales = [cash_sale(stalls[i % 3], 10_000 + i) for i in range(50)]
    # 50 payments committed: one task queued for the burst, nothing else yet.
    assert broker.names() == {"market.issue_due_invoices": 1}
    (_, _, _, options) = broker.sent[0]
    assert options["countdown"] == settings.INVOICE_BATCH_DELAY_MS / 1000

    broker.run()

    assert set(invoices_per_order(sales).values()) == {1}
    assert_gapless()
    # Three batches of ≤ 20: one PDF and one transmission message each.
    assert broker.names() == {
        "market.issue_due_invoices": 1,
        "einvoice.render_invoice_pdfs": 3,
        "einvoice.transmit_invoices": 3,
    }
    assert len(broker.sent) / len(sales) <= 0.15  # was 3 a sale (issue, PDF, transmission)
    # Every issued invoice is in exactly one batch's PDF and transmission message.
    for name in ("einvoice.render_invoice_pdfs", "einvoice.transmit_invoices"):
        ids = [i for n, args, _, _ in broker.sent if n == name for i in args[0]]
        assert sorted(ids) == sorted(Invoice.objects.values_list("pk", flat=True))
    # No gateway here (TAXGATEWAY_URL is a closed port): each batch's transmission task tried
    # three, took the gateway for down and left the rest to einvoice.transmit_due.
    attempts = Counter(Invoice.objects.values_list("attempts", flat=True))
    assert attempts == {1: 9, 0: 41}
    # Again: nothing is due, nothing issued twice.
    assert invoicing.invoices_issue_burst() == 0
    assert invoicing.invoices_issue_due() == 0
    assert Invoice.objects.count() == 50


def test_a_sale_paid_after_the_task_started_queues_the_next(broker, stalls):
    first = [cash_sale(stalls[0]) for _ in range(3)]
    assert broker.names() == {"market.issue_due_invoices": 1}
    broker.run()
    later = cash_sale(stalls[1])
    assert broker.names()["market.issue_due_invoices"] == 2
    broker.run()
    assert set(invoices_per_order([*first, later]).values()) == {1}


def test_what_a_person_waits_for_keeps_its_own_message(broker):
    merchant = merchant_with_account()
    einvoice.series_create(merchant=merchant, form="2", symbol="C26TBM", auto_issue=False)
    sale = cash_sale(merchant)
    broker.run()
    assert not Invoice.objects.exists()  # no automatic invoicing, nobody asked
    orders.order_request_invoice(
        order_id=sale.pk, buyer=BuyerInput(name="Nguyễn Văn An", email="an@example.vn")
    )
    assert broker.sent[-1][:2] == ("market.issue_order_invoice", (sale.pk,))
    broker.run()
    assert Invoice.objects.get(source_ref=sale.number).buyer_name == "Nguyễn Văn An"


class WorkerKilled(BaseException):
    """What a killed worker looks like from inside: nothing after it runs (not an Exception,
    so no handler on the way catches it)."""


def test_a_worker_dying_mid_batch_leaves_the_whole_batch_to_the_next_task(
    broker, stalls, monkeypatch
):
    sales = [cash_sale(stalls[i % 3]) for i in range(12)]
    real = invoicing._issue_original
    calls = {"n": 0}

    def dies_at_the_seventh(order, series):
        calls["n"] += 1
        if calls["n"] == 7:
            raise WorkerKilled
        return real(order, series)

    monkeypatch.setattr(invoicing, "_issue_original", dies_at_the_seventh)
    with pytest.raises(WorkerKilled):
        broker.run()
    # Six invoices were built and numbered, then the worker died: all rolled back, no number
    # used, no PDF or transmission queued for them.
    assert not Invoice.objects.exists()
    assert all(c.last_number == 0 for c in SeriesCounter.objects.all())
    assert broker.names() == {"market.issue_due_invoices": 1}

    monkeypatch.setattr(invoicing, "_issue_original", real)
    broker.queue.clear()
    cash_sale(stalls[0])  # the next payment queues the next task; it takes the lot
    broker.run()
    assert set(invoices_per_order(sales).values()) == {1}
    assert Invoice.objects.count() == 13
    assert_gapless()


def test_without_payments_the_minute_sweep_takes_what_a_dead_worker_left(stalls, monkeypatch):
    monkeypatch.setattr(invoicing, "invoices_due_kick", lambda: None)  # the message was lost
    sales = [cash_sale(stalls[i % 3]) for i in range(5)]
    assert not Invoice.objects.exists()
    assert invoicing.invoices_issue_due() == 5
    assert set(invoices_per_order(sales).values()) == {1}


def test_one_failing_sale_does_not_stop_its_batch_and_rests_a_minute(broker, stalls, monkeypatch):
    sales = [cash_sale(stalls[0]) for _ in range(4)]
    real = invoicing._issue_original

    def refuses_the_second(order, series):
        if order.pk == sales[1].pk:
            raise ValueError("a bad line")
        return real(order, series)

    monkeypatch.setattr(invoicing, "_issue_original", refuses_the_second)
    broker.run()
    assert invoices_per_order(sales) == {
        sales[0].number: 1,
        sales[1].number: 0,
        sales[2].number: 1,
        sales[3].number: 1,
    }
    assert_gapless()
    # The batch task leaves it alone for a while (no retry on every burst); the sweep retries.
    assert invoicing.invoices_issue_burst() == 0
    monkeypatch.setattr(invoicing, "_issue_original", real)
    assert invoicing.invoices_issue_burst() == 0
    assert invoicing.invoices_issue_due() == 1
    assert Invoice.objects.get(source_ref=sales[1].number).number == 4


@pytest.mark.postgres
def test_concurrent_batches_on_postgresql_never_issue_a_sale_twice(stalls, monkeypatch, settings):
    """Eight workers sweep at once in batches of 7 over 120 sales of three stalls: SKIP LOCKED
    keeps their claims apart, merchant order keeps them from deadlocking on the series locks."""
    monkeypatch.setattr(invoicing, "invoices_due_kick", lambda: None)
    monkeypatch.setattr(einvoice, "after_issue_many", lambda ids: None)  # numbers only
    settings.INVOICE_BATCH_SIZE = 7
    sales = [cash_sale(stalls[i % 3], 10_000 + i) for i in range(120)]
    start = threading.Barrier(8)
    issued: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            start.wait()
            n = invoicing.invoices_issue_burst()
            with lock:
                issued.append(n)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a worker hung (deadlock?)"
    assert errors == []
    assert sum(issued) == 120  # each sale issued by exactly one worker
    assert set(invoices_per_order(sales).values()) == {1}
    assert_gapless()
