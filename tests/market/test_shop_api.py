"""The shop API at /api/v1/shop/: public reads with caching headers and diacritic-free search,
the shopper's stateless checkout (Idempotency-Key, price change → 409 with the new total), the
order by its token, reviews, and the merchant's online orders and quick catalogue changes."""

from __future__ import annotations

import unicodedata
from datetime import time

import pytest
from django.utils import timezone

from market.models import FulfilmentStatus, Order, Review
from market.shop import storefront as shop
from merchants.models import Product
from tests.factories import (
    MarketFactory,
    ProductFactory,
    StallFactory,
    api_key_for,
    member_of,
    merchant_with_account,
)
from tests.market.test_online_merchant import open_shop, pay_by_bank

pytestmark = pytest.mark.django_db(transaction=True)
API = "/api/v1/shop"
FS = FulfilmentStatus


@pytest.fixture
def market():
    return MarketFactory(name="Chợ Hàn", slug="cho-han")


@pytest.fixture
def merchant(market):
    m = merchant_with_account(display_name="Hải sản Hùng", slug="hai-san-hung")
    StallFactory(market=market, code="B-2", merchant=m)
    open_shop(m, tagline="Cá tươi", delivers=True, delivery_fee=15_000, delivery_area="Hải Châu")
    return m


@pytest.fixture
def fish(merchant):
    return ProductFactory(
        merchant=merchant, name="Cá thu", search_name="ca thu", price=180_000, sold_by_weight=True
    )


@pytest.fixture
def greens(merchant):
    return ProductFactory(
        merchant=merchant,
        name="Rau muống",
        search_name="rau muong",
        unit="bó",
        price=10_000,
        sold_by_weight=False,
    )


def slot(merchant) -> str:
    return shop.pickup_slots(shop.storefront_of(merchant))[0].isoformat()


def body(merchant, fish, **overrides) -> dict:
    return {
        "merchant_id": merchant.pk,
        "lines": [{"product_id": fish.pk, "quantity": "0,5"}],
        "name": "Lê Thị Mai",
        "phone": "0905 222 333",
        "fulfilment": "pickup",
        "pickup_at": slot(merchant),
        "payment_method": "bank_qr",
        "expected_total": 90_000,
        **overrides,
    }


