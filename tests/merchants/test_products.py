"""The catalogue through `/api/v1/merchants/<id>/products`: create, update, list and search."""

from __future__ import annotations

import unicodedata

import pytest

from core.models import AuditLog
from merchants.models import Membership, Product
from merchants.services import product_create
from tests.factories import MerchantFactory, ProductFactory, member_of

pytestmark = pytest.mark.django_db


def url(merchant, product=None) -> str:
    base = f"/api/v1/merchants/{merchant.pk}/products"
    return f"{base}/{product.pk}" if product else base


def create(client, merchant, **overrides):
    body = {"name": "Cá thu", "unit": "kg", "price": 180_000, **overrides}
    return client.post(url(merchant), body, content_type="application/json")


def patch(client, product, body):
    return client.patch(url(product.merchant, product), body, content_type="application/json")


def field_names(response) -> list[str]:
    return list(response.json()["error"]["fields"])


@pytest.fixture
def merchant():
    return MerchantFactory()


@pytest.fixture
def owner(merchant):
    return member_of(merchant)


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def catalogue(merchant, *names: str) -> list[Product]:
    owner = member_of(merchant)
    return [
        product_create(actor=owner, merchant=merchant, name=name, unit="kg", price=100_000)
        for name in names
    ]


# --- create -----------------------------------------------------------------------------------


def test_it_creates_a_product(owner_client, merchant, owner):
    response = create(
        owner_client, merchant, sold_by_weight=True, tax_category="5%", is_active=True
    )

    assert response.status_code == 201
    body = response.json()
    product = Product.objects.get(pk=body["id"])
    assert product.merchant == merchant
    assert (product.name, product.unit, product.price) == ("Cá thu", "kg", 180_000)
    assert product.sold_by_weight and product.tax_category == "5%"
    assert product.search_name == "ca thu"
    assert body == {
        "id": product.pk,
        "name": "Cá thu",
        "unit": "kg",
        "price": 180_000,
        "sold_by_weight": True,
        "tax_category": "5%",
        "is_active": True,
        "photo_url": None,
    }
    audit = AuditLog.objects.get(action="product.create")
    assert (audit.actor, audit.data) == (owner, {"price": 180_000})


def test_it_stores_the_name_in_nfc(owner_client, merchant):
    decomposed = unicodedata.normalize("NFD", "Bánh mì chả cá")

    create(owner_client, merchant, name=decomposed, unit="cái", price=25_000)

    assert Product.objects.get().name == unicodedata.normalize("NFC", "Bánh mì chả cá")


def test_it_accepts_a_free_item(owner_client, merchant):
    assert create(owner_client, merchant, price=0).status_code == 201


@pytest.mark.parametrize(
    "price",
    [1.5, 180_000.0, "180000", "abc", True, None, [180_000], {"vnd": 1}],
    ids=["float", "whole-float", "numeric-string", "string", "bool", "null", "list", "object"],
)
def test_it_answers_422_when_the_price_is_not_an_integer(owner_client, merchant, price):
    response = create(owner_client, merchant, price=price)

    assert response.status_code == 422
    assert field_names(response) == ["price"]
    assert not Product.objects.exists()


@pytest.mark.parametrize("price", [-1, -180_000, 10_000_000_001, 10**30])
def test_it_answers_422_when_the_price_is_out_of_range(owner_client, merchant, price):
    response = create(owner_client, merchant, price=price)

    assert response.status_code == 422
    assert field_names(response) == ["price"]
    assert not Product.objects.exists()


@pytest.mark.parametrize("unit", ["kilo", "KG", "", "cân"])
def test_it_answers_422_for_an_unknown_unit(owner_client, merchant, unit):
    response = create(owner_client, merchant, unit=unit)

    assert response.status_code == 422
    assert field_names(response) == ["unit"]


