"""Issue 13: every bad request gets a clean 4xx — one test per cause of the 500s the API fuzz
and the page probes found (NUL and control characters, lone surrogates, numbers beyond what the
database holds, unbounded offsets and years), plus the API's answers Django used to give as HTML
(unknown paths, a 10 MB body) and the 403 "CSRF failed" an anonymous write used to get."""

from __future__ import annotations

import json
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import reverse

from market.sales import orders
from merchants.models import Product
from payments.models import PaymentIntent
from tests.factories import (
    MarketFactory,
    ProductFactory,
    StallFactory,
    api_key_for,
    member_of,
    merchant_with_account,
)
from tests.market.test_online_merchant import open_shop

pytestmark = pytest.mark.django_db

INVALID_TEXT = "Có ký tự không hợp lệ (ký tự điều khiển, NUL hoặc xuống dòng không đúng chỗ)."
HUGE = 10**30
BEYOND_BIGINT = 2**63


@pytest.fixture
def merchant():
    merchant = merchant_with_account(display_name="Hải sản Hùng", slug="hai-san-hung")
    StallFactory(market=MarketFactory(slug="cho-han"), merchant=merchant)
    open_shop(merchant)
    return merchant


@pytest.fixture
def fish(merchant):
    return ProductFactory(merchant=merchant, name="Cá thu", search_name="ca thu")


@pytest.fixture
def api(merchant) -> Client:
    return Client(headers={"Authorization": f"Bearer {api_key_for(merchant)}"})


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert {"code", "message", "fields"} <= set(body["error"])
    return body["error"]


def post_json(client: Client, url: str, body: object, **kwargs):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url, data, content_type="application/json", **kwargs)


# --- who is asking: 401, never 403 "CSRF failed", to a caller without credentials -------------


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer cs_live_made-up"}, {"Authorization": "Basic eA=="}]
)
def test_an_anonymous_or_bad_key_write_is_401_not_csrf_failed(merchant, headers):
    client = Client(enforce_csrf_checks=True, headers=headers)

    product = post_json(
        client, f"/api/v1/merchants/{merchant.pk}/products", {"name": "x", "unit": "kg"}
    )
    session_only = post_json(client, "/api/v1/merchants/", {})

    assert error_of(product, 401)["code"] == "not_authenticated"
    assert error_of(session_only, 401)["code"] == "not_authenticated"
    assert not Product.objects.exists()


def test_a_signed_in_session_without_its_csrf_token_is_still_refused_403(merchant):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member_of(merchant))

    response = post_json(
        client,
        f"/api/v1/merchants/{merchant.pk}/products",
        {"name": "Cá thu", "unit": "kg", "price": 180_000},
    )

    assert error_of(response, 403)["code"] == "csrf_failed"
    assert not Product.objects.exists()


# --- Django-level answers under /api/v1 come in the API's JSON shape ---------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/nope"),
        ("get", "/api/v1/merchants/1/nope"),
        ("post", "/api/v1/shop/nope/"),
        ("get", "/api/v2/merchants/"),
    ],
)
def test_an_unknown_api_path_is_404_in_the_error_shape(client, method, path):
    error = error_of(getattr(client, method)(path), 404)

    assert error["code"] == "not_found"
    assert error["message"] == "Không tìm thấy."


def test_an_unknown_api_path_is_404_in_english_too(client):
    error = error_of(client.get("/api/v1/nope", headers={"Accept-Language": "en"}), 404)

    assert error["message"] == "Not found."


def test_a_method_an_operation_does_not_take_is_405_in_the_error_shape(api, merchant, fish):
    response = api.delete(f"/api/v1/merchants/{merchant.pk}/products/{fish.pk}")

    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_body_above_the_upload_limit_is_413_in_the_error_shape(
    api, merchant, settings, content_type
):
    body = b"a=" + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024)

    response = api.post(
        f"/api/v1/merchants/{merchant.pk}/products", body, content_type=content_type
    )

    error = error_of(response, 413)
    assert error["code"] == "payload_too_large"
    assert error["message"] == "Nội dung gửi lên quá lớn."