def checkout(client, payload, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(f"{API}/checkout", payload, content_type="application/json", headers=headers)


# --- public reads -------------------------------------------------------------------------------


def test_it_lists_markets_with_open_stalls_and_a_cache_header(client, merchant, market):
    response = client.get(f"{API}/markets")

    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=60"
    body = response.json()
    assert body["count"] == 1 and body["page"] == 1
    assert body["items"] == [
        {
            "slug": "cho-han",
            "name": "Chợ Hàn",
            "district": "Hải Châu",
            "address": "Đà Nẵng",
            "open_merchants": 1,
        }
    ]


def test_it_lists_open_storefronts_with_their_rating(client, merchant, market):
    closed = merchant_with_account(display_name="Sạp đóng")
    StallFactory(market=market, merchant=closed)

    response = client.get(f"{API}/merchants", {"market": "cho-han"})

    assert response["Cache-Control"] == "public, max-age=60"
    items = response.json()["items"]
    assert [m["slug"] for m in items] == ["hai-san-hung"]
    assert items[0]["rating"] is None and items[0]["review_count"] == 0
    assert (items[0]["market"], items[0]["stall"], items[0]["delivery_fee"]) == (
        "cho-han",
        "B-2",
        15_000,
    )
    assert client.get(f"{API}/merchants", {"market": "cho-con"}).json()["count"] == 0


def test_it_shows_one_storefront_with_products_and_pickup_times(client, merchant, fish, greens):
    response = client.get(f"{API}/merchants/hai-san-hung")

    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=60"
    body = response.json()
    assert [p["name"] for p in body["products"]] == ["Cá thu", "Rau muống"]
    assert body["pickup_slots"][0] == slot(merchant)
    assert body["tagline"] == "Cá tươi"


def test_a_closed_or_unknown_storefront_is_404(client, merchant):
    front = shop.storefront_of(merchant)
    front.is_open = False
    front.save()

    for slug in ("hai-san-hung", "khong-co"):
        response = client.get(f"{API}/merchants/{slug}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
        assert "public" not in response.get("Cache-Control", "")


@pytest.mark.parametrize(
    "query",
    [
        "ca thu",
        "Cá thu",
        unicodedata.normalize("NFD", "Cá thu"),
        "CÁ THU",
        "  ca   THU ",
        "thu",
    ],
)
def test_search_ignores_diacritics_case_and_normal_form(client, fish, greens, query):
    response = client.get(f"{API}/products", {"q": query})

    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=60"
    body = response.json()
    assert [p["name"] for p in body["items"]] == ["Cá thu"]
    assert body["query"] == "ca thu" or body["query"] == "thu"
    assert body["items"][0]["merchant_slug"] == "hai-san-hung"


def test_search_filters_by_market_and_category(client, fish):
    assert client.get(f"{API}/products", {"q": "ca", "market": "cho-han"}).json()["count"] == 1
    assert client.get(f"{API}/products", {"q": "ca", "market": "cho-con"}).json()["count"] == 0
    assert client.get(f"{API}/products", {"category": "seafood"}).json()["count"] == 1
    assert client.get(f"{API}/products", {"category": "meat"}).json()["count"] == 0


def test_search_is_paginated(client, merchant):
    for n in range(25):
        ProductFactory(merchant=merchant, name=f"Cá {n:02d}", search_name=f"ca {n:02d}")

    first = client.get(f"{API}/products", {"q": "ca"}).json()
    second = client.get(f"{API}/products", {"q": "ca", "page": 2}).json()
    beyond = client.get(f"{API}/products", {"q": "ca", "page": 99}).json()

    assert (first["count"], first["pages"], len(first["items"])) == (25, 2, 20)
    assert (second["page"], len(second["items"])) == (2, 5)
    assert beyond["page"] == 2
    assert client.get(f"{API}/products", {"page": "x"}).status_code == 422
    assert client.get(f"{API}/products", {"page": 0}).status_code == 422


def test_products_of_a_closed_storefront_are_not_found(client, merchant, fish):
    front = shop.storefront_of(merchant)
    front.is_open = False
    front.save()

    assert client.get(f"{API}/products", {"q": "ca thu"}).json()["count"] == 0


# --- checkout -----------------------------------------------------------------------------------


def test_checkout_places_an_order_with_its_payment_qr(client, merchant, fish):
    response = checkout(client, body(merchant, fish))

    assert response.status_code == 201, response.content
    order = response.json()
    assert order["total"] == 90_000
    assert order["status"] == "awaiting_payment" and order["fulfilment_status"] == ""
    assert order["payment"]["qr_payload"].startswith("000201")
    assert len(order["receipt_token"]) >= 16
    assert [(ln["name"], ln["quantity"], ln["amount"]) for ln in order["lines"]] == [
        ("Cá thu", "0.500", 90_000)
    ]
    assert order["timeline"][0]["kind"] == "placed"
    assert Order.objects.get().channel == Order.Channel.ONLINE


def test_checkout_with_delivery_adds_the_fee(client, merchant, fish):
    response = checkout(
        client,
        body(
            merchant,
            fish,
            fulfilment="delivery",
            pickup_at=None,
            address="45 Lê Duẩn, Hải Châu",
            expected_total=105_000,
        ),
    )

    assert response.status_code == 201, response.content
    assert response.json()["total"] == 105_000
    assert response.json()["delivery_address"] == "45 Lê Duẩn, Hải Châu"


def test_checkout_honours_the_idempotency_key(client, merchant, fish):
    first = checkout(client, body(merchant, fish), key="k-123")
    again = checkout(client, body(merchant, fish), key="k-123")
    other_body = checkout(client, body(merchant, fish, name="Người khác"), key="k-123")

    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert Order.objects.count() == 1
    assert other_body.status_code == 422
    assert other_body.json()["error"]["code"] == "idempotency_key_reused"


def test_a_price_change_is_409_with_the_new_total(client, merchant, fish):
    Product.objects.filter(pk=fish.pk).update(price=200_000)

    response = checkout(client, body(merchant, fish), key="k-price")

    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["code"], error["total"]) == ("price_changed", 100_000)
    assert "100.000" in error["message"]
    assert not Order.objects.exists()
    # Confirmed at the new total, with the same key: placed.
    retry = checkout(client, body(merchant, fish, expected_total=100_000), key="k-price")
    assert retry.status_code == 201


@pytest.mark.parametrize(
    ("overrides", "status", "field"),
    [
        ({"phone": "123"}, 422, "phone"),
        ({"name": "  "}, 422, "name"),
        ({"fulfilment": "drone"}, 422, "fulfilment"),
        ({"pickup_at": "2020-01-01T05:00:00+07:00"}, 422, "pickup_at"),
        ({"pickup_at": "không phải giờ"}, 422, "pickup_at"),
        ({"payment_method": "cash"}, 422, "payment_method"),
        ({"lines": []}, 422, "lines"),
        ({"lines": [{"product_id": 999999, "quantity": "1"}]}, 422, "lines"),
        ({"lines": [{"product_id": 0, "quantity": "abc"}]}, 422, "lines"),
        ({"expected_total": "nhiều"}, 422, "expected_total"),
    ],
)
def test_bad_checkouts_are_4xx_never_500(client, merchant, fish, overrides, status, field):
    response = checkout(client, body(merchant, fish, **overrides))

    assert response.status_code == status, response.content
    assert field in response.json()["error"]["fields"]


def test_a_fraction_of_a_bundle_is_refused(client, merchant, greens):
    payload = body(merchant, greens, lines=[{"product_id": greens.pk, "quantity": "0,5"}])

    response = checkout(client, payload)

    assert response.status_code == 422
    assert "số nguyên" in response.json()["error"]["fields"]["lines"][0]


def test_another_merchants_product_cannot_be_bought_here(client, merchant, fish):
    other = merchant_with_account()
    open_shop(other)

    response = checkout(client, body(other, fish))

    assert response.status_code == 422


def test_a_closed_storefront_or_sold_out_product_is_409(client, merchant, fish):
    Product.objects.filter(pk=fish.pk).update(in_stock=False)
    sold_out = checkout(client, body(merchant, fish))
    front = shop.storefront_of(merchant)
    front.is_open = False
    front.save()
    closed = checkout(client, body(merchant, fish))
    unknown = checkout(client, body(merchant, fish, merchant_id=999999))

    assert (sold_out.status_code, sold_out.json()["error"]["code"]) == (409, "out_of_stock")
    assert (closed.status_code, closed.json()["error"]["code"]) == (409, "storefront_closed")
    assert unknown.status_code == 404


# --- the order by token, and reviews ------------------------------------------------------------


def test_the_order_by_token_follows_payment_and_progress(client, merchant, fish):
    token = checkout(client, body(merchant, fish)).json()["receipt_token"]
    pay_by_bank(client, Order.objects.get())
    order = Order.objects.get()
    shop.order_advance(order_id=order.pk, to="accepted", actor=None)

    response = client.get(f"{API}/orders/{token}")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    got = response.json()
    assert (got["status"], got["fulfilment_status"]) == ("paid", "accepted")
    assert [e["kind"] for e in got["timeline"]] == ["placed", "paid", "accepted"]
    assert got["timeline"][2]["label"] == "Người bán đã nhận đơn"
    assert client.get(f"{API}/orders/khong-co-token").status_code == 404


def test_a_stall_receipt_token_is_not_an_online_order(client, merchant, fish):
    from decimal import Decimal

    from market.sales import orders

    sale = orders.order_create(
        merchant=merchant,
        lines=[orders.LineInput(product_id=fish.pk, quantity=Decimal("1"))],
        payment_method="cash",
        actor=member_of(merchant),
    )

    assert client.get(f"{API}/orders/{sale.receipt_token}").status_code == 404


def test_a_review_is_accepted_only_once_the_order_is_completed(client, merchant, fish):
    token = checkout(client, body(merchant, fish)).json()["receipt_token"]
    url = f"{API}/orders/{token}/reviews"
    review = {"rating": 5, "text": "Cá tươi", "product_id": fish.pk}

    early = client.post(url, review, content_type="application/json")
    order = pay_by_bank(client, Order.objects.get())
    for step in ("accepted", "ready", "completed"):
        shop.order_advance(order_id=order.pk, to=step, actor=None)
    created = client.post(url, review, content_type="application/json")
    twice = client.post(url, review, content_type="application/json")
    bad = client.post(url, {"rating": "năm"}, content_type="application/json")

    assert (early.status_code, early.json()["error"]["code"]) == (409, "review_not_allowed")
    assert created.status_code == 201, created.content
    assert created.json()["rating"] == 5 and created.json()["author_name"] == "Lê Thị Mai"
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "already_reviewed")
    assert bad.status_code == 422
    assert Review.objects.count() == 1
    rated = client.get(f"{API}/merchants").json()["items"][0]
    assert (rated["rating"], rated["review_count"]) == (5.0, 1)


