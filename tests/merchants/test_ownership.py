"""Ownership on every merchants endpoint and page that takes a merchant id.

Another merchant's user (or API key) gets 404 and nothing changes; a cashier may read the merchant
and its catalogue but gets 403 on owner-only actions; an anonymous caller gets 401 (API) or the
sign-in page. The route tables are checked against the router and URLconf, so a new endpoint
without a row here fails `test_it_covers_every_...`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.forms.models import model_to_dict

from core.models import AuditLog
from merchants.api import router
from merchants.models import ApiKey, BankAccount, Membership, Merchant, Product
from merchants.services import api_key_create
from merchants.urls import urlpatterns
from tests.factories import BankAccountFactory, MerchantFactory, ProductFactory, member_of

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with {m}, {account}, {product}, {key}
    expect: int  # what the owner gets
    body: dict[str, Any] | None = None
    owner_only: bool = True
    key_ok: bool = False  # an API key of the merchant may call it
    objects: tuple[str, ...] = field(default=())

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"


API_ROUTES = [
    Route("get", "/{m}", 200, owner_only=False, key_ok=True),
    Route("get", "/{m}/bank-accounts", 200, owner_only=False, key_ok=True),
    Route(
        "post",
        "/{m}/bank-accounts",
        201,
        body={"bank_bin": "970436", "account_number": "999888777", "holder_name": "KE GIAN"},
    ),
    Route("delete", "/{m}/bank-accounts/{account}", 204, objects=("account",)),
    Route("get", "/{m}/products", 200, owner_only=False, key_ok=True),
    Route(
        "post",
        "/{m}/products",
        201,
        body={"name": "Hàng lạ", "unit": "kg", "price": 1},
        key_ok=True,
    ),
    Route(
        "get", "/{m}/products/{product}", 200, owner_only=False, key_ok=True, objects=("product",)
    ),
    Route(
        "patch",
        "/{m}/products/{product}",
        200,
        body={"price": 1},
        key_ok=True,
        objects=("product",),
    ),
    Route("get", "/{m}/api-keys", 200),
    Route("post", "/{m}/api-keys", 201, body={"name": "lấy trộm"}),
    Route("post", "/{m}/api-keys/{key}/revoke", 200, objects=("key",)),
]

PAGE_ROUTES = [
    Route("get", "/{m}/", 200, owner_only=False),
    Route("get", "/{m}/ngan-hang/them/", 200),
    Route(
        "post",
        "/{m}/ngan-hang/them/",
        302,
        body={"bank_bin": "970436", "account_number": "999888777", "holder_name": "KE GIAN"},
    ),
    Route("post", "/{m}/ngan-hang/{account}/xoa/", 302, objects=("account",)),
    Route("get", "/{m}/san-pham/them/", 200),
    Route(
        "post",
        "/{m}/san-pham/them/",
        302,
        body={"name": "Hàng lạ", "unit": "kg", "price": "1", "tax_category": "KCT"},
    ),
    Route("get", "/{m}/san-pham/{product}/", 200, objects=("product",)),
    Route(
        "post",
        "/{m}/san-pham/{product}/",
        302,
        body={"name": "Hàng lạ", "unit": "kg", "price": "1", "tax_category": "KCT"},
        objects=("product",),
    ),
    # "Hết hàng" / "Còn hàng": anyone selling at the stall may mark stock.
    Route(
        "post",
        "/{m}/san-pham/{product}/con-hang/",
        302,
        body={"in_stock": "0"},
        owner_only=False,
        objects=("product",),
    ),
    Route("get", "/{m}/nguoi-ban/them/", 200),
    # The intruder tries to make themselves an owner of the victim's merchant.
    Route("post", "/{m}/nguoi-ban/them/", 302, body={"phone": "{caller_phone}", "role": "owner"}),
    Route("get", "/{m}/khoa-api/them/", 200),
    Route("post", "/{m}/khoa-api/them/", 200, body={"name": "lấy trộm"}),
    Route("post", "/{m}/khoa-api/{key}/thu-hoi/", 302, objects=("key",)),
]

API_PREFIX = "/api/v1/merchants"
PAGE_PREFIX = "/cua-hang"


@dataclass
class World:
    merchant: Merchant
    owner: Any
    account: BankAccount
    product: Product
    key: ApiKey
    raw_key: str


def make_world() -> World:
    merchant = MerchantFactory()
    owner = member_of(merchant)
    BankAccountFactory(merchant=merchant, is_default=False)
    account = BankAccountFactory(merchant=merchant, is_default=True)
    product = ProductFactory(merchant=merchant, price=180_000)
    key, raw = api_key_create(actor=owner, merchant=merchant, name="POS")
    return World(merchant, owner, account, product, key, raw)


@pytest.fixture
def victim() -> World:
    return make_world()


@pytest.fixture
def intruder() -> World:
    return make_world()


def snapshot(world: World) -> dict[str, Any]:
    m = world.merchant
    return {
        "merchant": model_to_dict(Merchant.objects.get(pk=m.pk)),
        "accounts": list(BankAccount.objects.filter(merchant=m).order_by("pk").values()),
        "products": list(Product.objects.filter(merchant=m).order_by("pk").values()),
        "keys": list(
            ApiKey.objects.filter(merchant=m).order_by("pk").values("id", "name", "revoked_at")
        ),
        "members": list(
            Membership.objects.filter(merchant=m).order_by("pk").values("user_id", "role")
        ),
        "audit": AuditLog.objects.count(),
    }


def fill(route: Route, prefix: str, world: World, *, owner_of: World, caller=None) -> str:
    """The route's URL for `owner_of`'s merchant id and `world`'s objects."""
    return prefix + route.path.format(
        m=owner_of.merchant.pk, account=world.account.pk, product=world.product.pk, key=world.key.pk
    )


