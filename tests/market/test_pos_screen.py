"""Issue 16 items 1 and 5 through the test client: the POS of a real stall puts the trader's
favourites first, offers one-tap amounts (the stall's usual ones, else 10.000–100.000 đ) and lists
its recent sales newest first; a product is marked a favourite from the product form."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from market.models import Order
from market.sales import orders
from market.sales.orders import LineInput
from tests.factories import ProductFactory, member_of, merchant_with_account

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant():
    return merchant_with_account(display_name="Hải sản Hùng Thọ Quang")


@pytest.fixture
def owner(merchant):
    return member_of(merchant)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def _pos(client, merchant) -> str:
    response = client.get(f"/cua-hang/{merchant.pk}/ban-hang/")
    assert response.status_code == 200
    return response.content.decode()


def _keys(page: str) -> list[str]:
    return re.findall(r'<span class="pname">([^<]+)</span>', page)


def _chips(page: str) -> list[int]:
    return [int(a) for a in re.findall(r'class="amount-chip" data-amount="(\d+)"', page)]


def _sale(merchant, owner, amount: int, *, minutes_ago: int = 0) -> Order:
    order = orders.order_create(
        merchant=merchant,
        lines=[LineInput(unit_price=amount)],
        payment_method="cash",
        actor=owner,
    )
    if minutes_ago:
        at = timezone.now() - timedelta(minutes=minutes_ago)
        Order.objects.filter(pk=order.pk).update(created_at=at)
    return order


def test_it_puts_the_favourites_first(owner_client, merchant):
    for name, favourite in [
        ("Cá cơm", False),
        ("Tôm sú", True),
        ("Ghẹ xanh", True),
        ("Bạch tuộc", False),
    ]:
        ProductFactory(merchant=merchant, name=name, pos_favourite=favourite)

    assert _keys(_pos(owner_client, merchant)) == ["Ghẹ xanh", "Tôm sú", "Bạch tuộc", "Cá cơm"]


def test_it_marks_a_favourite_key_for_the_eye_and_the_screen_reader(owner_client, merchant):
    ProductFactory(merchant=merchant, name="Ghẹ xanh", pos_favourite=True)

    page = _pos(owner_client, merchant)

    assert 'class="product-key fav"' in page
    assert '<span class="sr-only">Hay bán</span>' in page


def test_it_offers_a_search_over_a_long_catalogue_only(owner_client, merchant):
    for n in range(6):
        ProductFactory(merchant=merchant, name=f"Cá {n}")
    assert 'id="pos-search"' not in _pos(owner_client, merchant)

    ProductFactory(merchant=merchant, name="Cá thu", search_name="ca thu")
    page = _pos(owner_client, merchant)

    assert 'id="pos-search"' in page
    assert 'data-search="ca thu"' in page  # the diacritic-free key the search matches


def test_it_offers_the_usual_amounts_to_a_new_stall(owner_client, merchant):
    assert _chips(_pos(owner_client, merchant)) == [10_000, 20_000, 50_000, 100_000]


def test_it_offers_the_amounts_the_stall_keys_most_often(owner_client, merchant, owner):
    for amount, times in [(35_000, 3), (15_000, 2), (70_000, 1)]:
        for _ in range(times):
            _sale(merchant, owner, amount)
    # Older than 30 days, or a sale of several lines: not a quick amount.
    for _ in range(3):
        _sale(merchant, owner, 45_000, minutes_ago=31 * 24 * 60)
    for _ in range(2):
        orders.order_create(
            merchant=merchant,
            lines=[LineInput(unit_price=25_000), LineInput(unit_price=5_000)],
            payment_method="cash",
            actor=owner,
        )

    assert _chips(_pos(owner_client, merchant)) == [10_000, 15_000, 20_000, 35_000]


def test_it_lists_the_recent_sales_newest_first_with_their_day(owner_client, merchant, owner):
    # Made in this order, but the first one happened last (a sale's time, not its number).
    late = _sale(merchant, owner, 30_000)
    yesterday = _sale(merchant, owner, 20_000, minutes_ago=24 * 60)
    early = _sale(merchant, owner, 10_000, minutes_ago=5)

    page = _pos(owner_client, merchant)
    recent = page[page.index('id="recent"') :]
    order_ids = [int(i) for i in re.findall(r"/don/(\d+)/", recent)]

    assert order_ids == [late.pk, early.pk, yesterday.pk]
    day = timezone.localtime(Order.objects.get(pk=yesterday.pk).created_at)
    assert f"{day:%d/%m} " in recent  # an earlier day's sale says which day


def test_the_owner_marks_a_product_as_a_favourite_from_the_product_form(owner_client, merchant):
    fish = ProductFactory(merchant=merchant, name="Cá thu", unit="kg", price=180_000)
    url = f"/cua-hang/{merchant.pk}/san-pham/{fish.pk}/"
    assert "Hay bán" in owner_client.get(url).content.decode()

    response = owner_client.post(
        url,
        {
            "name": "Cá thu",
            "unit": "kg",
            "price": "180000",
            "sold_by_weight": "on",
            "tax_category": "KCT",
            "is_active": "on",
            "in_stock": "on",
            "pos_favourite": "on",
        },
    )

    assert response.status_code == 302
    fish.refresh_from_db()
    assert fish.pos_favourite
    catalogue = owner_client.get(f"/cua-hang/{merchant.pk}/").content.decode()
    assert "★ Hay bán" in catalogue