# --- the merchant's endpoints -------------------------------------------------------------------


def paid(client, merchant, fish) -> Order:
    checkout(client, body(merchant, fish))
    return pay_by_bank(client, Order.objects.latest("pk"))


def test_the_merchant_lists_and_advances_online_orders_with_a_key(client, merchant, fish):
    order = paid(client, merchant, fish)
    auth = {"Authorization": f"Bearer {api_key_for(merchant)}"}

    listed = client.get(f"{API}/merchant/{merchant.pk}/online-orders?status=new", headers=auth)
    moved = client.post(
        f"{API}/merchant/online-orders/{order.pk}/advance",
        {"to": "accepted"},
        content_type="application/json",
        headers=auth,
    )
    wrong = client.post(
        f"{API}/merchant/online-orders/{order.pk}/advance",
        {"to": "completed"},
        content_type="application/json",
        headers=auth,
    )
    open_now = client.get(f"{API}/merchant/{merchant.pk}/online-orders?status=open", headers=auth)
    bad_status = client.get(f"{API}/merchant/{merchant.pk}/online-orders?status=x", headers=auth)

    assert listed.status_code == 200
    assert [o["number"] for o in listed.json()["items"]] == [order.number]
    assert listed.json()["items"][0]["buyer_phone"] == "+84905222333"
    assert (moved.status_code, moved.json()["fulfilment_status"]) == (200, "accepted")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (409, "bad_transition")
    assert open_now.json()["count"] == 1
    assert bad_status.status_code == 422


