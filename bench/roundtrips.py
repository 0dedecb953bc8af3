"""Round trips and CPU per request of the sale and settlement paths (issue 15).

Run by hand, prints figures, asserts nothing (tests/market/test_roundtrips.py holds the maxima):

    CHOSO_VAR_DIR=$(mktemp -d) .venv/bin/python -m pytest -p no:xdist bench/roundtrips.py -q -s
    # on PostgreSQL (bin/_services.sh starts a throw-away server), with and without
    # server-side binding:
    source bin/_services.sh
    DATABASE_URL="$PG_SERVICE_URL" CHOSO_VAR_DIR=$(mktemp -d) .venv/bin/python -m pytest \\
        -p no:xdist bench/roundtrips.py -q -s
    DATABASE_URL="$PG_SERVICE_URL" DATABASE_SERVER_SIDE_BINDING=true ...

CPU is ``time.process_time`` of this process over ``ROUNDS`` requests through Django's test
client (the whole request: middleware, view, ORM, driver); the database server's own CPU is not
in it on PostgreSQL, and is on SQLite (in-process). Short and single-threaded on purpose: the
machine is shared, so this counts work rather than measuring throughput.

``test_request_path_of_the_order_post`` weighs Django's request path for the till's order POST:
the whole stack, 3 middleware, a thin view with no ninja, and the service alone, against the
bare health endpoint (bench/README.md: the thin route, measured and decided against).
"""

from __future__ import annotations

import json
import os
import statistics
import time
from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from market.models import Order
from market.sales import orders
from tests.factories import (
    ProductFactory,
    api_key_for,
    banknotify_deliver,
    banknotify_payload,
    member_of,
    merchant_with_account,
)

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = 50


@pytest.fixture(autouse=True)
def _quiet(settings, monkeypatch):
    from django.core.cache import cache

    import market.tasks
    from config.celery import app

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.RATELIMIT_ENABLE = False
    app.conf.task_always_eager = True
    # The invoice task is a worker's work, not the request's.
    monkeypatch.setattr(market.tasks.issue_order_invoice, "delay", lambda *a, **k: None)
    monkeypatch.setitem(vars(market.tasks.issue_due_invoices), "apply_async", lambda *a, **k: None)
    cache.clear()


def measure(name: str, request: Callable[[int], object], key: str = "") -> None:
    request(-1)  # warm: content types, translations, compiled templates
    with CaptureQueriesContext(connection) as captured:
        request(0)
    trips = len(captured.captured_queries)
    samples = []
    for i in range(1, ROUNDS + 1):
        start = time.process_time()
        request(i)
        samples.append((time.process_time() - start) * 1000)
    print(
        f"\n{connection.vendor:10} {name:46} {trips:3} round trips   "
        f"CPU/request median {statistics.median(samples):5.1f} ms, "
        f"mean {statistics.mean(samples):5.1f} ms"
    )
    # One result line for bench/all.sh's report, when it asks for them.
    if key and (path := os.environ.get("BENCH_RESULTS")):
        with open(path, "a", encoding="utf-8") as f:
            figures = {"path": key, "name": name, "trips": trips, "vendor": connection.vendor}
            figures |= {
                "cpu_ms": statistics.median(samples),
                "cpu_ms_mean": statistics.mean(samples),
            }
            f.write(json.dumps({"kind": "roundtrips", **figures}) + "\n")