def test_a_page_form_above_the_upload_limit_is_413_not_500(client, settings):
    body = b"q=" + b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024)

    response = client.post(
        "/gio-hang/them/", body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 413


# --- text no database or e-invoice can hold ----------------------------------------------------


@pytest.mark.parametrize("name", ["Cá\x00thu", "Cá\x1bthu", "Cá\x85thu", "Cá\nthu", "Cá\ufffe"])
def test_a_product_name_with_nul_or_control_characters_is_422_and_not_stored(api, merchant, name):
    response = post_json(
        api,
        f"/api/v1/merchants/{merchant.pk}/products",
        {"name": name, "unit": "kg", "price": 180_000},
    )

    error = error_of(response, 422)
    assert error["fields"] == {"name": [INVALID_TEXT]}
    assert not Product.objects.exists()


def test_a_control_character_is_refused_in_a_product_renamed_through_the_shop_api(api, fish):
    response = api.patch(
        f"/api/v1/shop/merchant/products/{fish.pk}",
        json.dumps({"name": "Cá\x07thu"}),
        content_type="application/json",
    )

    assert error_of(response, 422)["fields"] == {"name": [INVALID_TEXT]}
    fish.refresh_from_db()
    assert fish.name == "Cá thu"


def test_a_product_that_could_not_be_invoiced_never_gets_in_by_the_product_page(client, merchant):
    client.force_login(member_of(merchant))

    response = client.post(
        reverse("product_add", args=[merchant.pk]),
        urlencode({"name": "Cá thu\x0b", "unit": "kg", "price": "180000", "tax_category": "KCT"}),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert not Product.objects.exists()


def test_the_product_form_refuses_a_line_break_in_a_name_and_keeps_it_in_a_description():
    from merchants.forms import ProductForm

    form = ProductForm(
        {
            "name": "Cá\nthu",
            "unit": "kg",
            "price": "180000",
            "tax_category": "KCT",
            "description": "Tươi\nngon",
        }
    )

    assert not form.is_valid()
    assert form.errors["name"] == [INVALID_TEXT]
    assert "description" not in form.errors


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "C\\ud800", "unit": "kg", "price": 1000}',
        '{"name": "C\\udfff\\ud800", "unit": "kg", "price": 1000}',
        '{"\\ud800": 1, "name": "C", "unit": "kg", "price": 1000}',
    ],
)
def test_a_lone_surrogate_in_json_is_400_not_500(api, merchant, body):
    response = post_json(api, f"/api/v1/merchants/{merchant.pk}/products", body)

    assert error_of(response, 400)["code"] == "invalid_characters"
    assert not Product.objects.exists()


def test_a_lone_surrogate_in_a_dict_key_is_a_client_error(client):
    staff = member_of(merchant_with_account(), is_staff=True)
    client.force_login(staff)

    response = post_json(
        client,
        "/api/v1/expo/staff/booths/1/decision",
        '{"decision": "x", "checklist": {"\\ud800": 1}}',
    )

    assert 400 <= response.status_code < 500
    error_of(response, response.status_code)


def test_line_breaks_are_kept_in_multi_line_fields(client, fish):
    from tests.virtual_expo.conftest import approve, booth_input, make_curator, make_exhibition
    from virtual_expo import services as expo_services

    curator = make_curator()
    exhibition = make_exhibition(curator)
    booth = expo_services.booth_apply(
        actor=member_of(fish.merchant),
        merchant=fish.merchant,
        exhibition=exhibition,
        data=booth_input(exhibition, [fish]),
        submit=True,
    )
    approve(curator, booth)
    url = f"/api/v1/expo/exhibitions/{exhibition.slug}/booths/{booth.pk}/inquiries"

    good = post_json(
        client, url, {"name": "Khoa", "phone": "0905222333", "message": "Giá sỉ?\r\n\tBao nhiêu?"}
    )
    bad_name = post_json(
        client, url, {"name": "Kh\noa", "phone": "0905222333", "message": "Giá sỉ?"}
    )

    assert good.status_code == 201, good.content
    assert error_of(bad_name, 422)["fields"] == {"name": [INVALID_TEXT]}


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/shop/products?q=%00",
        "/api/v1/shop/products?q=c%C3%A1%1Bthu",
        "/api/v1/shop/merchants?market=%00",
        "/api/v1/market/receipts/%00",
        "/api/v1/shop/orders/ab%00cd",
    ],
)
def test_nul_in_an_api_query_string_or_path_is_400_in_the_error_shape(client, url):
    assert error_of(client.get(url), 400)["code"] == "invalid_characters"


@pytest.mark.parametrize(
    "url",
    [
        "/mua/?q=%00",
        "/mua/?q=c%C3%A1%00",
        "/hoa-don/tra-cuu/?ma=%00",
        "/hoa-don/AB%00CD/",
        "/bien-nhan/%00/",
        "/don-hang/%00/",
        "/hoi-cho/?q=%1B",
    ],
)
def test_nul_in_a_page_query_string_or_path_is_400(client, url):
    response = client.get(url)

    assert response.status_code == 400
    assert INVALID_TEXT in response.content.decode()


