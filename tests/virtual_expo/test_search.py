"""Search ignores diacritics on both sides: "gom" finds "Gốm", in NFC and NFD alike."""

from __future__ import annotations

import unicodedata

import pytest

from virtual_expo import selectors

pytestmark = pytest.mark.django_db

GOM_NFC = unicodedata.normalize("NFC", "gốm")
GOM_NFD = unicodedata.normalize("NFD", "gốm")


@pytest.mark.parametrize("query", ["gom", GOM_NFC, GOM_NFD, "GỐM", "  Gom  "])
def test_it_finds_the_pottery_booth_and_products(exhibition, live_booth, query):
    booths = list(selectors.public_booths(exhibition=exhibition, query=query))
    assert [b.pk for b in booths] == [live_booth.pk]
    names = [
        bp.product.name for bp in selectors.matching_products(exhibition=exhibition, query=query)
    ]
    assert sorted(names) == ["Bình gốm men nâu", "Bộ ấm chén gốm đỏ"]


def test_it_matches_the_booth_story_too(exhibition, live_booth):
    assert list(selectors.public_booths(exhibition=exhibition, query="lang thanh ha"))
    assert not list(selectors.public_booths(exhibition=exhibition, query="ca thu"))


def test_it_filters_by_category(exhibition, live_booth):
    assert list(selectors.public_booths(exhibition=exhibition, category="gom-su"))
    assert not list(selectors.public_booths(exhibition=exhibition, category="dac-san"))


def test_the_page_and_the_api_search_the_same_way(client, exhibition, live_booth):
    page = client.get(f"/hoi-cho/{exhibition.slug}/", {"q": GOM_NFD})
    assert page.status_code == 200
    assert "Gốm Thanh Hà" in page.content.decode()
    api = client.get(f"/api/v1/expo/exhibitions/{exhibition.slug}/booths", {"q": "gom"})
    assert [b["id"] for b in api.json()] == [live_booth.pk]
    products = client.get(f"/api/v1/expo/exhibitions/{exhibition.slug}/products", {"q": "gom"})
    assert {p["source_ref"] for p in products.json()} == {f"expo:{exhibition.pk}:{live_booth.pk}"}
