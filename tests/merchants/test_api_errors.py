"""How the merchants API answers bad requests: one error shape, the right status, never a 500."""

from __future__ import annotations

import pytest

from merchants.models import Product
from tests.factories import MerchantFactory, ProductFactory, member_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def merchant():
    return MerchantFactory()


@pytest.fixture
def owner_client(client, merchant):
    client.force_login(member_of(merchant))
    return client


def products_url(merchant) -> str:
    return f"/api/v1/merchants/{merchant.pk}/products"


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"]
    return body["error"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/merchants/"),
        ("post", "/api/v1/merchants/"),
        ("get", "/api/v1/merchants/1"),
        ("get", "/api/v1/merchants/1/products"),
    ],
)
def test_it_answers_401_in_the_error_shape_to_an_anonymous_caller(client, method, path):
    response = getattr(client, method)(path)

    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "not_authenticated"
    assert error["fields"] == {}
    assert error["message"] == "Bạn cần đăng nhập hoặc dùng khóa API hợp lệ."


def test_it_keeps_the_code_when_english_is_asked_for(client):
    response = client.get("/api/v1/merchants/", headers={"Accept-Language": "en"})

    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


def test_it_names_every_missing_field(owner_client, merchant):
    response = owner_client.post(products_url(merchant), {}, content_type="application/json")

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert set(error["fields"]) == {"name", "unit", "price"}
    assert error["fields"]["price"] == ["Trường này là bắt buộc."]


def test_it_names_the_field_of_the_wrong_type(owner_client, merchant):
    response = owner_client.post(
        products_url(merchant),
        {"name": "Cá thu", "unit": "kg", "price": 1, "sold_by_weight": "maybe"},
        content_type="application/json",
    )

    assert response.status_code == 422
    assert list(error_of(response)["fields"]) == ["sold_by_weight"]


@pytest.mark.parametrize("body", ["[1, 2]", '"Cá thu"', "42", "null"])
def test_it_answers_422_to_a_json_body_that_is_not_an_object(owner_client, merchant, body):
    response = owner_client.post(products_url(merchant), body, content_type="application/json")

    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"
    assert not Product.objects.exists()


@pytest.mark.parametrize(
    "body", ['{"name": "Cá thu", "unit": ', "{bad json", b"\xff\xfe{}", "name=Cá+thu"]
)
def test_it_answers_4xx_not_500_to_malformed_json(owner_client, merchant, body):
    response = owner_client.post(products_url(merchant), body, content_type="application/json")

    assert 400 <= response.status_code < 500
    error_of(response)
    assert not Product.objects.exists()


def test_it_answers_4xx_to_a_form_encoded_body(owner_client, merchant):
    response = owner_client.post(products_url(merchant), {"name": "Cá thu"})

    assert 400 <= response.status_code < 500
    error_of(response)


def test_it_answers_422_naming_the_field_for_a_bad_query_parameter(owner_client, merchant):
    response = owner_client.get(products_url(merchant), {"limit": "many"})

    assert response.status_code == 422
    assert "limit" in error_of(response)["fields"]


@pytest.mark.parametrize("path", ["/api/v1/merchants/abc", "/api/v1/merchants/1.5/products"])
def test_it_answers_4xx_to_a_non_numeric_id(owner_client, path):
    response = owner_client.get(path)

    assert 400 <= response.status_code < 500


def test_it_answers_404_alike_for_a_missing_merchant_and_a_foreign_one(owner_client):
    foreign = MerchantFactory()

    missing = owner_client.get("/api/v1/merchants/999999")
    not_mine = owner_client.get(f"/api/v1/merchants/{foreign.pk}")

    assert missing.status_code == not_mine.status_code == 404
    assert error_of(missing) == error_of(not_mine)


def test_it_answers_404_for_a_missing_product(owner_client, merchant):
    response = owner_client.get(f"{products_url(merchant)}/999999")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_it_answers_405_not_500_to_an_unsupported_method(owner_client, merchant):
    product = ProductFactory(merchant=merchant)

    response = owner_client.delete(f"{products_url(merchant)}/{product.pk}")

    assert response.status_code == 405
    assert Product.objects.filter(pk=product.pk).exists()


def test_it_writes_vietnamese_as_utf8_not_escapes(owner_client, merchant):
    ProductFactory(merchant=merchant, name="Cá thu")

    response = owner_client.get(products_url(merchant))

    assert "Cá thu".encode() in response.content


def test_it_publishes_an_openapi_schema_with_the_merchants_routes(client):
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/merchants/{merchant_id}/products" in paths
    price = response.json()["components"]["schemas"]["ProductIn"]["properties"]["price"]
    assert price["type"] == "integer"