def test_the_search_still_takes_an_ordinary_query(client, fish):
    assert client.get("/mua/?q=c%C3%A1+thu").status_code == 200


@pytest.mark.parametrize("content_type", ["urlencoded", "multipart"])
def test_nul_in_a_checkout_form_is_400_and_places_nothing(client, merchant, fish, content_type):
    data = {"name": "Lê\x00Mai", "phone": "0905222333", "fulfilment": "pickup"}
    url = reverse("shop_checkout", args=[merchant.pk])

    if content_type == "urlencoded":
        response = client.post(
            url, urlencode(data), content_type="application/x-www-form-urlencoded"
        )
    else:
        response = client.post(url, data)

    assert response.status_code == 400
    assert not orders.Order.objects.exists()


def test_nul_in_a_review_or_a_cancel_reason_is_400(client, merchant, fish):
    sale = orders.order_create(
        merchant=merchant,
        lines=[orders.LineInput(product_id=fish.pk, quantity=Decimal("1"))],
        payment_method="cash",
        actor=None,
    )
    client.force_login(member_of(merchant))

    review = client.post(
        reverse("shop_review", args=[sale.receipt_token]), {"rating": "5", "text": "Ngon\x00"}
    )
    cancel = client.post(
        reverse("online_order_advance", args=[merchant.pk, sale.pk]),
        {"to": "canceled", "reason": "Hết\x00hàng"},
    )

    assert review.status_code == cancel.status_code == 400


# --- numbers the database cannot hold ----------------------------------------------------------


def test_a_free_amount_of_10_to_the_30_is_422_not_500(api, merchant):
    response = post_json(
        api,
        "/api/v1/market/orders",
        {
            "merchant_id": merchant.pk,
            "lines": [{"unit_price": HUGE, "quantity": "1"}],
            "payment_method": "cash",
        },
    )

    assert "lines.0.unit_price" in error_of(response, 422)["fields"]
    assert not orders.Order.objects.exists()


@pytest.mark.parametrize("quantity", [HUGE, "1e30", "NaN", "-Infinity"])
def test_a_quantity_beyond_reason_is_422(api, merchant, fish, quantity):
    response = post_json(
        api,
        "/api/v1/market/orders",
        {
            "merchant_id": merchant.pk,
            "lines": [{"product_id": fish.pk, "quantity": quantity}],
            "payment_method": "cash",
        },
    )

    error_of(response, 422)


@pytest.mark.parametrize(
    ("url", "body", "field"),
    [
        ("/api/v1/payments/intents", {"amount": HUGE}, "amount"),
        ("/api/v1/shop/checkout", {"expected_total": HUGE}, "expected_total"),
        ("/api/v1/shop/checkout", {"lines": [{"product_id": BEYOND_BIGINT}]}, "lines.0.product_id"),
        ("/api/v1/market/orders", {"lines": [{"product_id": -1}]}, "lines.0.product_id"),
    ],
)
def test_amounts_and_ids_beyond_the_domain_are_422(api, merchant, url, body, field):
    response = post_json(api, url, {"merchant_id": merchant.pk, **body})

    assert field in error_of(response, 422)["fields"]
    assert not PaymentIntent.objects.exists()


def test_a_close_counting_10_to_the_30_in_cash_is_422(api, merchant):
    response = post_json(
        api, f"/api/v1/reports/merchants/{merchant.pk}/closes", {"cash_counted": HUGE}
    )

    assert list(error_of(response, 422)["fields"]) == ["cash_counted"]


def test_a_booth_listing_a_product_id_beyond_64_bits_is_422(api, merchant):
    response = api.patch(
        f"/api/v1/expo/merchants/{merchant.pk}/booths/1",
        json.dumps({"product_ids": [BEYOND_BIGINT]}),
        content_type="application/json",
    )

    assert "product_ids.0" in error_of(response, 422)["fields"]


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/merchants/{m}/products?offset={big}",
        "/api/v1/merchants/{m}/products?limit={big}",
        "/api/v1/merchants/{m}/products?limit=101",
        "/api/v1/payments/intents?merchant_id={m}&offset={big}",
        "/api/v1/einvoice/invoices?merchant_id={m}&offset={big}",
        "/api/v1/market/orders?merchant_id={m}&offset={big}",
        "/api/v1/market/orders?merchant_id={m}&offset=100001",
        "/api/v1/shop/merchant/{m}/online-orders?offset={big}",
        "/api/v1/market/markets/cho-han/stalls?offset={big}",
    ],
)
def test_offsets_and_limits_are_bounded(api, merchant, url):
    response = api.get(url.format(m=merchant.pk, big=BEYOND_BIGINT))

    error = error_of(response, 422)
    assert set(error["fields"]) <= {"offset", "limit"}
    assert error["fields"]


