"""Database round trips of the hot paths (issue 15), counted so they cannot creep back.

What is counted: every statement the request sends, as ``CaptureQueriesContext`` sees them,
which includes BEGIN, COMMIT, ROLLBACK and SAVEPOINTs (each a round trip on PostgreSQL). A
Celery message is counted apart: in the tests tasks run inline, so the invoice task is replaced by
a recorder here and its queries (a worker's, in production) are not the request's. A paid sale
queues the batch invoice task only as the first of a burst (market/sales/invoicing.py).

The numbers each test prints (``-s``) are the ones in the README's performance notes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from market.models import Order
from market.sales import invoicing, orders
from payments.models import BankNotification, LedgerEntry
from tests.factories import (
    ProductFactory,
    api_key_for,
    banknotify_deliver,
    banknotify_payload,
    member_of,
    merchant_with_account,
)

pytestmark = pytest.mark.django_db(transaction=True)

# Maxima achieved (issue 15; before: 28, 23, 27, 20 and 4 on SQLite, counted the same way).
# A bank-QR sale: API key (1) + products with the bank account and first stall (1) + the sale.
# On PostgreSQL the sale is one statement, atomic by itself (core.db.insert_together: intent,
# order, lines, both audit rows; no BEGIN/COMMIT); on SQLite, which has no data-modifying WITH,
# BEGIN, intent, order, lines, both audit rows, COMMIT (6). An Idempotency-Key adds its INSERT
# (the lease, in autocommit) and its UPDATE (the saved answer).
ON_POSTGRESQL = connection.vendor == "postgresql"
ORDER_API_WITH_KEY_MAX = 5 if ON_POSTGRESQL else 10
ORDER_API_WITHOUT_KEY_MAX = 3 if ON_POSTGRESQL else 8
# Session, user, membership with the bank account and first stall (3) + the form key (2) + the
# sale (1 on PostgreSQL, 6 on SQLite).
QUICK_COLLECT_MAX = 6 if ON_POSTGRESQL else 11
# INSERT of the notification (autocommit) + BEGIN, notification locked with its account's
# merchant, the sale's intents locked, intent, order (one conditional UPDATE), ledger,
# notification, audit, COMMIT.
NOTIFICATION_MAX = 10
DUPLICATE_NOTIFICATION_MAX = 2  # the refused INSERT and the read of the stored row


@dataclass
class Trips:
    queries: list[str] = field(default_factory=list)
    tasks: list[tuple[str, tuple]] = field(default_factory=list)
    published: list[str] = field(default_factory=list)  # live events (a Redis PUBLISH each)

    @property
    def total(self) -> int:
        return len(self.queries)

    def report(self, name: str) -> str:
        lines = [
            f"{name}: {self.total} round trips, {len(self.tasks)} Celery messages, "
            f"{len(self.published)} live events"
        ]
        lines += [f"  {q[:150]}" for q in self.queries]
        return "\n".join(lines)


@pytest.fixture
def trips(monkeypatch) -> Trips:
    import market.tasks
    from core import live

    found = Trips()
    # setitem on the instance's __dict__: undone by deleting the key, so no bound method is left
    # behind on the task (setattr's undo would leave one, and later tests' patches of the
    # Task class would not reach this task).
    task = market.tasks.issue_order_invoice
    monkeypatch.setitem(
        vars(task), "delay", lambda *args, **kw: found.tasks.append((task.name, args))
    )
    batch = market.tasks.issue_due_invoices
    monkeypatch.setitem(
        vars(batch), "apply_async", lambda *args, **kw: found.tasks.append((batch.name, args))
    )
    publish = live.publish

    def recorded(merchant_id: int, event: dict) -> None:
        found.published.append(event.get("type", ""))
        publish(merchant_id, event)

    monkeypatch.setattr(live, "publish", recorded)
    return found


@contextmanager
def counting(found: Trips) -> Iterator[Trips]:
    """BEGIN, COMMIT and ROLLBACK are in Django's query log too (``debug_transaction``)."""
    found.tasks.clear()
    found.published.clear()
    with CaptureQueriesContext(connection) as captured:
        yield found
    found.queries = [q["sql"] for q in captured.captured_queries]


@pytest.fixture
def merchant():
    merchant = merchant_with_account(display_name="Cá tươi Bà Lan")
    return merchant


@pytest.fixture
def fish(merchant):
    return ProductFactory(merchant=merchant, name="Cá thu", unit="kg", price=180_000)


def post_order(client, merchant, fish, auth, key):
    return client.post(
        "/api/v1/market/orders",
        {"merchant_id": merchant.pk, "lines": [{"product_id": fish.pk, "quantity": "0,35"}]},
        content_type="application/json",
        headers={**auth, **({"Idempotency-Key": key} if key else {})},
    )