def test_cancel_through_the_api_refunds(client, merchant, fish):
    order = paid(client, merchant, fish)
    client.force_login(member_of(merchant, role="owner"))

    no_reason = client.post(
        f"{API}/merchant/online-orders/{order.pk}/advance",
        {"to": "canceled"},
        content_type="application/json",
    )
    response = client.post(
        f"{API}/merchant/online-orders/{order.pk}/advance",
        {"to": "canceled", "reason": "Hết cá"},
        content_type="application/json",
    )

    assert no_reason.status_code == 422
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["amount_refunded"]) == ("refunded", 90_000)


def test_another_merchants_order_or_product_is_404(client, merchant, fish):
    order = paid(client, merchant, fish)
    other = merchant_with_account()
    auth = {"Authorization": f"Bearer {api_key_for(other)}"}

    advance = client.post(
        f"{API}/merchant/online-orders/{order.pk}/advance",
        {"to": "accepted"},
        content_type="application/json",
        headers=auth,
    )
    listing = client.get(f"{API}/merchant/{merchant.pk}/online-orders", headers=auth)
    patch = client.patch(
        f"{API}/merchant/products/{fish.pk}",
        {"in_stock": False},
        content_type="application/json",
        headers=auth,
    )

    assert (advance.status_code, listing.status_code, patch.status_code) == (404, 404, 404)
    order.refresh_from_db()
    fish.refresh_from_db()
    assert order.fulfilment_status == FS.NEW and fish.in_stock


