"""Issue 16: cash sales the POS kept while offline, sent later by the phone's queue.

The queue POSTs each sale to its POS with its idempotency key, the phone's time of the sale
(``sold_at``, ms since 1970) and ``Accept: application/json``. A sale is made once per key
whatever happens to the sync, and is booked at the phone's time within bounds (never in the
future, at most a day back, never into a period already closed).
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from core.models import AuditLog
from market.figures import closing
from market.models import Order
from market.sales import offline_sales, orders
from market.sales.orders import LineInput
from payments.models import PaymentIntent
from tests.factories import ProductFactory, member_of, merchant_with_account

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def merchant():
    return merchant_with_account(display_name="Rau Cô Ba")


@pytest.fixture
def greens(merchant):
    return ProductFactory(
        merchant=merchant, name="Rau muống", unit="bó", price=10_000, sold_by_weight=False
    )


@pytest.fixture
def cashier(merchant):
    return member_of(merchant, role="cashier")


@pytest.fixture
def cashier_client(client, cashier):
    client.force_login(cashier)
    return client


def millis(when: datetime) -> str:
    return str(int(when.timestamp() * 1000))


def sync(client, merchant, cart, *, key="offline-1", sold_at: str | None = None, method="cash"):
    data = {"cart": json.dumps(cart), "method": method, "idempotency_key": key}
    if sold_at is not None:
        data["sold_at"] = sold_at
    return client.post(
        f"/cua-hang/{merchant.pk}/ban-hang/", data, headers={"Accept": "application/json"}
    )


def test_it_books_an_offline_cash_sale_at_the_time_it_was_made(cashier_client, merchant, greens):
    made = timezone.now().replace(microsecond=0) - timedelta(minutes=20)

    response = sync(
        cashier_client, merchant, [{"product": greens.pk, "qty": 2}], sold_at=millis(made)
    )

    assert response.status_code == 201
    order = Order.objects.get()
    assert response.json() == {
        "order_id": order.pk,
        "url": f"/cua-hang/{merchant.pk}/don/{order.pk}/",
    }
    assert order.status == Order.Status.PAID
    assert order.payment_method == Order.PaymentMethod.CASH
    assert order.total == order.amount_paid == 20_000
    assert order.paid_at == made  # the 09:00 takings, not the 09:20 sync
    assert order.intent.paid_via == PaymentIntent.PaidVia.CASH
    assert order.intent.succeeded_at == made
    audit = AuditLog.objects.get(action="order.create")
    assert audit.data["sold_at"] == made.isoformat()


def test_it_makes_one_sale_when_the_sync_is_sent_again(cashier_client, merchant, greens):
    cart = [{"product": greens.pk, "qty": 1}]
    made = millis(timezone.now() - timedelta(minutes=5))

    first = sync(cashier_client, merchant, cart, sold_at=made)
    again = sync(cashier_client, merchant, cart, sold_at=made)

    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert Order.objects.count() == 1
    assert PaymentIntent.objects.count() == 1


def test_a_sale_whose_answer_was_lost_is_not_made_again_by_the_sync(
    cashier_client, merchant, greens
):
    """The POS sent the cash sale (the server made it) and never heard back, so the phone queued
    it with the same key: its sync, carrying the phone's time, is the same request."""
    cart = [{"product": greens.pk, "qty": 3}]
    lost = cashier_client.post(
        f"/cua-hang/{merchant.pk}/ban-hang/",
        {"cart": json.dumps(cart), "method": "cash", "idempotency_key": "lost-answer"},
    )
    assert lost.status_code == 302

    synced = sync(cashier_client, merchant, cart, key="lost-answer", sold_at=millis(timezone.now()))

    assert synced.status_code == 201
    assert Order.objects.get().pk == synced.json()["order_id"]


@pytest.mark.parametrize(
    "claimed",
    [timedelta(hours=2), -timedelta(hours=25), -timedelta(days=400)],
    ids=["in-the-future", "more-than-a-day-back", "a-clock-a-year-behind"],
)
def test_it_books_a_time_out_of_bounds_when_the_sale_arrives(
    cashier_client, merchant, greens, claimed
):
    before = timezone.now()

    response = sync(
        cashier_client,
        merchant,
        [{"product": greens.pk, "qty": 1}],
        sold_at=millis(before + claimed),
    )

    assert response.status_code == 201
    order = Order.objects.get()
    assert before <= order.paid_at <= timezone.now()


