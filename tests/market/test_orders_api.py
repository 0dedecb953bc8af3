"""The sales API: create (idempotent), read, pay again, cancel, refund, receipts; who may."""

from __future__ import annotations

import pytest

from market.models import Order
from tests.factories import (
    ProductFactory,
    api_key_for,
    banknotify_deliver,
    banknotify_payload,
    member_of,
    merchant_with_account,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def merchant():
    return merchant_with_account(display_name="Cá tươi Bà Lan")


@pytest.fixture
def fish(merchant):
    return ProductFactory(merchant=merchant, name="Cá thu", unit="kg", price=180_000)


@pytest.fixture
def auth(merchant):
    return {"Authorization": f"Bearer {api_key_for(merchant)}"}


def create(client, headers, body, key=None):
    extra = {"Idempotency-Key": key} if key else {}
    return client.post(
        "/api/v1/market/orders", body, content_type="application/json", headers={**headers, **extra}
    )


def test_an_integration_creates_a_weighed_sale_and_gets_its_qr(client, merchant, fish, auth):
    response = create(
        client,
        auth,
        {"merchant_id": merchant.pk, "lines": [{"product_id": fish.pk, "quantity": "0,35"}]},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["total"] == 63_000
    assert body["status"] == "awaiting_payment"
    assert body["lines"][0]["amount"] == 63_000
    assert body["payment"]["qr_payload"].startswith("000201")
    assert body["payment"]["reference_code"].startswith("CS")


def test_the_same_idempotency_key_gives_the_same_order(client, merchant, fish, auth):
    body = {"merchant_id": merchant.pk, "lines": [{"unit_price": 45_000}], "payment_method": "cash"}
    first = create(client, auth, body, key="sale-1")
    again = create(client, auth, body, key="sale-1")
    assert first.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert Order.objects.count() == 1
    other = create(client, auth, {**body, "lines": [{"unit_price": 46_000}]}, key="sale-1")
    assert other.status_code == 422


@pytest.mark.parametrize(
    "lines",
    [
        [{"unit_price": 45_000.5}],
        [{"unit_price": "45000"}],
        [{"product_id": 1, "unit_price": 5_000}],
        [{"unit_price": 5_000, "quantity": "abc"}],
        [],
    ],
)
def test_bad_orders_get_a_4xx_with_a_message(client, merchant, auth, lines):
    response = create(client, auth, {"merchant_id": merchant.pk, "lines": lines})
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["message"]
    assert not Order.objects.exists()


def test_an_order_is_paid_by_the_bank_and_refunded_through_the_api(client, merchant, fish, auth):
    order = create(
        client,
        auth,
        {"merchant_id": merchant.pk, "lines": [{"product_id": fish.pk, "quantity": 1}]},
    ).json()
    intent = Order.objects.get(pk=order["id"]).intent
    banknotify_deliver(
        client,
        banknotify_payload(
            account=intent.bank_account, amount=180_000, description=intent.reference_code
        ),
    )
    got = client.get(f"/api/v1/market/orders/{order['id']}", headers=auth).json()
    assert (got["status"], got["amount_paid"]) == ("paid", 180_000)
    refund = client.post(
        f"/api/v1/market/orders/{order['id']}/refunds",
        {"amount": 30_000, "reason": "Cân thiếu"},
        content_type="application/json",
        headers=auth,
    )
    assert refund.status_code == 201, refund.content
    assert refund.json()["status"] == "succeeded"
    got = client.get(f"/api/v1/market/orders/{order['id']}", headers=auth).json()
    assert (got["status"], got["amount_refunded"]) == ("partially_refunded", 30_000)
    receipt = client.get(f"/api/v1/market/receipts/{got['receipt_token']}").json()
    assert (receipt["total"], receipt["amount_refunded"]) == (180_000, 30_000)


def test_orders_of_another_merchant_are_not_found(client, merchant, auth):
    theirs = merchant_with_account()
    order = create(
        client,
        {"Authorization": f"Bearer {api_key_for(theirs)}"},
        {"merchant_id": theirs.pk, "lines": [{"unit_price": 9_000}], "payment_method": "cash"},
    ).json()
    assert client.get(f"/api/v1/market/orders/{order['id']}", headers=auth).status_code == 404
    assert (
        client.get(f"/api/v1/market/orders?merchant_id={theirs.pk}", headers=auth).status_code
        == 404
    )
    response = create(client, auth, {"merchant_id": theirs.pk, "lines": [{"unit_price": 1_000}]})
    assert response.status_code == 404


def test_a_cashier_sells_but_cannot_refund(client, merchant):
    client.force_login(member_of(merchant, role="cashier"))
    order = client.post(
        "/api/v1/market/orders",
        {"merchant_id": merchant.pk, "lines": [{"unit_price": 20_000}], "payment_method": "cash"},
        content_type="application/json",
    )
    assert order.status_code == 201
    refund = client.post(
        f"/api/v1/market/orders/{order.json()['id']}/refunds",
        {"amount": 1_000, "reason": "x"},
        content_type="application/json",
    )
    assert refund.status_code == 403


def test_the_list_is_paginated_and_filtered(client, merchant, auth):
    for price in (5_000, 6_000, 7_000):
        create(
            client,
            auth,
            {
                "merchant_id": merchant.pk,
                "lines": [{"unit_price": price}],
                "payment_method": "cash",
            },
        )
    create(client, auth, {"merchant_id": merchant.pk, "lines": [{"unit_price": 8_000}]})
    page = client.get(f"/api/v1/market/orders?merchant_id={merchant.pk}&status=paid", headers=auth)
    body = page.json()
    assert body["count"] == 3
    assert [o["total"] for o in body["items"]] == [7_000, 6_000, 5_000]
