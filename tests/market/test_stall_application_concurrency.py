"""Races on PostgreSQL: reviewers deciding at the same moment, traders double-submitting.

Each test starts its callers together from threads (own database connections). The audit write,
the last step inside each service's transaction, is slowed down so the transactions overlap:
without row locks both callers would pass their checks before either commits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections
from django.test import Client

from core.audit import audit_record
from core.errors import ValidationFailed
from core.models import AuditLog
from market.models import GoodsCategory, Stall, StallApplication
from market.stalls import services
from tests.factories import (
    MarketFactory,
    MerchantFactory,
    StallApplicationFactory,
    StallFactory,
    owner_of,
    staff_reviewer,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

API = "/api/v1/market"


@pytest.fixture(autouse=True)
def _slow_audit(monkeypatch):
    def slow_audit_record(**kwargs: Any) -> AuditLog:
        time.sleep(0.3)
        return audit_record(**kwargs)

    monkeypatch.setattr(services, "audit_record", slow_audit_record)


def _race(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls at the same moment, one thread each; each result or the exception raised."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a racer hung (deadlock?)"
    return results


def _approve(reviewer, application_id: int) -> Callable[[], StallApplication]:
    return lambda: services.stall_application_approve(actor=reviewer, application_id=application_id)


def test_it_gives_a_contested_stall_to_exactly_one_of_two_applications() -> None:
    market = MarketFactory()
    stall = StallFactory(market=market, code="B-3")
    first = StallApplicationFactory(market=market, requested_code="B-3")
    second = StallApplicationFactory(market=market, requested_code="B-3")

    results = _race(_approve(staff_reviewer(), first.pk), _approve(staff_reviewer(), second.pk))

    approved = [r for r in results if isinstance(r, StallApplication)]
    refused = [r for r in results if isinstance(r, ValidationFailed)]
    assert (len(approved), len(refused)) == (1, 1), results
    assert "stall_code" in refused[0].fields
    stall.refresh_from_db()
    assert stall.merchant_id == approved[0].merchant_id
    assert Stall.objects.filter(merchant__isnull=False).count() == 1
    statuses = sorted(StallApplication.objects.values_list("status", flat=True))
    assert statuses == ["approved", "pending"]
    assert AuditLog.objects.filter(action="stall_application.approve").count() == 1


def test_it_answers_422_over_http_to_the_reviewer_who_lost_the_stall() -> None:
    market = MarketFactory()
    StallFactory(market=market, code="B-3")
    applications = [StallApplicationFactory(market=market, requested_code="B-3") for _ in range(2)]
    clients = []
    for _ in applications:
        client = Client()
        client.force_login(staff_reviewer())
        clients.append(client)

    def approve(client: Client, application: StallApplication) -> Callable[[], Any]:
        url = f"{API}/review/applications/{application.pk}/approve"
        return lambda: client.post(url, {}, content_type="application/json")

    responses = _race(*(approve(c, a) for c, a in zip(clients, applications, strict=True)))

    assert sorted(r.status_code for r in responses) == [200, 422]
    assert Stall.objects.get(code="B-3").merchant_id is not None


def test_it_gives_two_assign_me_one_applications_different_free_stalls() -> None:
    market = MarketFactory()
    StallFactory(market=market, code="B-1", goods_category=GoodsCategory.SEAFOOD)
    StallFactory(market=market, code="B-2", goods_category=GoodsCategory.SEAFOOD)
    first = StallApplicationFactory(market=market, goods_category=GoodsCategory.SEAFOOD)
    second = StallApplicationFactory(market=market, goods_category=GoodsCategory.SEAFOOD)

    results = _race(_approve(staff_reviewer(), first.pk), _approve(staff_reviewer(), second.pk))

    assert all(isinstance(r, StallApplication) for r in results), results
    taken = dict(Stall.objects.values_list("code", "merchant_id"))
    assert sorted(taken.values()) == sorted([first.merchant_id, second.merchant_id])


def test_it_refuses_the_second_assign_me_one_when_one_stall_is_left() -> None:
    market = MarketFactory()
    StallFactory(market=market, code="B-1")
    first = StallApplicationFactory(market=market)
    second = StallApplicationFactory(market=market)

    results = _race(_approve(staff_reviewer(), first.pk), _approve(staff_reviewer(), second.pk))

    assert sorted(type(r).__name__ for r in results) == ["StallApplication", "ValidationFailed"]
    assert Stall.objects.get().merchant_id in {first.merchant_id, second.merchant_id}


def test_it_approves_one_application_once_when_two_reviewers_click_together() -> None:
    market = MarketFactory()
    StallFactory(market=market, code="B-3")
    StallFactory(market=market, code="B-4")
    application = StallApplicationFactory(market=market)

    results = _race(
        _approve(staff_reviewer(), application.pk), _approve(staff_reviewer(), application.pk)
    )

    assert all(isinstance(r, StallApplication) for r in results), results
    assert {r.stall_id for r in results} == {results[0].stall_id}
    assert Stall.objects.filter(merchant=application.merchant).count() == 1
    assert AuditLog.objects.filter(action="stall_application.approve").count() == 1


def test_it_settles_approve_against_reject_with_one_decision() -> None:
    market = MarketFactory()
    StallFactory(market=market, code="B-3")
    application = StallApplicationFactory(market=market)
    rejecting = staff_reviewer()

    results = _race(
        _approve(staff_reviewer(), application.pk),
        lambda: services.stall_application_reject(
            actor=rejecting, application_id=application.pk, reason="Thiếu giấy tờ"
        ),
    )

    kinds = sorted(type(r).__name__ for r in results)
    assert kinds == ["Conflict", "StallApplication"], results
    application.refresh_from_db()
    decided = AuditLog.objects.filter(action__startswith="stall_application.").exclude(
        action="stall_application.submit"
    )
    assert decided.count() == 1
    has_stall = Stall.objects.filter(merchant=application.merchant).exists()
    assert has_stall == (application.status == StallApplication.Status.APPROVED)


def test_it_keeps_one_pending_application_when_a_trader_double_submits() -> None:
    market = MarketFactory()
    merchant = MerchantFactory()
    owner = owner_of(merchant)
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(owner)
    body = {"merchant_id": merchant.pk, "market": market.slug, "goods_category": "seafood"}

    responses = _race(
        *(
            (lambda c=c: c.post(f"{API}/applications", body, content_type="application/json"))
            for c in clients
        )
    )

    assert sorted(r.status_code for r in responses) == [201, 409]
    assert StallApplication.objects.count() == 1


def test_it_runs_a_submit_once_for_two_requests_with_the_same_idempotency_key() -> None:
    market = MarketFactory()
    merchant = MerchantFactory()
    owner = owner_of(merchant)
    clients = [Client(), Client()]
    for client in clients:
        client.force_login(owner)
    body = {"merchant_id": merchant.pk, "market": market.slug, "goods_category": "seafood"}

    def submit(client: Client) -> Callable[[], Any]:
        return lambda: client.post(
            f"{API}/applications",
            body,
            content_type="application/json",
            headers={"Idempotency-Key": "don-sap-cung-luc"},
        )

    responses = _race(*(submit(c) for c in clients))

    assert StallApplication.objects.count() == 1
    assert 201 in [r.status_code for r in responses]
    for response in responses:
        if response.status_code != 201:
            assert response.status_code == 409
            assert response.json()["error"]["code"] == "idempotency_in_progress"