def test_it_never_books_a_sale_into_a_period_already_closed(cashier_client, merchant, greens):
    owner = member_of(merchant, role="owner")
    made = timezone.now() - timedelta(minutes=30)
    close = closing.daily_close_create(merchant=merchant, cash_counted=0, actor=owner)

    response = sync(
        cashier_client, merchant, [{"product": greens.pk, "qty": 1}], sold_at=millis(made)
    )

    assert response.status_code == 201
    order = Order.objects.get()
    assert order.paid_at > close.period_end  # in the open period: the next close counts it


def test_a_close_made_while_the_sale_arrives_still_counts_it_once(merchant, greens, cashier):
    """The bound is checked again under the merchant's lock, in the money's transaction: a
    close committed after the sale's time was accepted cannot leave the sale in its period."""
    owner = member_of(merchant, role="owner")
    accepted = offline_sales.sale_time(
        merchant_id=merchant.pk, claimed=timezone.now() - timedelta(minutes=10)
    )
    close = closing.daily_close_create(merchant=merchant, cash_counted=0, actor=owner)

    order = orders.order_create(
        merchant=merchant,
        lines=[LineInput(product_id=greens.pk)],
        payment_method="cash",
        actor=cashier,
        paid_at=accepted,
    )

    assert order.paid_at > close.period_end


def test_a_time_on_a_qr_sale_is_ignored(cashier_client, merchant, greens):
    response = sync(
        cashier_client,
        merchant,
        [{"product": greens.pk, "qty": 1}],
        method="bank_qr",
        sold_at=millis(timezone.now() - timedelta(hours=1)),
    )

    assert response.status_code == 201
    order = Order.objects.get()
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert order.paid_at is None


@pytest.mark.parametrize("bad", ["yesterday", "-5", "1e12", "9" * 20, "١٢٣"])
def test_it_refuses_a_time_it_cannot_read_with_a_clear_message(
    cashier_client, merchant, greens, bad
):
    response = sync(cashier_client, merchant, [{"product": greens.pk, "qty": 1}], sold_at=bad)

    assert response.status_code == 422
    assert "Thời điểm bán không hợp lệ" in response.json()["error"]["message"]
    assert not Order.objects.exists()


def test_a_refused_sale_answers_its_reason_to_the_queue(cashier_client, merchant, greens):
    greens_id = greens.pk
    greens.delete()

    response = sync(
        cashier_client, merchant, [{"product": greens_id, "qty": 1}], sold_at=millis(timezone.now())
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unknown_product" and error["message"]
    assert not Order.objects.exists()


def test_it_answers_in_english_when_the_trader_reads_english(cashier_client, merchant):
    cashier_client.cookies["django_language"] = "en"

    response = sync(cashier_client, merchant, [], sold_at="soon")

    assert response.status_code == 422
    assert "time of the sale" in response.json()["error"]["message"]


def test_another_merchants_trader_gets_404_and_no_sale(client, merchant, greens):
    other = merchant_with_account()
    client.force_login(member_of(other, role="owner"))

    response = sync(
        client, merchant, [{"product": greens.pk, "qty": 1}], sold_at=millis(timezone.now())
    )

    assert response.status_code == 404
    assert not Order.objects.exists()


@pytest.mark.postgres
def test_two_tabs_syncing_at_once_make_each_sale_once(merchant, greens, cashier):
    """Two tabs of the phone send the same queue at the same moment: each sale once."""
    from django.test import Client

    made = millis(timezone.now() - timedelta(minutes=3))
    answers: list[int] = []
    barrier = threading.Barrier(2)

    def tab() -> None:
        client = Client()
        client.force_login(cashier)
        try:
            barrier.wait()
            for key in ("s-1", "s-2"):
                status = 409
                while status == 409:  # in flight in the other tab: the queue tries again
                    status = sync(
                        client, merchant, [{"product": greens.pk, "qty": 1}], key=key, sold_at=made
                    ).status_code
                answers.append(status)
        finally:
            connection.close()

    threads = [threading.Thread(target=tab) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [201] * 4
    assert Order.objects.filter(status=Order.Status.PAID).count() == 2
