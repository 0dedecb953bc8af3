"""A trader applies for a stall: the page /sap/dang-ky/ and POST /api/v1/market/applications."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from core.models import AuditLog
from market.models import GoodsCategory, StallApplication
from merchants.models import ApiKey, Membership
from tests.factories import (
    MarketFactory,
    MerchantFactory,
    StallApplicationFactory,
    StallFactory,
    UserFactory,
    api_key_for,
    image_upload,
    member_of,
    owner_of,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/market/applications"
PAGE = "/sap/dang-ky/"


@pytest.fixture
def merchant():
    return MerchantFactory(display_name="Cá biển Long Mỹ An")


@pytest.fixture
def owner(merchant):
    return owner_of(merchant)


@pytest.fixture
def market():
    market = MarketFactory(name="Chợ Bắc Mỹ An", slug="cho-bac-my-an")
    StallFactory(market=market, code="B-3", goods_category=GoodsCategory.SEAFOOD)
    StallFactory(market=market, code="B-4", merchant=MerchantFactory())
    return market


def _body(merchant, market, **overrides) -> dict:
    return {
        "merchant_id": merchant.pk,
        "market": market.slug,
        "goods_category": "seafood",
        "requested_code": "b3",
        "note": "Tôi bán cá ở Mỹ An 10 năm nay.",
    } | overrides


def _post(client, body: dict, **headers):
    return client.post(URL, body, content_type="application/json", headers=headers)


# --- API --------------------------------------------------------------------------------------


def test_it_creates_an_application_for_the_requested_stall(client, owner, merchant, market):
    client.force_login(owner)

    response = _post(client, _body(merchant, market))

    assert response.status_code == 201
    body = response.json()
    application = StallApplication.objects.get()
    assert body["id"] == application.pk
    assert body["merchant_id"] == merchant.pk
    assert body["merchant_name"] == "Cá biển Long Mỹ An"
    assert body["market"] == "cho-bac-my-an"
    assert body["requested_code"] == "B-3"
    assert body["status"] == "pending"
    assert body["stall_code"] is None
    assert body["decided_at"] is None
    assert application.created_by == owner
    assert application.note == "Tôi bán cá ở Mỹ An 10 năm nay."


def test_it_writes_an_audit_row_naming_the_user(client, owner, merchant, market):
    client.force_login(owner)

    _post(client, _body(merchant, market))

    application = StallApplication.objects.get()
    row = AuditLog.objects.get(action="stall_application.submit")
    assert row.actor == owner
    assert row.actor_label == f"user:{owner.pk}"
    assert (row.target_type, row.target_id) == ("market.stallapplication", str(application.pk))


def test_it_accepts_an_api_key_and_audits_the_key(client, merchant, market):
    raw = api_key_for(merchant)

    response = _post(client, _body(merchant, market), Authorization=f"Bearer {raw}")

    assert response.status_code == 201
    row = AuditLog.objects.get(action="stall_application.submit")
    assert row.actor is None
    assert row.actor_label == f"api_key:{raw[:14]}"


@pytest.mark.parametrize("code", ["", "   "])
def test_it_accepts_assign_me_one(client, owner, merchant, market, code):
    client.force_login(owner)

    response = _post(client, _body(merchant, market, requested_code=code))

    assert response.status_code == 201
    assert response.json()["requested_code"] == ""
    assert StallApplication.objects.get().requested_code == ""


@pytest.mark.parametrize(
    "code",
    [
        "Z-99",  # no such stall in this market
        "B-4",  # someone already sells there
        "B--3",  # not a stall code at all
    ],
)
def test_it_rejects_a_requested_code_that_cannot_be_given(client, owner, merchant, market, code):
    client.force_login(owner)

    response = _post(client, _body(merchant, market, requested_code=code))

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert list(error["fields"]) == ["requested_code"]
    assert not StallApplication.objects.exists()


def test_it_rejects_a_stall_the_merchant_already_has(client, owner, merchant, market):
    StallFactory(market=market, code="C-1", merchant=merchant)
    client.force_login(owner)

    response = _post(client, _body(merchant, market, requested_code="c1"))

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["requested_code"]


def test_it_does_not_accept_the_code_of_a_stall_in_another_market(client, owner, merchant, market):
    StallFactory(market=MarketFactory(), code="K-1")
    client.force_login(owner)

    response = _post(client, _body(merchant, market, requested_code="K-1"))

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["requested_code"]


def test_it_rejects_an_unknown_goods_category(client, owner, merchant, market):
    client.force_login(owner)

    response = _post(client, _body(merchant, market, goods_category="weapons"))

    assert response.status_code == 422
    assert "goods_category" in response.json()["error"]["fields"]


def test_it_refuses_a_second_pending_application_for_the_same_market(
    client, owner, merchant, market
):
    client.force_login(owner)
    assert _post(client, _body(merchant, market)).status_code == 201

    response = _post(client, _body(merchant, market, requested_code=""))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "application_pending"
    assert StallApplication.objects.count() == 1


def test_it_allows_a_pending_application_in_another_market(client, owner, merchant, market):
    StallApplicationFactory(merchant=merchant, market=MarketFactory())
    client.force_login(owner)

    response = _post(client, _body(merchant, market))

    assert response.status_code == 201


def test_it_allows_applying_again_after_a_rejection(client, owner, merchant, market):
    StallApplicationFactory(
        merchant=merchant, market=market, status=StallApplication.Status.REJECTED
    )
    client.force_login(owner)

    response = _post(client, _body(merchant, market))

    assert response.status_code == 201


def test_it_lets_only_owners_apply(client, merchant, market):
    cashier = member_of(merchant, role=Membership.Role.CASHIER)
    client.force_login(cashier)

    response = _post(client, _body(merchant, market))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not StallApplication.objects.exists()


def test_it_answers_404_for_another_merchants_id(client, owner, market):
    other = MerchantFactory()
    client.force_login(owner)

    response = _post(client, _body(other, market))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert not StallApplication.objects.exists()


def test_it_answers_404_for_another_merchants_id_with_an_api_key(client, merchant, market):
    raw = api_key_for(merchant)

    response = _post(client, _body(MerchantFactory(), market), Authorization=f"Bearer {raw}")

    assert response.status_code == 404
    assert not StallApplication.objects.exists()


def test_it_answers_404_for_an_unknown_market(client, owner, merchant, market):
    client.force_login(owner)

    response = _post(client, _body(merchant, market) | {"market": "cho-khong-co"})

    assert response.status_code == 404


def test_it_asks_anonymous_callers_to_sign_in(client, merchant, market):
    response = _post(client, _body(merchant, market))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_it_refuses_a_revoked_api_key(client, merchant, market):
    raw = api_key_for(merchant)
    ApiKey.objects.update(revoked_at=timezone.now())

    response = _post(client, _body(merchant, market), Authorization=f"Bearer {raw}")

    assert response.status_code == 401


def test_it_lists_the_merchants_own_applications(client, owner, merchant, market):
    mine = StallApplicationFactory(merchant=merchant, market=market)
    StallApplicationFactory(market=market)
    client.force_login(owner)

    response = client.get(URL, {"merchant_id": merchant.pk})

    assert response.status_code == 200
    assert [a["id"] for a in response.json()] == [mine.pk]


def test_it_hides_another_merchants_applications(client, owner, market):
    other = StallApplicationFactory(market=market)
    client.force_login(owner)

    response = client.get(URL, {"merchant_id": other.merchant_id})

    assert response.status_code == 404


# --- page -------------------------------------------------------------------------------------


def _media_files() -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _form(merchant, market, **overrides) -> dict:
    return {
        "merchant": merchant.pk,
        "market": market.pk,
        "requested_code": "b 3",
        "goods_category": "seafood",
        "note": "Sạp gần cổng phụ",
    } | overrides


def test_it_shows_the_application_page_to_an_owner(client, owner, market):
    client.force_login(owner)

    response = client.get(PAGE)

    assert response.status_code == 200
    assert "Chợ Bắc Mỹ An" in response.content.decode()


def test_it_submits_the_page_form_without_a_document(client, owner, merchant, market):
    client.force_login(owner)

    response = client.post(PAGE, _form(merchant, market))

    assert response.status_code == 302
    # On to the first day's next step (a shop long set up goes home).
    assert response["Location"] == f"/cua-hang/{merchant.pk}/ngan-hang/them/"
    application = StallApplication.objects.get()
    assert (application.merchant, application.market) == (merchant, market)
    assert application.requested_code == "B-3"
    assert not application.document
    assert AuditLog.objects.filter(
        action="stall_application.submit", target_id=str(application.pk), actor=owner
    ).exists()


def test_it_submits_the_page_form_with_a_document_image(client, owner, merchant, market):
    client.force_login(owner)

    response = client.post(
        PAGE, _form(merchant, market, requested_code="", document=image_upload("cccd.jpg", "JPEG"))
    )

    assert response.status_code == 302
    application = StallApplication.objects.get()
    assert application.requested_code == ""
    assert application.document.name.startswith("applications/")
    stored = Path(settings.MEDIA_ROOT) / application.document.name
    assert stored.is_file()
    assert stored.read_bytes()[:2] == b"\xff\xd8"  # a JPEG, re-encoded without its metadata


def test_it_refuses_a_document_that_is_not_an_image(client, owner, merchant, market):
    client.force_login(owner)
    fake = SimpleUploadedFile("cccd.jpg", b"%PDF-1.4 not an image", content_type="image/jpeg")

    response = client.post(PAGE, _form(merchant, market, document=fake))

    assert response.status_code == 422
    assert response.context["form"].errors["document"]
    assert not StallApplication.objects.exists()
    assert not _media_files()


def test_it_shows_the_services_error_next_to_the_code_field(client, owner, merchant, market):
    client.force_login(owner)

    response = client.post(PAGE, _form(merchant, market, requested_code="B-4"))

    assert response.status_code == 422
    assert response.context["form"].errors["requested_code"]
    assert not StallApplication.objects.exists()


def test_it_shows_the_pending_conflict_on_the_page(client, owner, merchant, market):
    StallApplicationFactory(merchant=merchant, market=market)
    client.force_login(owner)

    # The photo passes every check; the conflict comes from the database, after it was written.
    response = client.post(PAGE, _form(merchant, market, document=image_upload("cccd.jpg", "JPEG")))

    assert response.status_code == 409
    assert response.context["form"].non_field_errors()
    assert StallApplication.objects.count() == 1
    assert not _media_files()  # the refused application left no orphan file


def test_it_does_not_let_the_page_apply_for_another_merchant(client, owner, market):
    other = MerchantFactory()
    client.force_login(owner)

    response = client.post(PAGE, _form(other, market))

    assert response.status_code == 422
    assert response.context["form"].errors["merchant"]
    assert not StallApplication.objects.exists()


def test_it_sends_a_user_without_a_merchant_to_create_one(client):
    client.force_login(UserFactory())

    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"] == "/cua-hang/moi/"


def test_it_sends_a_cashier_to_create_a_merchant_of_their_own(client, merchant):
    client.force_login(member_of(merchant, role=Membership.Role.CASHIER))

    response = client.post(PAGE, {"merchant": merchant.pk})

    assert response.status_code == 302
    assert response["Location"] == "/cua-hang/moi/"
    assert not StallApplication.objects.exists()


def test_it_asks_anonymous_visitors_to_sign_in(client):
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith("/dang-nhap/")
