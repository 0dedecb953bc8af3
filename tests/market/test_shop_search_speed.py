"""What keeps the shop's search and storefront fast: short words, a capped count, result
fragments cached briefly (without mixing up shoppers' CSRF tokens), and a fixed number of SQL
statements per page whatever the number of products or results."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from market.models import Storefront
from market.shop import search
from tests.factories import MarketFactory, ProductFactory, StallFactory, merchant_with_account

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def merchant():
    m = merchant_with_account(display_name="Cá tươi Bà Lan", slug="ca-tuoi-ba-lan")
    StallFactory(market=MarketFactory(name="Chợ Hàn", slug="cho-han"), code="B-07", merchant=m)
    Storefront.objects.create(merchant=m, is_open=True)
    return m


def product(merchant, name: str, **kwargs):
    from core.text import search_key

    return ProductFactory(merchant=merchant, name=name, search_name=search_key(name), **kwargs)


def names(result) -> list[str]:
    return [p.name for p in result.page.object_list]


def test_it_matches_short_words_at_word_starts_and_keeps_the_ranking(merchant):
    for name in ["Cà phê Đà Nẵng", "Bột cà phê", "Cá thu", "Cải ngọt", "Nhà cao", "Phê la"]:
        product(merchant, name)
    assert names(search.product_search("ca phe")) == ["Cà phê Đà Nẵng", "Bột cà phê"]
    assert names(search.product_search("ca")) == [
        "Cà phê Đà Nẵng",
        "Cá thu",
        "Cải ngọt",
        "Bột cà phê",
        "Nhà cao",
    ]
    assert names(search.product_search("da")) == ["Cà phê Đà Nẵng"]
    assert names(search.product_search("ao")) == []  # inside a word ("cao"): not a match


def test_it_counts_up_to_the_cap_and_says_there_are_more(merchant, monkeypatch):
    monkeypatch.setattr(search, "COUNT_CAP", 4)
    for n in range(7):
        product(merchant, f"Rau muống {n}")
    result = search.product_search("rau", per_page=2)
    assert result.page.paginator.count == 4 and result.more
    assert result.page.paginator.num_pages == 2
    assert names(result) == ["Rau muống 0", "Rau muống 1"]
    exact = search.product_search("rau muong 3")
    assert exact.page.paginator.count == 1 and not exact.more


def test_the_marketplace_says_more_than_the_cap(client, merchant, monkeypatch):
    monkeypatch.setattr(search, "COUNT_CAP", 3)
    for n in range(5):
        product(merchant, f"Rau muống {n}")
    body = client.get("/mua/", {"q": "rau"}).content.decode()
    assert "Hơn 3 kết quả cho “rau”" in body


def test_it_serves_a_repeated_search_from_the_cache_with_each_shoppers_csrf_token(
    merchant, settings, django_assert_max_num_queries
):
    settings.SHOP_RESULTS_CACHE_SECONDS = 30
    fish = product(merchant, "Cá thu", price=180_000)
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    body = first.get("/mua/", {"q": "Cá thu"}).content.decode()
    assert "180.000 đ" in body and f'value="{fish.pk}"' in body
    with django_assert_max_num_queries(1):  # the markets list: no search at all
        body = second.get("/mua/", {"q": "ca THU"}).content.decode()
    assert "Cá thu" in body and "csrf0slot" not in body and "next0slot" not in body
    assert 'name="next" value="/mua/?q=ca+THU"' in body
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    added = second.post(
        "/gio-hang/them/", {"product": fish.pk, "qty": "1", "csrfmiddlewaretoken": token}
    )
    assert added.status_code == 302


def test_the_search_page_needs_a_fixed_number_of_statements(
    client, merchant, django_assert_max_num_queries
):
    for n in range(30):
        product(merchant, f"Cá thu {n}")
    with django_assert_max_num_queries(5):  # count, page, ratings, stalls, the markets list
        body = client.get("/mua/", {"q": "ca thu"}).content.decode()
    assert "30 kết quả" in body


def test_the_storefront_needs_a_fixed_number_of_statements(
    client, merchant, django_assert_max_num_queries
):
    for n in range(60):
        product(merchant, f"Rau {n}", price=10_000 + n)
    # the merchant, its stall, its catalogue's version, the products, the rating, the reviews
    with django_assert_max_num_queries(6):
        body = client.get("/cho/cho-han/ca-tuoi-ba-lan/").content.decode()
    assert body.count('class="product-card') == 60 and "10.059 đ" in body
    with django_assert_max_num_queries(5):  # the goods from the cache: no products query
        again = client.get("/cho/cho-han/ca-tuoi-ba-lan/").content.decode()
    assert again.count('class="product-card') == 60


def test_the_storefront_shows_a_price_or_stock_change_at_once(client, merchant, settings):
    settings.SHOP_RESULTS_CACHE_SECONDS = 300
    fish = product(merchant, "Cá thu", price=180_000)
    assert "180.000 đ" in client.get("/cho/cho-han/ca-tuoi-ba-lan/").content.decode()
    fish.price, fish.in_stock = 175_000, False
    fish.save()
    body = Client().get("/cho/cho-han/ca-tuoi-ba-lan/").content.decode()
    assert "175.000 đ" in body and "180.000 đ" not in body and "Hết hàng" in body
    assert "csrf0slot" not in body
    assert f'name="product" value="{fish.pk}"' not in body  # sold out: no cart form
