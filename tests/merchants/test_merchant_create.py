"""Registering a merchant: the service, `POST /api/v1/merchants/` and the page `/cua-hang/moi/`."""

from __future__ import annotations

import unicodedata

import pytest

from core.errors import ValidationFailed
from core.models import AuditLog
from merchants.models import Membership, Merchant
from merchants.services import merchant_create
from tests.factories import (
    MerchantFactory,
    UserFactory,
    enterprise_tax_code,
    member_of,
    personal_id,
)

pytestmark = pytest.mark.django_db

API = "/api/v1/merchants/"
PAGE = "/cua-hang/moi/"


def fields(**overrides) -> dict:
    return {
        "kind": Merchant.Kind.HOUSEHOLD,
        "legal_name": "Hộ kinh doanh Nguyễn Thị Lan",
        "display_name": "Cá Cô Lan",
        "tax_code": personal_id(7),
        "address": "Chợ Hàn, 119 Trần Phú, Hải Châu, Đà Nẵng",
        "sector": Merchant.Sector.DISTRIBUTION,
        **overrides,
    }


def nfd(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    assert decomposed != text
    return decomposed


@pytest.fixture
def user():
    return UserFactory()


# --- the service ------------------------------------------------------------------------------


def test_it_makes_the_registering_user_the_owner(user):
    merchant = merchant_create(user=user, **fields())

    membership = Membership.objects.get(merchant=merchant)
    assert (membership.user, membership.role) == (user, Membership.Role.OWNER)
    assert merchant.created_by == user


def test_it_writes_an_audit_row_naming_the_user(user):
    merchant = merchant_create(user=user, **fields())

    row = AuditLog.objects.get(action="merchant.create")
    assert (row.actor, row.actor_label) == (user, f"user:{user.pk}")
    assert (row.target_type, row.target_id) == ("merchants.merchant", str(merchant.pk))


def test_it_stores_the_tax_code_in_canonical_form(user):
    code = enterprise_tax_code(3)
    spaced = f"{code[:4]} {code[4:7]}.{code[7:]}"

    merchant = merchant_create(user=user, **fields(kind="enterprise", tax_code=spaced))

    assert merchant.tax_code == code


def test_it_accepts_an_enterprise_branch_code(user):
    code = enterprise_tax_code(4)

    merchant = merchant_create(user=user, **fields(kind="enterprise", tax_code=code + "002"))

    assert merchant.tax_code == f"{code}-002"


def test_it_stores_names_and_address_in_nfc(user):
    merchant = merchant_create(
        user=user,
        **fields(
            legal_name=nfd("Hộ kinh doanh Cà phê Lan"),
            display_name=nfd("Cà phê"),
            address=nfd("Chợ Cồn, Đà Nẵng"),
        ),
    )

    merchant.refresh_from_db()
    assert merchant.display_name == unicodedata.normalize("NFC", "Cà phê")
    assert unicodedata.is_normalized("NFC", merchant.legal_name)
    assert unicodedata.is_normalized("NFC", merchant.address)
    assert Merchant.objects.filter(display_name="Cà phê").exists()


def test_it_makes_a_unique_ascii_slug(user):
    first = merchant_create(user=user, **fields(display_name="Cà phê", tax_code=personal_id(1)))
    second = merchant_create(
        user=user, **fields(display_name=nfd("Cà phê"), tax_code=personal_id(2))
    )
    third = merchant_create(user=user, **fields(display_name="Cà Phê", tax_code=personal_id(3)))

    assert first.slug == "ca-phe"
    assert len({first.slug, second.slug, third.slug}) == 3
    assert all(m.slug.isascii() for m in (first, second, third))


def test_it_uses_the_legal_name_when_no_display_name_is_given(user):
    merchant = merchant_create(user=user, **fields(display_name=""))

    assert merchant.display_name == "Hộ kinh doanh Nguyễn Thị Lan"


def test_it_stores_the_contact_phone_as_e164(user):
    merchant = merchant_create(user=user, **fields(phone="0905 123 456"))

    assert merchant.phone == "+84905123456"


def test_it_refuses_a_tax_code_already_registered(user):
    MerchantFactory(tax_code=personal_id(7))

    with pytest.raises(ValidationFailed) as caught:
        merchant_create(user=user, **fields(tax_code=personal_id(7)))

    assert set(caught.value.fields) == {"tax_code"}
    assert Merchant.objects.count() == 1


def test_it_refuses_a_personal_id_for_an_enterprise(user):
    with pytest.raises(ValidationFailed) as caught:
        merchant_create(user=user, **fields(kind="enterprise", tax_code=personal_id(7)))

    assert set(caught.value.fields) == {"tax_code"}
    assert not Merchant.objects.exists()


def test_it_reports_every_bad_field_at_once(user):
    with pytest.raises(ValidationFailed) as caught:
        merchant_create(
            user=user,
            **fields(
                kind="shop",
                sector="fishing",
                legal_name=" ",
                address="",
                tax_code="123",
                phone="0236 3822 123",
            ),
        )

    assert set(caught.value.fields) == {
        "kind",
        "sector",
        "legal_name",
        "address",
        "tax_code",
        "phone",
    }
    assert not Merchant.objects.exists()
    assert not AuditLog.objects.exists()


@pytest.mark.parametrize(
    ("field", "length"), [("legal_name", 201), ("display_name", 81), ("address", 256)]
)
def test_it_refuses_text_longer_than_its_column(user, field, length):
    with pytest.raises(ValidationFailed) as caught:
        merchant_create(user=user, **fields(**{field: "a" * length}))

    assert set(caught.value.fields) == {field}
    assert not Merchant.objects.exists()


# --- the API ----------------------------------------------------------------------------------


def post(client, **overrides):
    return client.post(API, fields(**overrides), content_type="application/json")


def test_it_creates_a_merchant_through_the_api(client, user):
    client.force_login(user)

    response = post(client, tax_code="048 090 000 123")

    assert response.status_code == 201
    body = response.json()
    merchant = Merchant.objects.get(pk=body["id"])
    assert body["tax_code"] == merchant.tax_code == "048090000123"
    assert body["slug"] == merchant.slug
    assert merchant.memberships.get().user == user
    assert AuditLog.objects.filter(action="merchant.create", target_id=str(merchant.pk)).exists()


def test_it_answers_422_on_tax_code_for_a_duplicate(client, user):
    MerchantFactory(tax_code=personal_id(7))
    client.force_login(user)

    response = post(client)

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert list(error["fields"]) == ["tax_code"]
    assert error["fields"]["tax_code"] == ["Mã số thuế này đã được đăng ký trên Chợ Số."]


def test_it_answers_422_for_an_enterprise_with_a_personal_id(client, user):
    client.force_login(user)

    response = post(client, kind="enterprise")

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["tax_code"]


def test_it_answers_422_naming_a_missing_field(client, user):
    client.force_login(user)
    body = fields()
    del body["tax_code"]

    response = client.post(API, body, content_type="application/json")

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["tax_code"]


def test_it_lists_only_the_users_merchants(client, user):
    mine = merchant_create(user=user, **fields())
    member_of(MerchantFactory())
    client.force_login(user)

    response = client.get(API)

    assert response.status_code == 200
    assert [m["id"] for m in response.json()] == [mine.pk]


def test_it_needs_a_signed_in_user_to_create(client):
    response = post(client)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert not Merchant.objects.exists()


# --- the page ---------------------------------------------------------------------------------


def test_it_creates_a_merchant_through_the_page(client, user):
    client.force_login(user)
    assert client.get(PAGE).status_code == 200

    response = client.post(PAGE, {**fields(display_name=nfd("Cà phê")), "phone": ""})

    merchant = Merchant.objects.get()
    assert response.status_code == 302
    assert response["Location"] == "/sap/dang-ky/"  # on to the first day's next step
    assert merchant.display_name == unicodedata.normalize("NFC", "Cà phê")
    assert merchant.memberships.get().user == user
    assert client.get(response["Location"]).status_code == 200


def test_it_shows_a_duplicate_tax_code_on_the_field(client, user):
    MerchantFactory(tax_code=personal_id(7))
    client.force_login(user)

    response = client.post(PAGE, {**fields(), "phone": ""})

    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["tax_code"]
    assert Merchant.objects.count() == 1


def test_it_sends_an_anonymous_visitor_to_sign_in(client):
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith("/dang-nhap/")


@pytest.mark.parametrize(("field", "length"), [("legal_name", 201), ("address", 256)])
def test_it_answers_422_not_500_for_text_longer_than_its_column(client, user, field, length):
    client.force_login(user)

    response = post(client, **{field: "Chợ " * (length // 4 + 1)})

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == [field]