def test_merchant_endpoints_need_a_caller(client, merchant, fish):
    assert client.get(f"{API}/merchant/{merchant.pk}/online-orders").status_code == 401
    response = client.patch(
        f"{API}/merchant/products/{fish.pk}", {"in_stock": False}, content_type="application/json"
    )
    assert response.status_code == 401


def test_a_product_is_marked_sold_out_and_repriced(client, merchant, fish):
    auth = {"Authorization": f"Bearer {api_key_for(merchant)}"}

    response = client.patch(
        f"{API}/merchant/products/{fish.pk}",
        {"in_stock": False, "price": 190_000, "description": "Cá thu Thọ Quang"},
        content_type="application/json",
        headers=auth,
    )
    bad = client.patch(
        f"{API}/merchant/products/{fish.pk}",
        {"price": -5},
        content_type="application/json",
        headers=auth,
    )

    assert response.status_code == 200, response.content
    assert (response.json()["in_stock"], response.json()["price"]) == (False, 190_000)
    fish.refresh_from_db()
    assert (fish.in_stock, fish.price, fish.description) == (False, 190_000, "Cá thu Thọ Quang")
    assert bad.status_code == 422 and "price" in bad.json()["error"]["fields"]


def test_a_cashier_may_mark_stock_but_not_change_the_price(client, merchant, fish):
    client.force_login(member_of(merchant, role="cashier"))
    url = f"{API}/merchant/products/{fish.pk}"

    stock = client.patch(url, {"in_stock": False}, content_type="application/json")
    price = client.patch(url, {"price": 1}, content_type="application/json")

    assert stock.status_code == 200
    assert price.status_code == 403
    fish.refresh_from_db()
    assert (fish.in_stock, fish.price) == (False, 180_000)


def test_the_shop_api_is_in_the_openapi_schema(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]

    for path in (
        "/api/v1/shop/markets",
        "/api/v1/shop/merchants",
        "/api/v1/shop/merchants/{slug}",
        "/api/v1/shop/products",
        "/api/v1/shop/checkout",
        "/api/v1/shop/orders/{token}",
        "/api/v1/shop/orders/{token}/reviews",
        "/api/v1/shop/merchant/{merchant_id}/online-orders",
        "/api/v1/shop/merchant/online-orders/{order_id}/advance",
        "/api/v1/shop/merchant/products/{product_id}",
    ):
        assert path in paths


def test_naive_pickup_times_are_read_in_da_nang_time(client, merchant, fish):
    at = timezone.localtime(shop.pickup_slots(shop.storefront_of(merchant))[0])
    naive = at.replace(tzinfo=None).isoformat()

    response = checkout(client, body(merchant, fish, pickup_at=naive))

    assert response.status_code == 201, response.content
    assert Order.objects.get().pickup_at == at
    assert isinstance(at.time(), time)


def test_a_checkout_from_an_exhibition_booth_is_an_expo_sale(client, merchant, fish):
    response = checkout(client, body(merchant, fish, source="expo:3:12"))

    assert response.status_code == 201
    assert response.json()["channel"] == "expo"
    assert Order.objects.get().source_ref == "expo:3:12"