def test_roundtrips_and_cpu(client):
    merchant = merchant_with_account(display_name="Cá tươi Bà Lan")
    account = merchant.bank_accounts.get()
    fish = ProductFactory(merchant=merchant, name="Cá thu", unit="kg", price=180_000)
    auth = {"Authorization": f"Bearer {api_key_for(merchant)}"}
    body = {"merchant_id": merchant.pk, "lines": [{"product_id": fish.pk, "quantity": "0,35"}]}

    def api_order(i: int) -> None:
        response = client.post(
            "/api/v1/market/orders",
            body,
            content_type="application/json",
            headers={**auth, "Idempotency-Key": f"bench-{i}"},
        )
        assert response.status_code == 201, response.content

    measure("POST /api/v1/market/orders + Idempotency-Key", api_order, "api_order")

    cashier = client.__class__()
    cashier.force_login(member_of(merchant, role="cashier"))

    def keypad(i: int) -> None:
        response = cashier.post(
            f"/cua-hang/{merchant.pk}/thu-tien/",
            {"amount": "150.000", "method": "bank_qr", "idempotency_key": f"tap-{i}"},
        )
        assert response.status_code == 302

    measure("POST Thu tiền (keypad sale + QR)", keypad, "keypad")

    sales: dict[int, Order] = {}
    for i in range(-1, ROUNDS + 1):
        sales[i] = orders.order_create(
            merchant=merchant,
            lines=[orders.LineInput(product_id=fish.pk, quantity=orders.parse_quantity("0,35"))],
            payment_method="bank_qr",
            actor=None,
            actor_label="bench",
        )
    payloads = {
        i: banknotify_payload(
            account=account, amount=63_000, description=f"CK {sale.intent.reference_code}"
        )
        for i, sale in sales.items()
    }

    def notify(i: int) -> None:
        assert banknotify_deliver(client, payloads[i]).json()["outcome"] == "settled"

    measure("bank notification → POS sale paid", notify, "notify")

    def again(i: int) -> None:
        assert banknotify_deliver(client, payloads[i]).json()["outcome"] == "settled"

    measure("the same notification again", again, "again")


def test_einvoice_issue_roundtrips_and_cpu(monkeypatch):
    """A signed VAT invoice: ``invoice_issue`` alone, and from a paid POS sale
    (``order_invoice_issue``). After-commit work (PDF, transmission) is a worker's: left out."""
    from einvoice import services
    from market.sales import invoicing
    from tests.einvoice.conftest import goods
    from tests.factories import enterprise_tax_code

    monkeypatch.setattr(services, "_after_issue", lambda invoice_id: None)
    merchant = merchant_with_account(
        display_name="Công ty Hải sản Sông Hàn", kind="enterprise", tax_code=enterprise_tax_code(77)
    )
    series = services.series_create(
        merchant=merchant,
        form="1",
        symbol=f"K{timezone.localdate().year % 100:02d}TAA",
        auto_issue=True,
    )
    fish = ProductFactory(merchant=merchant, name="Cá ngừ", price=236_667, tax_category="10%")

    def issue(i: int) -> None:
        services.invoice_issue(
            merchant=merchant,
            series=series,
            lines=[goods("Cá thu", "0.35", 180_000), goods("Mực", "1", 118_333, rate="10%")],
            source_ref=f"bench-{i}",
        )

    measure("einvoice invoice_issue (VAT, signed)", issue)

    import market.tasks

    monkeypatch.setattr(market.tasks.issue_order_invoice, "delay", lambda *a, **k: None)
    sales = {
        i: orders.order_create(
            merchant=merchant,
            lines=[orders.LineInput(product_id=fish.pk, quantity=orders.parse_quantity("1,5"))],
            payment_method="cash",
            actor=None,
            actor_label="bench",
        )
        for i in range(-1, ROUNDS + 1)
    }

    def order_invoice(i: int) -> None:
        assert invoicing.order_invoice_issue(order_id=sales[i].pk) is not None

    measure("einvoice order_invoice_issue (paid POS sale)", order_invoice)


def cpu_median(request: Callable[[int], object], rounds: int = ROUNDS) -> float:
    request(-1)
    samples = []
    for i in range(rounds):
        start = time.process_time()
        request(i)
        samples.append((time.process_time() - start) * 1000)
    return statistics.median(samples)


