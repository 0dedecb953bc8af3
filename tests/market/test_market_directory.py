"""Public reads: the list of markets and each market's stall directory (API and pages)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from market.models import GoodsCategory
from tests.factories import MarketFactory, MerchantFactory, StallApplicationFactory, StallFactory

pytestmark = pytest.mark.django_db

API = "/api/v1/market"


def _by_slug(rows: list[dict], slug: str) -> dict:
    [row] = [r for r in rows if r["slug"] == slug]
    return row


def test_it_lists_markets_with_stall_and_occupied_counts(client) -> None:
    han = MarketFactory(name="Chợ Hàn", slug="cho-han")
    StallFactory.create_batch(3, market=han)
    StallFactory(market=han, merchant=MerchantFactory())
    con = MarketFactory(name="Chợ Cồn", slug="cho-con")

    response = client.get(f"{API}/markets")

    assert response.status_code == 200
    rows = response.json()
    assert _by_slug(rows, "cho-han") | {"id": 0} == {
        "id": 0,
        "name": "Chợ Hàn",
        "slug": "cho-han",
        "district": han.district,
        "address": han.address,
        "stall_count": 4,
        "occupied_count": 1,
    }
    assert _by_slug(rows, con.slug)["stall_count"] == 0
    assert _by_slug(rows, con.slug)["occupied_count"] == 0


def test_it_does_not_multiply_counts_by_the_applications_of_a_market(client) -> None:
    market = MarketFactory()
    StallFactory.create_batch(2, market=market)
    StallFactory(market=market, merchant=MerchantFactory())
    StallApplicationFactory.create_batch(3, market=market)

    row = _by_slug(client.get(f"{API}/markets").json(), market.slug)

    assert (row["stall_count"], row["occupied_count"]) == (3, 1)


def test_it_leaves_inactive_markets_out_of_the_list(client) -> None:
    closed = MarketFactory(is_active=False)

    slugs = [m["slug"] for m in client.get(f"{API}/markets").json()]

    assert closed.slug not in slugs


def test_it_lists_stalls_with_the_merchant_name_for_occupied_ones(client) -> None:
    market = MarketFactory()
    seller = MerchantFactory(display_name="Hải sản Hùng Thọ Quang", slug="hai-san-hung")
    StallFactory(market=market, code="B-2", merchant=seller, goods_category=GoodsCategory.SEAFOOD)
    StallFactory(market=market, code="A-1", goods_category=GoodsCategory.VEGETABLES)

    response = client.get(f"{API}/markets/{market.slug}/stalls")

    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "items": [
            {
                "code": "A-1",
                "goods_category": "vegetables",
                "merchant_name": None,
                "merchant_slug": None,
            },
            {
                "code": "B-2",
                "goods_category": "seafood",
                "merchant_name": "Hải sản Hùng Thọ Quang",
                "merchant_slug": "hai-san-hung",
            },
        ],
    }


def test_it_paginates_the_stall_directory(client) -> None:
    market = MarketFactory()
    for n in range(1, 56):
        StallFactory(market=market, code=f"A-{n:02d}")
    url = f"{API}/markets/{market.slug}/stalls"

    first = client.get(url).json()
    rest = client.get(url, {"offset": 50}).json()

    assert first["count"] == rest["count"] == 55
    assert len(first["items"]) == 50
    assert [s["code"] for s in rest["items"]] == ["A-51", "A-52", "A-53", "A-54", "A-55"]


def test_it_only_lists_the_stalls_of_the_market_asked_for(client) -> None:
    market = MarketFactory()
    StallFactory(market=market, code="A-1")
    StallFactory(market=MarketFactory(), code="Z-9")

    body = client.get(f"{API}/markets/{market.slug}/stalls").json()

    assert [s["code"] for s in body["items"]] == ["A-1"]


@pytest.mark.parametrize("slug", ["khong-co-cho-nay", "closed"])
def test_it_answers_404_in_the_error_shape_for_an_unknown_market(client, slug) -> None:
    MarketFactory(slug="closed", is_active=False)

    response = client.get(f"{API}/markets/{slug}/stalls")

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert error["message"]
    assert error["fields"] == {}


def test_it_reads_the_directory_in_a_fixed_number_of_queries(client) -> None:
    market = MarketFactory()
    StallFactory(market=market, merchant=MerchantFactory())
    url = f"{API}/markets/{market.slug}/stalls"
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(10):
        StallFactory(market=market, merchant=MerchantFactory())

    with CaptureQueriesContext(connection) as many:
        response = client.get(url)

    assert response.json()["count"] == 11
    assert len(many) == len(few)


def test_it_renders_the_market_list_page_for_anonymous_visitors(client) -> None:
    market = MarketFactory(name="Chợ Bắc Mỹ An")
    StallFactory(market=market, merchant=MerchantFactory())
    StallFactory(market=market)

    response = client.get("/cho/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Chợ Bắc Mỹ An" in html
    assert f"/cho/{market.slug}/" in html
    assert "1/2" in html


def test_it_renders_the_stall_directory_page_for_anonymous_visitors(client) -> None:
    market = MarketFactory(name="Chợ Cồn")
    StallFactory(market=market, code="A-3", merchant=MerchantFactory(display_name="Thịt heo Tư"))
    StallFactory(market=market, code="B-1")

    response = client.get(f"/cho/{market.slug}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Chợ Cồn" in html
    assert "A-3" in html
    assert "Thịt heo Tư" in html
    assert "B-1" in html
    assert "Còn trống" in html


def test_it_renders_the_directory_page_in_a_fixed_number_of_queries(client) -> None:
    market = MarketFactory()
    StallFactory(market=market, merchant=MerchantFactory())
    url = f"/cho/{market.slug}/"
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(10):
        StallFactory(market=market, merchant=MerchantFactory())

    with CaptureQueriesContext(connection) as many:
        response = client.get(url)

    assert response.status_code == 200
    assert len(many) == len(few)


def test_it_shows_a_not_found_page_for_an_unknown_market(client) -> None:
    response = client.get("/cho/khong-co-cho-nay/")

    assert response.status_code == 404
