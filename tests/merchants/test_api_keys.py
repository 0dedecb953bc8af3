"""Per-merchant API keys: `/api/v1/merchants/<id>/api-keys`, Bearer authentication, revocation."""

from __future__ import annotations

import hashlib

import pytest
from django.forms.models import model_to_dict

from core.models import AuditLog
from merchants.models import ApiKey, BankAccount, Membership
from merchants.services import api_key_create
from tests.factories import BankAccountFactory, MerchantFactory, ProductFactory, member_of

pytestmark = pytest.mark.django_db


def keys_url(merchant) -> str:
    return f"/api/v1/merchants/{merchant.pk}/api-keys"


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


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


@pytest.fixture
def raw_key(merchant, owner) -> str:
    _key, raw = api_key_create(actor=owner, merchant=merchant, name="Máy POS")
    return raw


def test_it_creates_a_key_and_returns_the_raw_key_once(owner_client, merchant, owner):
    response = owner_client.post(
        keys_url(merchant), {"name": "Máy POS quầy 1"}, content_type="application/json"
    )

    assert response.status_code == 201
    body = response.json()
    raw = body["key"]
    assert raw.startswith("cs_live_")
    assert len(raw) > 40
    key = ApiKey.objects.get(pk=body["id"])
    assert (key.merchant, key.created_by, key.name) == (merchant, owner, "Máy POS quầy 1")
    assert raw.startswith(body["prefix"])
    assert AuditLog.objects.filter(action="api_key.create", target_id=str(key.pk)).exists()

    listed = owner_client.get(keys_url(merchant)).json()
    assert [k["id"] for k in listed] == [key.pk]
    assert "key" not in listed[0]
    assert raw not in owner_client.get(keys_url(merchant)).content.decode()
    assert raw not in owner_client.get(f"/cua-hang/{merchant.pk}/").content.decode()


def test_it_stores_only_the_sha256_of_the_key(owner_client, merchant):
    raw = owner_client.post(
        keys_url(merchant), {"name": "POS"}, content_type="application/json"
    ).json()["key"]

    key = ApiKey.objects.get()
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    stored = " ".join(str(value) for value in model_to_dict(key, exclude=[]).values())
    stored += " " + key.prefix + " " + key.key_hash
    assert raw not in stored
    assert raw[len(key.prefix) :] not in stored
    for row in AuditLog.objects.all():
        assert raw not in f"{row.data} {row.reason} {row.actor_label}"


def test_it_makes_a_different_key_each_time(owner_client, merchant):
    first = owner_client.post(keys_url(merchant), {"name": "a"}, content_type="application/json")
    second = owner_client.post(keys_url(merchant), {"name": "a"}, content_type="application/json")

    assert first.json()["key"] != second.json()["key"]
    assert ApiKey.objects.count() == 2


def test_a_key_reads_its_own_merchant(client, merchant, raw_key):
    response = client.get(f"/api/v1/merchants/{merchant.pk}", headers=bearer(raw_key))

    assert response.status_code == 200
    assert response.json()["id"] == merchant.pk
    assert ApiKey.objects.get().last_used_at is not None


def test_a_key_lists_only_its_own_merchant(client, merchant, raw_key):
    member_of(MerchantFactory())

    response = client.get("/api/v1/merchants/", headers=bearer(raw_key))

    assert [m["id"] for m in response.json()] == [merchant.pk]


def test_a_key_reads_its_merchants_products(client, merchant, raw_key):
    product = ProductFactory(merchant=merchant)

    response = client.get(f"/api/v1/merchants/{merchant.pk}/products", headers=bearer(raw_key))

    assert [p["id"] for p in response.json()["items"]] == [product.pk]


def test_a_key_manages_its_merchants_catalogue_and_the_audit_names_the_key(
    client, merchant, raw_key
):
    prefix = ApiKey.objects.get().prefix
    url = f"/api/v1/merchants/{merchant.pk}/products"

    created = client.post(
        url,
        {"name": "Cá thu", "unit": "kg", "price": 180_000},
        content_type="application/json",
        headers=bearer(raw_key),
    )
    product_id = created.json()["id"]
    updated = client.patch(
        f"{url}/{product_id}",
        {"price": 190_000},
        content_type="application/json",
        headers=bearer(raw_key),
    )

    assert (created.status_code, updated.status_code) == (201, 200)
    rows = AuditLog.objects.filter(action__startswith="product.", target_id=str(product_id))
    assert sorted((r.action, r.actor, r.actor_label) for r in rows) == [
        ("product.create", None, f"api_key:{prefix}"),
        ("product.update", None, f"api_key:{prefix}"),
    ]