def body_for(route: Route, caller) -> dict[str, Any] | None:
    if route.body is None:
        return None
    phone = getattr(caller, "phone", "")
    return {k: (phone if v == "{caller_phone}" else v) for k, v in route.body.items()}


def call_api(client, route: Route, url: str, caller=None, **headers):
    kwargs: dict[str, Any] = {"headers": headers} if headers else {}
    body = body_for(route, caller)
    if body is not None:
        kwargs.update(data=body, content_type="application/json")
    return getattr(client, route.method)(url, **kwargs)


def call_page(client, route: Route, url: str, caller=None):
    body = body_for(route, caller)
    if route.method == "get":
        return client.get(url)
    return client.post(url, body or {})


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert set(response.json()["error"]) == {"code", "message", "fields"}


def with_objects(routes):
    return [r for r in routes if r.objects]


# --- the tables cover every route ---------------------------------------------------------------


def test_it_covers_every_api_route_that_takes_a_merchant_id():
    in_router = {
        (method.lower(), path)
        for path, view in router.path_operations.items()
        if "{merchant_id}" in path
        for op in view.operations
        for method in op.methods
    }
    tabled = {
        (
            r.method,
            r.path.replace("{m}", "{merchant_id}")
            .replace("{account}", "{account_id}")
            .replace("{product}", "{product_id}")
            .replace("{key}", "{key_id}"),
        )
        for r in API_ROUTES
    }

    assert tabled == in_router


def test_it_covers_every_page_that_takes_a_merchant_id():
    in_urlconf = {
        "/" + str(p.pattern).removeprefix("cua-hang/")
        for p in urlpatterns
        if "<int:merchant_id>" in str(p.pattern)
    }
    tabled = {
        r.path.replace("{m}", "<int:merchant_id>")
        .replace("{account}", "<int:account_id>")
        .replace("{product}", "<int:product_id>")
        .replace("{key}", "<int:key_id>")
        for r in PAGE_ROUTES
    }

    assert tabled == in_urlconf


# --- API --------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", API_ROUTES, ids=str)
def test_it_lets_the_owner_use_every_api_route(client, victim, route):
    client.force_login(victim.owner)

    response = call_api(client, route, fill(route, API_PREFIX, victim, owner_of=victim))

    assert response.status_code == route.expect, response.content


@pytest.mark.parametrize("route", API_ROUTES, ids=str)
def test_it_answers_404_to_another_merchants_user(client, victim, intruder, route):
    before = snapshot(victim)
    client.force_login(intruder.owner)

    response = call_api(client, route, fill(route, API_PREFIX, victim, owner_of=victim))

    assert_error(response, 404, "not_found")
    assert snapshot(victim) == before


@pytest.mark.parametrize("route", with_objects(API_ROUTES), ids=str)
def test_it_answers_404_for_another_merchants_object_under_ones_own_id(
    client, victim, intruder, route
):
    before = snapshot(victim)
    client.force_login(intruder.owner)

    response = call_api(client, route, fill(route, API_PREFIX, victim, owner_of=intruder))

    assert_error(response, 404, "not_found")
    assert snapshot(victim) == before


@pytest.mark.parametrize("route", API_ROUTES, ids=str)
def test_it_answers_404_to_another_merchants_api_key(client, victim, intruder, route):
    before = snapshot(victim)
    url = fill(route, API_PREFIX, victim, owner_of=victim)

    response = call_api(client, route, url, Authorization=f"Bearer {intruder.raw_key}")

    if route.key_ok:
        assert_error(response, 404, "not_found")
    else:  # this route needs a signed-in owner: a key is no credential for it at all
        assert_error(response, 401, "not_authenticated")
    assert snapshot(victim) == before


@pytest.mark.parametrize("route", with_objects(API_ROUTES), ids=str)
def test_an_api_key_gets_404_for_another_merchants_object_under_its_own_id(
    client, victim, intruder, route
):
    before = snapshot(victim)
    url = fill(route, API_PREFIX, victim, owner_of=intruder)

    response = call_api(client, route, url, Authorization=f"Bearer {intruder.raw_key}")

    assert response.status_code == (404 if route.key_ok else 401)
    assert snapshot(victim) == before


