"""Invariant 1 under concurrency, on PostgreSQL: duplicate, reordered and simultaneous
notifications settle each intent exactly once; refunds, cancels and expiry racing payments
never leave money half-moved."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from django.db import connections
from django.db.models import Sum
from django.test import Client

from core.errors import ApplicationError
from merchants.services import api_key_create
from payments import refunds, services
from payments.models import BankNotification, LedgerEntry, PaymentIntent
from payments.signals import payment_succeeded
from tests.factories import (
    assert_ledger_invariant,
    banknotify_deliver,
    banknotify_payload,
    member_of,
    merchant_with_account,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8
S = PaymentIntent.Status
O = BankNotification.Outcome  # noqa: E741
K = LedgerEntry.Kind


def run_concurrently(jobs: Iterable[Any], work: Callable[[Client, Any], Any]) -> list[Any]:
    """Run work(client, job) for every job from THREADS threads that start together.

    Each thread has its own test Client and database connection, closed at the end. Returns
    each job's result, or the exception it raised.
    """
    pending = list(jobs)
    lock = threading.Lock()
    results: list[Any] = []
    start = threading.Barrier(THREADS)

    def worker() -> None:
        client = Client(raise_request_exception=False)
        try:
            start.wait()
            while True:
                with lock:
                    if not pending:
                        return
                    job = pending.pop()
                try:
                    result = work(client, job)
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
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a worker hung (deadlock?)"
    return results


@pytest.fixture
def settled_signals():
    seen: list[int] = []
    lock = threading.Lock()

    def receiver(sender, intent_id, **kwargs):
        with lock:
            seen.append(intent_id)

    payment_succeeded.connect(receiver, weak=False)
    yield seen
    payment_succeeded.disconnect(receiver)


def test_it_settles_each_intent_exactly_once_under_a_storm_of_notifications(settled_signals):
    rng = random.Random(20260301)
    merchants = [merchant_with_account(), merchant_with_account()]
    intents = [
        services.intent_create(merchant=merchants[i % 2], amount=rng.randrange(10, 500) * 1_000)
        for i in range(50)
    ]
    accounts = {m.pk: m.bank_accounts.get() for m in merchants}

    def payment(intent, amount, description) -> dict[str, Any]:
        return banknotify_payload(
            account=accounts[intent.merchant_id], amount=amount, description=description
        )

    firsts = [
        payment(i, i.amount, f"MBVCB.{n}.{i.reference_code.lower()}") for n, i in enumerate(intents)
    ]
    # A second transfer (new id, 7.000 đ more) for 30 of them: whichever comes first settles.
    seconds = [payment(i, i.amount + 7_000, i.reference_code) for i in intents[:30]]
    distinct = firsts + seconds
    deliveries = distinct + rng.choices(distinct, k=200 - len(distinct))
    rng.shuffle(deliveries)

    responses = run_concurrently(deliveries, lambda client, p: banknotify_deliver(client, p))

    assert len(responses) == 200
    assert Counter(r.status_code for r in responses) == {200: 200}
    assert all(r.json()["success"] for r in responses)
    assert BankNotification.objects.count() == len(distinct)
    assert not BankNotification.objects.filter(processed_at=None).exists()
    # One ledger row per distinct notification id, whatever the duplicates.
    assert LedgerEntry.objects.count() == len(distinct)
    assert set(LedgerEntry.objects.values_list("notification__provider_id", flat=True)) == {
        p["id"] for p in distinct
    }
    for intent in PaymentIntent.objects.all():
        assert intent.status == S.SUCCEEDED
        settlement = LedgerEntry.objects.get(intent=intent, kind=K.SETTLEMENT)
        assert intent.amount_received == settlement.amount == settlement.notification.amount
        assert intent.amount_received in (intent.amount, intent.amount + 7_000)
    extra = LedgerEntry.objects.filter(kind=K.UNMATCHED)
    assert extra.count() == len(seconds)
    assert set(extra.values_list("flag", flat=True)) == {"already_paid"}
    assert set(BankNotification.objects.values_list("outcome", flat=True)) == {
        O.SETTLED,
        O.ALREADY_PAID,
    }
    settled_total = PaymentIntent.objects.aggregate(t=Sum("amount_received"))["t"]
    extra_total = extra.aggregate(t=Sum("amount"))["t"]
    assert LedgerEntry.objects.aggregate(t=Sum("amount"))["t"] == settled_total + extra_total
    assert settled_total + extra_total == sum(p["amount"] for p in distinct)
    for merchant in merchants:
        assert_ledger_invariant(merchant)
    assert sorted(settled_signals) == sorted(i.pk for i in intents)


def test_it_never_refunds_more_than_received_under_concurrent_refunds():
    merchant = merchant_with_account()
    intent = services.intent_create(merchant=merchant, amount=100_000)
    account = merchant.bank_accounts.get()
    tx_payload = banknotify_payload(
        account=account, amount=100_000, description=intent.reference_code
    )
    banknotify_deliver(Client(), tx_payload)

    def refund(_client, n):
        return refunds.intent_refund(
            intent_id=intent.pk, amount=30_000, reason=f"lần {n}", actor=None
        )

    results = run_concurrently(range(THREADS), refund)

    refused = [r for r in results if isinstance(r, ApplicationError)]
    assert len(results) - len(refused) == 3
    assert {r.code for r in refused} == {"refund_too_large"}
    intent.refresh_from_db()
    assert (intent.amount_refunded, intent.status) == (90_000, S.PARTIALLY_REFUNDED)
    assert LedgerEntry.objects.filter(kind=K.REFUND).count() == 3
    assert_ledger_invariant(merchant)


def test_it_either_cancels_or_settles_when_a_cancel_races_the_payment():
    merchant = merchant_with_account()
    account = merchant.bank_accounts.get()
    intents = [services.intent_create(merchant=merchant, amount=50_000) for _ in range(20)]
    jobs = [("cancel", i) for i in intents] + [
        ("pay", banknotify_payload(account=account, amount=50_000, description=i.reference_code))
        for i in intents
    ]
    random.Random(7).shuffle(jobs)

    def work(client, job):
        kind, what = job
        if kind == "cancel":
            try:
                services.intent_cancel(intent_id=what.pk, actor=None, actor_label="test")
            except ApplicationError as exc:
                return exc.code
            return "canceled"
        return banknotify_deliver(client, what).status_code

    results = run_concurrently(jobs, work)

    assert Counter(r for r in results if isinstance(r, int)) == {200: 20}
    for intent in PaymentIntent.objects.all():
        outcome = intent.notifications.get().outcome
        if intent.status == S.CANCELED:
            assert (outcome, intent.amount_received) == (O.AFTER_CANCEL, 0)
        else:
            assert (intent.status, outcome, intent.amount_received) == (
                S.SUCCEEDED,
                O.SETTLED,
                50_000,
            )
    canceled = PaymentIntent.objects.filter(status=S.CANCELED).count()
    # Unary + drops zero counts.
    assert Counter(r for r in results if isinstance(r, str)) == +Counter(
        {"canceled": canceled, "intent_not_cancelable": 20 - canceled}
    )
    assert_ledger_invariant(merchant)


def test_it_settles_once_when_expiry_races_the_payment():
    merchant = merchant_with_account()
    account = merchant.bank_accounts.get()
    intents = [
        services.intent_create(merchant=merchant, amount=20_000, ttl_minutes=0) for _ in range(20)
    ]
    jobs = [("expire", None)] * 4 + [
        ("pay", banknotify_payload(account=account, amount=20_000, description=i.reference_code))
        for i in intents
    ]
    random.Random(11).shuffle(jobs)

    def work(client, job):
        kind, payload = job
        if kind == "expire":
            return services.intents_expire_due()
        return banknotify_deliver(client, payload).status_code

    results = run_concurrently(jobs, work)

    assert not [r for r in results if isinstance(r, Exception)]
    assert PaymentIntent.objects.filter(status=S.SUCCEEDED).count() == 20
    outcomes = Counter(BankNotification.objects.values_list("outcome", flat=True))
    assert set(outcomes) <= {O.SETTLED, O.LATE}
    assert sum(outcomes.values()) == 20
    assert LedgerEntry.objects.filter(kind=K.SETTLEMENT).count() == 20
    assert_ledger_invariant(merchant)


def test_it_creates_one_intent_for_one_idempotency_key_sent_concurrently():
    merchant = merchant_with_account()
    _key, raw = api_key_create(actor=member_of(merchant), merchant=merchant, name="POS")
    headers = {"Authorization": f"Bearer {raw}", "Idempotency-Key": "concurrent-1"}

    def create(client, _n):
        return client.post(
            "/api/v1/payments/intents",
            {"merchant_id": merchant.pk, "amount": 150_000},
            content_type="application/json",
            headers=headers,
        )

    responses = run_concurrently(range(THREADS * 2), create)

    assert PaymentIntent.objects.count() == 1
    intent_id = PaymentIntent.objects.get().pk
    for response in responses:
        assert response.status_code in (201, 409), response.content
        if response.status_code == 201:
            assert response.json()["id"] == intent_id
        else:
            assert response.json()["error"]["code"] == "idempotency_in_progress"


def test_one_transfer_passed_on_by_three_providers_at_once_is_booked_once(settled_signals):
    """The bank's own notification service, the trader's SePay and a second connection all pass
    each transfer on, at the same moment and with retries: every sale is paid once, the ledger
    holds each transfer once, and the other copies are kept as ``same_transfer``."""
    rng = random.Random(20261205)
    merchant = merchant_with_account()
    account = merchant.bank_accounts.get()
    intents = [services.intent_create(merchant=merchant, amount=45_000) for _ in range(20)]
    copies = []
    for n, intent in enumerate(intents):
        reference = f"FT26339K{n:06d}"
        for provider, written in (
            ("bank", reference),
            ("sepay", reference.lower()),
            ("two", f"{reference[:6]}.{reference[6:]}"),
        ):
            copies.append(
                banknotify_payload(
                    account=account,
                    amount=intent.amount,
                    description=intent.reference_code,
                    provider_id=f"{provider}-{n}",
                    reference=written,
                )
            )
    deliveries = copies + rng.choices(copies, k=40)  # and some retries
    rng.shuffle(deliveries)

    responses = run_concurrently(deliveries, lambda client, p: banknotify_deliver(client, p))

    assert Counter(r.status_code for r in responses) == {200: len(deliveries)}
    assert BankNotification.objects.count() == len(copies)
    assert Counter(BankNotification.objects.values_list("outcome", flat=True)) == {
        O.SETTLED: 20,
        O.SAME_TRANSFER: 40,
    }
    assert LedgerEntry.objects.count() == 20
    assert LedgerEntry.objects.aggregate(t=Sum("amount"))["t"] == 20 * 45_000
    assert set(PaymentIntent.objects.values_list("status", flat=True)) == {S.SUCCEEDED}
    assert sorted(settled_signals) == sorted(i.pk for i in intents)
    assert_ledger_invariant(merchant)
