"""The web shop's checkout page (its POST) is limited per client (core.clientip)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from market.models import Order, Storefront
from tests.factories import ProductFactory, merchant_with_account

pytestmark = pytest.mark.django_db

LB = "10.0.0.5"


@pytest.fixture
def fish():
    merchant = merchant_with_account(display_name="Cá tươi Bà Lan", slug="ca-tuoi-ba-lan")
    Storefront.objects.create(merchant=merchant, is_open=True, delivers=True, delivery_fee=15_000)
    return ProductFactory(
        merchant=merchant, name="Cá thu", search_name="ca thu", unit="kg", price=180_000
    )


def shopper(ip: str, fish) -> Client:
    client = Client(REMOTE_ADDR=LB, HTTP_X_FORWARDED_FOR=ip)
    client.post("/gio-hang/them/", {"product": fish.pk, "qty": "0,5"})
    return client


def place(client: Client, fish, **overrides):
    data = {
        "name": "Trần Thị Khách",
        "phone": "0905123456",
        "fulfilment": "delivery",
        "address": "45 Lê Duẩn, Hải Châu",
        "payment_method": "bank_qr",
        **overrides,
    }
    return client.post(f"/gio-hang/{fish.merchant_id}/dat-hang/", data)


def test_checkout_is_limited_per_client_behind_the_balancer(settings, fish):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.RATE_CHECKOUT = "3/10m"
    client = shopper("198.51.100.1", fish)
    # Three submissions with a mistake (each counts), then a correct one is refused.
    for _ in range(3):
        assert place(client, fish, name="").status_code == 422

    limited = place(client, fish)

    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 601
    assert "Bạn đặt hàng quá nhiều lần trong thời gian ngắn." in limited.content.decode()
    assert not Order.objects.exists()
    assert client.get(f"/gio-hang/{fish.merchant_id}/dat-hang/").status_code == 200  # GET free
    neighbour = shopper("198.51.100.2", fish)
    placed = place(neighbour, fish)
    assert placed.status_code == 302
    order = Order.objects.get()
    assert order.total == 90_000 + 15_000 and order.lines.count() == 2
    assert Decimal(order.lines.get(name="Cá thu").quantity) == Decimal("0.5")