def test_a_page_of_at_most_100_is_served(api, merchant):
    response = api.get(f"/api/v1/merchants/{merchant.pk}/products?limit=100&offset=100000")

    assert response.status_code == 200
    assert response.json() == {"items": [], "count": 0}


@pytest.mark.parametrize("year", ["-1", "0001", "99999", str(BEYOND_BIGINT)])
def test_a_tax_estimate_for_a_year_out_of_range_is_422(api, merchant, year):
    response = api.get(f"/api/v1/reports/merchants/{merchant.pk}/tax-estimate?year={year}")

    assert "year" in error_of(response, 422)["fields"]


@pytest.mark.parametrize("year", ["0001", "١٢٣٤", "²⁰²⁶"])
def test_the_tax_page_refuses_a_year_out_of_range(client, merchant, year):
    client.force_login(member_of(merchant))

    response = client.get(reverse("tax_estimate", args=[merchant.pk]), {"nam": year})

    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("amount", ["²", "١٢٣", "9" * 5000])
def test_the_collect_keypad_refuses_digits_that_are_not_ascii(client, merchant, amount):
    client.force_login(member_of(merchant))

    response = client.post(reverse("collect", args=[merchant.pk]), {"amount": amount})

    assert response.status_code < 500
    assert not PaymentIntent.objects.exists()


# --- the OpenAPI document tells the truth ------------------------------------------------------


def test_no_two_schemas_of_the_api_share_a_name():
    """django-ninja names each schema by its class name and keeps one per name: two classes
    called LineOut documented invoices' lines as orders' lines."""
    from collections import defaultdict

    from config.api import api as ninja_api
    from core.schemas import schema_models

    by_name = defaultdict(set)
    for model in schema_models(ninja_api):
        by_name[model.__name__].add(f"{model.__module__}.{model.__qualname__}")

    assert {name: found for name, found in by_name.items() if len(found) > 1} == {}


def test_every_body_schema_checks_its_text():
    from config.api import api as ninja_api
    from core.schemas import InSchema, _operations

    unchecked = sorted(
        {
            f"{field.annotation}"
            for _path, operation in _operations(ninja_api)
            for params in operation.models
            if params.__ninja_param_source__ == "body"
            for field in params.model_fields.values()
            if not (isinstance(field.annotation, type) and issubclass(field.annotation, InSchema))
        }
    )

    assert unchecked == []


def test_every_operation_documents_its_error_answers(client):
    schema = client.get("/api/v1/openapi.json").json()
    products = schema["paths"]["/api/v1/merchants/{merchant_id}/products"]["post"]["responses"]
    banks = schema["paths"]["/api/v1/merchants/banks"]["get"]["responses"]

    assert set(products) == {"201", "400", "401", "403", "404", "413", "422", "429"}
    assert set(banks) == {"200", "400", "429"}
    assert products["404"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorOut"
    }
    assert set(schema["components"]["schemas"]["ErrorDetail"]["required"]) == {
        "code",
        "message",
        "fields",
    }


@pytest.mark.parametrize("url", ["/api/v1/merchants/", "/mua/", "/"])
def test_a_session_cookie_holding_nul_is_no_session_not_a_500(client, url):
    """PostgreSQL refuses a NUL in a query: a forged cookie made every request of it a 500."""
    # A quoted cookie value may carry octal escapes: Django reads this one as "\x00abcdefgh\x00".
    response = client.get(url, HTTP_COOKIE='sessionid="\\000abcdefgh\\000"')

    assert response.status_code in (200, 302, 401), response.content[:200]


def test_an_idempotency_key_holding_nul_is_400(api, merchant):
    response = post_json(
        api,
        "/api/v1/payments/intents",
        {"merchant_id": merchant.pk, "amount": 150_000},
        headers={"Idempotency-Key": "k\x00"},
    )

    assert error_of(response, 400)["fields"] == {"Idempotency-Key": [INVALID_TEXT]}
    assert not PaymentIntent.objects.exists()
