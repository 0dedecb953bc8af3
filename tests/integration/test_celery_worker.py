"""The production shape of background work: a real Celery worker (its own process) takes tasks
from Redis and writes to the same PostgreSQL. A paid sale of an auto-invoicing stall is queued
for its e-invoice by the payment's request; the worker issues it and renders its PDF."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from einvoice import services as einvoice
from einvoice.models import Invoice
from market.sales import orders
from market.sales.orders import LineInput
from tests.factories import (
    ProductFactory,
    banknotify_deliver,
    banknotify_payload,
    merchant_with_account,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    """The test database this process uses, for the worker to use too."""
    s = connection.settings_dict
    user = quote(s["USER"] or "")
    password = f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else ""
    host = s["HOST"] or "127.0.0.1"
    port = f":{s['PORT']}" if s["PORT"] else ""
    return f"postgres://{user}{password}@{host}{port}/{s['NAME']}"


@pytest.fixture
def worker(tmp_path):
    """A Celery worker on the test's Redis and PostgreSQL; tasks are really queued."""
    from config.celery import app

    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CHOSO_VAR_DIR": str(tmp_path / "var"),
        "MEDIA_ROOT": str(tmp_path / "media"),
        "TAXGATEWAY_URL": "http://127.0.0.1:9",  # no transmission in this test
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-P",
            "solo",
            "-l",
            "warning",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
    )
    saved = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5):
            assert process.poll() is None, "the Celery worker exited"
            assert time.monotonic() < deadline, "the Celery worker did not answer in 60 s"
        yield process
    finally:
        app.conf.task_always_eager = saved
        process.terminate()
        process.wait(timeout=30)


def test_a_worker_issues_the_invoice_of_a_paid_sale(client, worker, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    merchant = merchant_with_account(display_name="Cá tươi Bà Lan")
    einvoice.series_create(
        merchant=merchant, form="2", symbol="K26TBL", auto_issue=True
    )  # uncoded: a C… invoice waits for the tax authority's code before its PDF
    fish = ProductFactory(merchant=merchant, name="Cá thu", unit="kg", price=180_000)
    order = orders.order_create(
        merchant=merchant,
        lines=[LineInput(product_id=fish.pk, quantity=Decimal("0.5"))],
        payment_method="bank_qr",
        actor=None,
    )
    banknotify_deliver(
        client,
        banknotify_payload(
            account=order.intent.bank_account,
            amount=90_000,
            description=order.intent.reference_code,
        ),
    )
    order.refresh_from_db()
    assert order.status == "paid"  # settled in the request; the invoice is the worker's job

    deadline = time.monotonic() + 60
    invoice = None
    while time.monotonic() < deadline:
        invoice = Invoice.objects.filter(source_ref=order.number).first()
        if invoice is not None and invoice.pdf:
            break
        time.sleep(0.2)
    assert invoice is not None, "the worker did not issue the invoice"
    assert invoice.total_payable == 90_000
    assert invoice.pdf and invoice.pdf_sha256, "the worker did not render the PDF"