def test_it_answers_422_for_an_unknown_tax_category(owner_client, merchant):
    response = create(owner_client, merchant, tax_category="7%")

    assert response.status_code == 422
    assert field_names(response) == ["tax_category"]


@pytest.mark.parametrize("name", ["", "   ", "x" * 121])
def test_it_answers_422_for_a_bad_name(owner_client, merchant, name):
    response = create(owner_client, merchant, name=name)

    assert response.status_code == 422
    assert field_names(response) == ["name"]


def test_it_answers_422_for_the_same_name_and_unit_twice(owner_client, merchant):
    assert create(owner_client, merchant).status_code == 201

    response = create(owner_client, merchant, name="  Cá   thu ")

    assert response.status_code == 422
    assert field_names(response) == ["name"]
    assert Product.objects.count() == 1


def test_it_allows_the_same_name_in_another_unit_or_merchant(owner_client, merchant):
    ProductFactory(merchant=MerchantFactory(), name="Cá thu", unit="kg")
    assert create(owner_client, merchant).status_code == 201

    assert create(owner_client, merchant, unit="con").status_code == 201


def test_it_answers_403_when_a_cashier_creates_a_product(client, merchant):
    client.force_login(member_of(merchant, role=Membership.Role.CASHIER))

    response = create(client, merchant)

    assert response.status_code == 403
    assert not Product.objects.exists()


# --- update -----------------------------------------------------------------------------------


def test_it_updates_only_the_fields_sent(owner_client, merchant, owner):
    product = ProductFactory(merchant=merchant, name="Cá thu", price=180_000, sold_by_weight=True)

    response = patch(owner_client, product, {"price": 200_000})

    assert response.status_code == 200
    product.refresh_from_db()
    assert (product.name, product.price, product.sold_by_weight) == ("Cá thu", 200_000, True)
    assert response.json()["price"] == 200_000
    audit = AuditLog.objects.get(action="product.update")
    assert audit.actor == owner
    assert audit.data == {"fields": ["price"], "old_price": 180_000, "price": 200_000}


def test_it_renames_a_product_and_keeps_it_searchable(owner_client, merchant):
    product = ProductFactory(merchant=merchant, name="Cá thu")

    patch(owner_client, product, {"name": "Mực lá", "is_active": False})

    product.refresh_from_db()
    assert (product.name, product.search_name, product.is_active) == ("Mực lá", "muc la", False)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"price": 1.5}, "price"),
        ({"price": "200000"}, "price"),
        ({"price": -5}, "price"),
        ({"price": None}, "price"),
        ({"unit": "kilo"}, "unit"),
        ({"unit": None}, "unit"),
        ({"name": ""}, "name"),
        ({"tax_category": "7%"}, "tax_category"),
    ],
)
def test_it_answers_422_for_a_bad_change_and_keeps_the_product(owner_client, merchant, body, field):
    product = ProductFactory(merchant=merchant, name="Cá thu", unit="kg", price=180_000)

    response = patch(owner_client, product, body)

    assert response.status_code == 422
    assert field_names(response) == [field]
    product.refresh_from_db()
    assert (product.name, product.unit, product.price) == ("Cá thu", "kg", 180_000)


def test_it_answers_422_when_a_rename_clashes_with_another_product(owner_client, merchant):
    ProductFactory(merchant=merchant, name="Mực lá", unit="kg")
    product = ProductFactory(merchant=merchant, name="Cá thu", unit="kg")

    response = patch(owner_client, product, {"name": "Mực lá"})

    assert response.status_code == 422
    assert field_names(response) == ["name"]
    assert Product.objects.get(pk=product.pk).name == "Cá thu"


def test_it_lets_a_product_keep_its_own_name(owner_client, merchant):
    product = ProductFactory(merchant=merchant, name="Cá thu", unit="kg")

    assert patch(owner_client, product, {"name": "Cá thu", "price": 1}).status_code == 200


