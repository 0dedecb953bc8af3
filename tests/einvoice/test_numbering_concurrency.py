"""Invariant 2 on PostgreSQL: concurrent issuing in one series gives 1..N, no gap, no duplicate;
the same source_ref issued from many threads at once is issued once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from lxml import etree

from einvoice import services, signing, xmlbuild
from einvoice.models import Invoice, SeriesCounter

from .conftest import goods, register_series, seller, vat_series

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


@pytest.fixture(autouse=True)
def _numbers_only(monkeypatch):
    """These tests are about numbers: no PDF rendering or transmission after each issue (both
    run inline in tests, and 400 PDFs would only slow the race down)."""
    monkeypatch.setattr(services, "_after_issue", lambda invoice_id: None)


def run_concurrently(jobs: list[Any], work: Callable[[Any], Any]) -> list[Any]:
    pending = list(jobs)
    lock = threading.Lock()
    results: list[Any] = []
    start = threading.Barrier(THREADS)

    def worker() -> None:
        try:
            start.wait()
            while True:
                with lock:
                    if not pending:
                        return
                    job = pending.pop()
                try:
                    result = work(job)
                except Exception as exc:
                    result = exc
                with lock:
                    results.append(result)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a worker hung (deadlock?)"
    return results


def test_it_numbers_400_concurrent_invoices_1_to_400():
    merchant = seller()
    series = vat_series(merchant)
    signing.certificate_for(merchant)

    def issue(n: int) -> int:
        invoice = services.invoice_issue(
            merchant=merchant, series=series, lines=[goods(price=1_000 + n)]
        )
        return invoice.number

    results = run_concurrently(list(range(400)), issue)

    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    assert sorted(results) == list(range(1, 401))
    rows = Invoice.objects.filter(series=series)
    assert sorted(rows.values_list("number", flat=True)) == list(range(1, 401))
    counter = SeriesCounter.objects.get(series=series, year=rows.first().year)
    assert counter.last_number == 400
    # Dates never go backwards: numbers follow time, and the counter holds the last one's.
    times = list(rows.order_by("number").values_list("issued_at", flat=True))
    assert times == sorted(times) and counter.last_issued_at == times[-1]
    for invoice in rows.iterator():
        assert xmlbuild.schema_errors(etree.fromstring(invoice.xml.encode())) == []
        assert f"<SHDon>{invoice.number}</SHDon>" in invoice.xml


def test_two_series_and_a_shared_source_ref_issue_once():
    merchant = seller()
    first = vat_series(merchant)
    second = register_series(merchant)
    signing.certificate_for(merchant)

    def issue(n: int) -> int:
        return services.invoice_issue(
            merchant=merchant,
            series=first if n % 2 else second,
            lines=[goods(rate="KCT")],
            source_ref="DH-0042",
        ).pk

    results = run_concurrently(list(range(16)), issue)

    assert [r for r in results if isinstance(r, Exception)] == []
    assert len(set(results)) == 1
    assert Invoice.objects.filter(merchant=merchant).count() == 1
    # The losing series gave its number back: whichever series won has number 1, the other none.
    assert Invoice.objects.get().number == 1