@pytest.mark.parametrize("route", API_ROUTES, ids=str)
def test_it_answers_401_to_an_anonymous_caller(client, victim, route):
    before = snapshot(victim)

    response = call_api(client, route, fill(route, API_PREFIX, victim, owner_of=victim))

    assert_error(response, 401, "not_authenticated")
    assert response.json()["error"]["message"]
    assert snapshot(victim) == before


@pytest.mark.parametrize("route", [r for r in API_ROUTES if not r.owner_only], ids=str)
def test_a_cashier_can_read_the_merchant_and_its_catalogue(client, victim, route):
    client.force_login(member_of(victim.merchant, role=Membership.Role.CASHIER))

    response = call_api(client, route, fill(route, API_PREFIX, victim, owner_of=victim))

    assert response.status_code == 200


@pytest.mark.parametrize("route", [r for r in API_ROUTES if r.owner_only], ids=str)
def test_a_cashier_gets_403_on_owner_only_api_routes(client, victim, route):
    cashier = member_of(victim.merchant, role=Membership.Role.CASHIER)
    before = snapshot(victim)
    client.force_login(cashier)

    response = call_api(client, route, fill(route, API_PREFIX, victim, owner_of=victim))

    assert_error(response, 403, "permission_denied")
    assert snapshot(victim) == before


def test_a_session_write_without_a_csrf_token_is_refused(victim):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(victim.owner)
    before = snapshot(victim)

    response = strict.patch(
        f"{API_PREFIX}/{victim.merchant.pk}/products/{victim.product.pk}",
        {"price": 1},
        content_type="application/json",
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "csrf_failed"
    assert snapshot(victim) == before


def test_an_api_key_write_needs_no_csrf_token(victim):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)

    response = strict.patch(
        f"{API_PREFIX}/{victim.merchant.pk}/products/{victim.product.pk}",
        {"price": 1},
        content_type="application/json",
        headers={"Authorization": f"Bearer {victim.raw_key}"},
    )

    assert response.status_code == 200


# --- pages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", PAGE_ROUTES, ids=str)
def test_it_lets_the_owner_open_every_page(client, victim, route):
    client.force_login(victim.owner)
    other = member_of(MerchantFactory())  # someone registered, for the add-a-member form

    response = call_page(client, route, fill(route, PAGE_PREFIX, victim, owner_of=victim), other)

    assert response.status_code == route.expect
    if route.method == "post" and route.expect == 200:
        assert not response.context["form"].errors


@pytest.mark.parametrize("route", PAGE_ROUTES, ids=str)
def test_it_shows_404_to_another_merchants_user_on_every_page(client, victim, intruder, route):
    before = snapshot(victim)
    client.force_login(intruder.owner)

    url = fill(route, PAGE_PREFIX, victim, owner_of=victim)
    response = call_page(client, route, url, intruder.owner)

    assert response.status_code == 404
    assert snapshot(victim) == before


@pytest.mark.parametrize("route", with_objects(PAGE_ROUTES), ids=str)
def test_it_shows_404_for_another_merchants_object_under_ones_own_id(
    client, victim, intruder, route
):
    before = snapshot(victim)
    client.force_login(intruder.owner)

    response = call_page(client, route, fill(route, PAGE_PREFIX, victim, owner_of=intruder))

    assert response.status_code == 404
    assert snapshot(victim) == before


@pytest.mark.parametrize("route", PAGE_ROUTES, ids=str)
def test_it_sends_an_anonymous_visitor_to_sign_in_on_every_page(client, victim, route):
    before = snapshot(victim)

    response = call_page(client, route, fill(route, PAGE_PREFIX, victim, owner_of=victim))

    assert response.status_code == 302
    assert response["Location"].startswith("/dang-nhap/?next=")
    assert snapshot(victim) == before


def test_a_cashier_sees_the_merchant_page_without_owner_controls(client, victim):
    client.force_login(member_of(victim.merchant, role=Membership.Role.CASHIER))

    response = client.get(f"{PAGE_PREFIX}/{victim.merchant.pk}/")

    assert response.status_code == 200
    assert response.context["is_owner"] is False
    assert list(response.context["api_keys"]) == []
    assert victim.product.name in response.content.decode()
    assert f"/cua-hang/{victim.merchant.pk}/khoa-api/them/" not in response.content.decode()


@pytest.mark.parametrize("route", [r for r in PAGE_ROUTES if r.owner_only], ids=str)
def test_a_cashier_gets_403_on_owner_only_pages(client, victim, route):
    cashier = member_of(victim.merchant, role=Membership.Role.CASHIER)
    before = snapshot(victim)
    client.force_login(cashier)

    url = fill(route, PAGE_PREFIX, victim, owner_of=victim)
    response = call_page(client, route, url, cashier)

    assert response.status_code == 403
    assert snapshot(victim) == before