def test_it_answers_404_for_another_merchants_product_under_its_own_id(owner_client, merchant):
    elsewhere = ProductFactory(merchant=MerchantFactory(), price=180_000)

    response = owner_client.patch(
        f"{url(merchant)}/{elsewhere.pk}", {"price": 1}, content_type="application/json"
    )

    assert response.status_code == 404
    assert Product.objects.get(pk=elsewhere.pk).price == 180_000


def test_it_answers_403_when_a_cashier_changes_a_price(client, merchant):
    product = ProductFactory(merchant=merchant, price=180_000)
    client.force_login(member_of(merchant, role=Membership.Role.CASHIER))

    response = patch(client, product, {"price": 1})

    assert response.status_code == 403
    assert Product.objects.get(pk=product.pk).price == 180_000


# --- read -------------------------------------------------------------------------------------


def test_it_gets_one_product(owner_client, merchant):
    product = ProductFactory(merchant=merchant)

    response = owner_client.get(url(merchant, product))

    assert response.status_code == 200
    assert response.json()["id"] == product.pk


def test_it_lists_products_by_name_with_a_count(owner_client, merchant):
    catalogue(merchant, "Tôm sú", "Cá thu", "Mực lá")
    ProductFactory(merchant=MerchantFactory(), name="Cua gạch")

    response = owner_client.get(url(merchant))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"items", "count"}
    assert body["count"] == 3
    assert [p["name"] for p in body["items"]] == ["Cá thu", "Mực lá", "Tôm sú"]


def test_it_pages_with_limit_and_offset(owner_client, merchant):
    catalogue(merchant, *[f"Rau {n:02d}" for n in range(7)])

    body = owner_client.get(url(merchant), {"limit": 3, "offset": 3}).json()

    assert body["count"] == 7
    assert [p["name"] for p in body["items"]] == ["Rau 03", "Rau 04", "Rau 05"]


@pytest.mark.parametrize("query", ["ca thu", "Cá thu", "CA THU", "cá", " thu "])
def test_it_finds_products_whatever_the_diacritics(owner_client, merchant, query):
    catalogue(merchant, "Cá thu", "Mực lá", "Cà phê")

    body = owner_client.get(url(merchant), {"q": query}).json()

    names = [p["name"] for p in body["items"]]
    assert "Cá thu" in names
    assert "Mực lá" not in names
    assert body["count"] == len(names)


def test_it_finds_a_product_named_in_decomposed_unicode(owner_client, merchant):
    catalogue(merchant, unicodedata.normalize("NFD", "Cá thu"))

    body = owner_client.get(url(merchant), {"q": "ca thu"}).json()

    assert body["count"] == 1


def test_it_lists_only_active_products_when_asked(owner_client, merchant):
    on_sale, off_sale = catalogue(merchant, "Cá thu", "Cá ngừ")
    off_sale.is_active = False
    off_sale.save()

    everything = owner_client.get(url(merchant)).json()
    active = owner_client.get(url(merchant), {"active": "true"}).json()

    assert everything["count"] == 2
    assert [p["id"] for p in active["items"]] == [on_sale.pk]


def test_it_lets_a_cashier_read_the_catalogue(client, merchant):
    product = ProductFactory(merchant=merchant)
    client.force_login(member_of(merchant, role=Membership.Role.CASHIER))

    assert client.get(url(merchant)).json()["count"] == 1
    assert client.get(url(merchant, product)).status_code == 200


def test_it_stores_a_name_whose_search_key_is_longer_than_the_name(owner_client, merchant):
    # Transliteration can lengthen a name: "鱼" becomes "Yu ". The search key must still fit.
    name = "Cá 鱼" + "鱼" * 110

    response = create(owner_client, merchant, name=name)

    assert response.status_code == 201
    product = Product.objects.get()
    assert product.name == name
    assert len(product.search_name) <= Product._meta.get_field("search_name").max_length
    assert product.search_name.startswith("ca yu")
