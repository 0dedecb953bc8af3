"""POST /api/v1/market/applications honours Idempotency-Key: a retried submit is answered from
the saved response instead of running twice."""

from __future__ import annotations

import pytest

from core.models import IdempotencyKey
from market.models import StallApplication
from tests.factories import MarketFactory, MerchantFactory, StallFactory, api_key_for, owner_of

pytestmark = pytest.mark.django_db

URL = "/api/v1/market/applications"


@pytest.fixture
def merchant():
    return MerchantFactory()


@pytest.fixture
def market():
    market = MarketFactory()
    StallFactory(market=market, code="B-3")
    StallFactory(market=market, code="B-4")
    return market


@pytest.fixture
def signed_in(client, merchant):
    client.force_login(owner_of(merchant))
    return client


def _body(merchant, market, **overrides) -> dict:
    return {
        "merchant_id": merchant.pk,
        "market": market.slug,
        "goods_category": "seafood",
        "requested_code": "B-3",
    } | overrides


def _post(client, body: dict, key: str | None = None, **headers):
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(URL, body, content_type="application/json", headers=headers)


def test_it_replays_the_saved_answer_for_the_same_key_and_body(signed_in, merchant, market):
    first = _post(signed_in, _body(merchant, market), key="don-sap-1")
    again = _post(signed_in, _body(merchant, market), key="don-sap-1")

    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json() == first.json()
    assert StallApplication.objects.count() == 1
    assert IdempotencyKey.objects.get().state == IdempotencyKey.State.DONE


def test_it_replays_for_an_api_key_caller_too(client, merchant, market):
    auth = f"Bearer {api_key_for(merchant)}"

    first = _post(client, _body(merchant, market), key="k-1", Authorization=auth)
    again = _post(client, _body(merchant, market), key="k-1", Authorization=auth)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["id"] == first.json()["id"]
    assert StallApplication.objects.count() == 1


def test_it_refuses_the_same_key_with_a_different_body(signed_in, merchant, market):
    assert _post(signed_in, _body(merchant, market), key="don-sap-1").status_code == 201

    response = _post(signed_in, _body(merchant, market, requested_code="B-4"), key="don-sap-1")

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert StallApplication.objects.get().requested_code == "B-3"


def test_it_runs_twice_without_a_key_and_the_second_finds_the_pending_one(
    signed_in, merchant, market
):
    assert _post(signed_in, _body(merchant, market)).status_code == 201

    response = _post(signed_in, _body(merchant, market))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "application_pending"
    assert StallApplication.objects.count() == 1


def test_it_does_not_save_a_failed_attempt_so_the_caller_can_fix_and_retry(
    signed_in, merchant, market
):
    failed = _post(signed_in, _body(merchant, market, requested_code="Z-99"), key="k-2")

    fixed = _post(signed_in, _body(merchant, market), key="k-2")

    assert failed.status_code == 422
    assert fixed.status_code == 201
    assert StallApplication.objects.count() == 1


def test_it_keeps_keys_apart_for_different_callers(client, market):
    first_merchant, second_merchant = MerchantFactory(), MerchantFactory()
    client.force_login(owner_of(first_merchant))
    assert _post(client, _body(first_merchant, market), key="same").status_code == 201

    client.force_login(owner_of(second_merchant))
    response = _post(client, _body(second_merchant, market, requested_code="B-4"), key="same")

    assert response.status_code == 201
    assert StallApplication.objects.count() == 2


def test_it_refuses_an_overlong_key(signed_in, merchant, market):
    response = _post(signed_in, _body(merchant, market), key="k" * 256)

    assert response.status_code == 422
    assert not StallApplication.objects.exists()