def test_it_creates_an_api_order_with_its_qr_in_few_round_trips(client, merchant, fish, trips):
    auth = {"Authorization": f"Bearer {api_key_for(merchant)}"}
    post_order(client, merchant, fish, auth, "warm-up")  # caches (content types, settings)

    with counting(trips):
        response = post_order(client, merchant, fish, auth, "sale-1")

    print("\n" + trips.report("POST /api/v1/market/orders with Idempotency-Key"))
    assert response.status_code == 201, response.content
    assert response.json()["payment"]["qr_payload"].startswith("000201")
    assert trips.total <= ORDER_API_WITH_KEY_MAX


def test_it_creates_an_api_order_without_a_key_in_few_round_trips(client, merchant, fish, trips):
    auth = {"Authorization": f"Bearer {api_key_for(merchant)}"}
    post_order(client, merchant, fish, auth, None)

    with counting(trips):
        response = post_order(client, merchant, fish, auth, None)

    print("\n" + trips.report("POST /api/v1/market/orders without a key"))
    assert response.status_code == 201, response.content
    assert trips.total <= ORDER_API_WITHOUT_KEY_MAX


def test_it_records_a_keypad_sale_in_few_round_trips(client, merchant, trips):
    client.force_login(member_of(merchant, role="cashier"))
    url = f"/cua-hang/{merchant.pk}/thu-tien/"
    client.post(url, {"amount": "10.000", "method": "bank_qr", "idempotency_key": "warm"})

    with counting(trips):
        response = client.post(
            url, {"amount": "150.000", "method": "bank_qr", "idempotency_key": "tap-1"}
        )

    print("\n" + trips.report("POST Thu tiền (quick_collect)"))
    assert response.status_code == 302, response.content
    order = Order.objects.get(total=150_000)
    assert response.url == f"/cua-hang/{merchant.pk}/thu-tien/{order.intent_id}/"
    assert trips.total <= QUICK_COLLECT_MAX


def _pos_sale(merchant, fish) -> Order:
    return orders.order_create(
        merchant=merchant,
        lines=[orders.LineInput(product_id=fish.pk, quantity=orders.parse_quantity("0,35"))],
        payment_method="bank_qr",
        actor=None,
        actor_label="test",
    )


def test_it_pays_a_pos_sale_from_a_bank_notification_in_few_round_trips(
    client, merchant, fish, trips
):
    account = merchant.bank_accounts.get()
    warm = _pos_sale(merchant, fish)
    banknotify_deliver(
        client,
        banknotify_payload(account=account, amount=63_000, description=warm.intent.reference_code),
    )
    sale = _pos_sale(merchant, fish)
    payload = banknotify_payload(
        account=account, amount=63_000, description=f"CK {sale.intent.reference_code}"
    )
    cache.delete(invoicing.QUEUED_KEY)  # the warm-up's batch task has started: a new burst

    with counting(trips):
        response = banknotify_deliver(client, payload)

    print("\n" + trips.report("bank notification → POS sale paid"))
    assert response.json() == {"success": True, "outcome": "settled"}
    sale.refresh_from_db()
    assert sale.status == Order.Status.PAID and sale.amount_paid == 63_000
    assert trips.total <= NOTIFICATION_MAX
    # After commit: one live event for the trader's screen; the first sale of a burst queues the
    # batch e-invoice task.
    assert trips.published == ["payment_succeeded"]
    assert trips.tasks == [("market.issue_due_invoices", ())]

    # The next sale paid before that task starts sends no message: the task will take it too.
    sale = _pos_sale(merchant, fish)
    with counting(trips):
        banknotify_deliver(
            client,
            banknotify_payload(
                account=account, amount=63_000, description=sale.intent.reference_code
            ),
        )
    assert trips.published == ["payment_succeeded"] and trips.tasks == []
    assert trips.total <= NOTIFICATION_MAX


def test_it_acknowledges_a_duplicate_notification_in_few_round_trips(client, merchant, fish, trips):
    account = merchant.bank_accounts.get()
    sale = _pos_sale(merchant, fish)
    payload = banknotify_payload(
        account=account, amount=63_000, description=sale.intent.reference_code
    )
    banknotify_deliver(client, payload)

    with counting(trips):
        response = banknotify_deliver(client, json.dumps(payload))

    print("\n" + trips.report("bank notification delivered again"))
    assert response.json() == {"success": True, "outcome": "settled"}
    assert BankNotification.objects.count() == 1 and LedgerEntry.objects.count() == 1
    assert trips.total <= DUPLICATE_NOTIFICATION_MAX
    assert trips.published == [] and trips.tasks == []