def test_request_path_of_the_order_post(client, settings):
    """Where Django's request path is the limit (issue 15): the order POST through the whole
    stack, with the middleware a thin route would keep, and as a thin view (no ninja: JSON in,
    the same auth, idempotency and service, JSON out), against the bare health endpoint and the
    service called directly. Same process, same database, interleaved."""
    import json

    from django.http import JsonResponse
    from django.test import Client, RequestFactory

    from core.idempotency import effect_key, run_idempotent
    from market.sales.api import order_out
    from merchants.selectors import Principal
    from merchants.services import api_key_authenticate

    merchant = merchant_with_account(display_name="Cá tươi Bà Lan")
    fish = ProductFactory(merchant=merchant, name="Cá thu", unit="kg", price=180_000)
    token = api_key_for(merchant)
    auth = {"Authorization": f"Bearer {token}"}
    body = {"merchant_id": merchant.pk, "lines": [{"product_id": fish.pk, "quantity": "0,35"}]}
    raw = json.dumps(body)
    full_stack = settings.MIDDLEWARE
    thin_stack = [  # what the till's POST needs: a request id, JSON errors
        "core.middleware.RequestIdMiddleware",
        "core.middleware.ApiErrorShapeMiddleware",
        "core.middleware.ApplicationErrorMiddleware",
    ]
    clients = {"full": client, "thin": None}
    factory = RequestFactory()
    counter = iter(range(10**6))

    def post(stack: str) -> Callable[[int], object]:
        def send(i: int) -> None:
            response = clients[stack].post(  # type: ignore[union-attr]
                "/api/v1/market/orders",
                raw,
                content_type="application/json",
                headers={**auth, "Idempotency-Key": f"{stack}-{next(counter)}"},
            )
            assert response.status_code == 201, response.content

        return send

    def thin_view(request) -> JsonResponse:
        key = api_key_authenticate(request.headers["Authorization"].removeprefix("Bearer "))
        assert key is not None and key.merchant_id == merchant.pk
        who = Principal(api_key=key)
        payload = json.loads(request.body)
        lines = [
            orders.LineInput(
                product_id=line["product_id"], quantity=orders.parse_quantity(line["quantity"])
            )
            for line in payload["lines"]
        ]
        idem = request.headers.get("Idempotency-Key")

        def handler():
            order = orders.order_create(
                merchant=key.merchant,
                lines=lines,
                payment_method="bank_qr",
                actor=None,
                actor_label=who.label,
                request_key=effect_key(who.label, idem),
            )
            return 201, json.loads(json.dumps(order_out(order), default=str))

        status, answer = run_idempotent(
            scope=who.label,
            key=idem,
            method="POST",
            path=request.path,
            payload=payload,
            handler=handler,
        )
        return JsonResponse(answer, status=status)

    def thin_route(i: int) -> None:
        request = factory.post(
            "/api/v1/market/orders",
            raw,
            content_type="application/json",
            headers={**auth, "Idempotency-Key": f"view-{next(counter)}"},
        )
        assert thin_view(request).status_code == 201

    def service(i: int) -> None:
        orders.order_create(
            merchant=merchant,
            lines=[orders.LineInput(product_id=fish.pk, quantity=orders.parse_quantity("0,35"))],
            payment_method="bank_qr",
            actor=None,
            actor_label="bench",
        )

    def health(i: int) -> None:
        assert client.get("/api/v1/health").status_code == 200

    def healthz(i: int) -> None:
        assert client.get("/healthz").status_code == 200

    settings.MIDDLEWARE = thin_stack
    clients["thin"] = Client()
    settings.MIDDLEWARE = full_stack
    paths = {
        "GET /healthz (answered in the 2nd middleware)": healthz,
        "GET /api/v1/health (bare: whole stack, SELECT 1)": health,
        "POST order, whole stack (as served)": post("full"),
        "POST order, 3 middleware (a thin stack)": post("thin"),
        "POST order, thin view (no ninja, no middleware)": thin_route,
        "order_create alone (the service, no request)": service,
    }
    figures: dict[str, list[float]] = {name: [] for name in paths}
    for _round in range(3):  # interleaved: the machine's load drifts
        for name, request in paths.items():
            if "3 middleware" in name:
                settings.MIDDLEWARE = thin_stack
            figures[name].append(cpu_median(request, rounds=ROUNDS // 2))
            settings.MIDDLEWARE = full_stack
    print(f"\n{connection.vendor}: CPU ms/request, median of 3 interleaved medians")
    for name, values in figures.items():
        print(f"  {name:52} {statistics.median(values):5.2f}")