def test_a_key_gets_404_for_another_merchant(client, raw_key):
    other = MerchantFactory()
    product = ProductFactory(merchant=other)

    for path in (
        f"/api/v1/merchants/{other.pk}",
        f"/api/v1/merchants/{other.pk}/products",
        f"/api/v1/merchants/{other.pk}/products/{product.pk}",
        f"/api/v1/merchants/{other.pk}/bank-accounts",
    ):
        response = client.get(path, headers=bearer(raw_key))
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"


def test_a_revoked_key_stops_working(owner_client, merchant, raw_key):
    key = ApiKey.objects.get()

    response = owner_client.post(f"{keys_url(merchant)}/{key.pk}/revoke")
    owner_client.logout()

    assert response.status_code == 200
    assert response.json()["revoked_at"] is not None
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert AuditLog.objects.filter(action="api_key.revoke", target_id=str(key.pk)).exists()
    denied = owner_client.get(f"/api/v1/merchants/{merchant.pk}", headers=bearer(raw_key))
    assert denied.status_code == 401
    assert denied.json()["error"]["code"] == "not_authenticated"


def test_revoking_twice_keeps_the_first_time(owner_client, merchant, raw_key):
    key = ApiKey.objects.get()
    first = owner_client.post(f"{keys_url(merchant)}/{key.pk}/revoke").json()["revoked_at"]

    second = owner_client.post(f"{keys_url(merchant)}/{key.pk}/revoke").json()["revoked_at"]

    assert first == second
    assert AuditLog.objects.filter(action="api_key.revoke").count() == 1


@pytest.mark.parametrize(
    "header",
    [
        "Bearer cs_live_not-a-real-key",
        "Bearer not-even-our-prefix",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "cs_live_without_scheme",
    ],
)
def test_a_wrong_key_gets_401(client, merchant, raw_key, header):
    response = client.get(f"/api/v1/merchants/{merchant.pk}", headers={"Authorization": header})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_key_with_one_character_changed_gets_401(client, merchant, raw_key):
    tampered = raw_key[:-1] + ("A" if raw_key[-1] != "A" else "B")

    response = client.get(f"/api/v1/merchants/{merchant.pk}", headers=bearer(tampered))

    assert response.status_code == 401


def test_a_key_cannot_create_api_keys(client, merchant, raw_key):
    response = client.post(
        keys_url(merchant),
        {"name": "more"},
        content_type="application/json",
        headers=bearer(raw_key),
    )

    assert response.status_code == 401
    assert ApiKey.objects.count() == 1


def test_a_key_cannot_list_or_revoke_api_keys(client, merchant, raw_key):
    key = ApiKey.objects.get()

    assert client.get(keys_url(merchant), headers=bearer(raw_key)).status_code == 401
    response = client.post(f"{keys_url(merchant)}/{key.pk}/revoke", headers=bearer(raw_key))

    assert response.status_code == 401
    assert ApiKey.objects.get().revoked_at is None


def test_a_key_cannot_add_or_remove_bank_accounts(client, merchant, raw_key):
    account = BankAccountFactory(merchant=merchant)
    url = f"/api/v1/merchants/{merchant.pk}/bank-accounts"

    added = client.post(
        url,
        {"bank_bin": "970436", "account_number": "999999", "holder_name": "KE GIAN"},
        content_type="application/json",
        headers=bearer(raw_key),
    )
    removed = client.delete(f"{url}/{account.pk}", headers=bearer(raw_key))

    assert (added.status_code, removed.status_code) == (401, 401)
    assert list(BankAccount.objects.values_list("pk", flat=True)) == [account.pk]


def test_a_key_cannot_create_a_merchant(client, raw_key):
    response = client.post(
        "/api/v1/merchants/",
        {
            "kind": "household",
            "legal_name": "X",
            "tax_code": "048090000999",
            "address": "Đà Nẵng",
            "sector": "other",
        },
        content_type="application/json",
        headers=bearer(raw_key),
    )

    assert response.status_code == 401


def test_it_answers_403_when_a_cashier_creates_a_key(client, merchant):
    client.force_login(member_of(merchant, role=Membership.Role.CASHIER))

    response = client.post(keys_url(merchant), {"name": "x"}, content_type="application/json")

    assert response.status_code == 403
    assert not ApiKey.objects.exists()


def test_the_page_shows_the_raw_key_once_and_revokes_it(owner_client, merchant):
    page = f"/cua-hang/{merchant.pk}/khoa-api/them/"
    response = owner_client.post(page, {"name": "Kế toán"})

    raw = response.context["raw_key"]
    key = ApiKey.objects.get()
    assert raw in response.content.decode()
    assert key.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in owner_client.get(page).content.decode()

    revoked = owner_client.post(f"/cua-hang/{merchant.pk}/khoa-api/{key.pk}/thu-hoi/")

    assert revoked.status_code == 302
    assert ApiKey.objects.get().revoked_at is not None
    owner_client.logout()
    gone = owner_client.get(f"/api/v1/merchants/{merchant.pk}", headers=bearer(raw))
    assert gone.status_code == 401
