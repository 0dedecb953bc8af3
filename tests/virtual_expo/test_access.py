"""An exhibitor reaches only their own booths and leads (another's are "not found"), staff pages
need the curate permission, unpublished exhibitions and booths are not public, and bad input
gets a 4xx with a message, never a 500."""

from __future__ import annotations

import pytest

from tests import factories
from virtual_expo import leads, services
from virtual_expo.models import Booth

from .conftest import booth_input, make_product

pytestmark = pytest.mark.django_db


@pytest.fixture
def inquiry(live_booth):
    return leads.inquiry_submit(
        booth=live_booth, name="Anh Khoa", phone="0905222333", message="Giá sỉ?", ip="1.1.1.1"
    )


@pytest.fixture
def stranger():
    merchant = factories.merchant_with_account()
    return merchant, factories.member_of(merchant)


def test_another_merchants_owner_gets_not_found_for_booth_and_leads(
    client, live_booth, inquiry, stranger
):
    merchant, user = stranger
    client.force_login(user)
    mine = live_booth.merchant_id
    for url in (
        f"/cua-hang/{mine}/hoi-cho/",
        f"/cua-hang/{mine}/hoi-cho/gian/{live_booth.pk}/",
        f"/cua-hang/{mine}/hoi-cho/khach-hoi/",
        f"/cua-hang/{mine}/hoi-cho/khach-hoi/{inquiry.pk}/",
        # through their own merchant id: still not theirs
        f"/cua-hang/{merchant.pk}/hoi-cho/gian/{live_booth.pk}/",
        f"/cua-hang/{merchant.pk}/hoi-cho/khach-hoi/{inquiry.pk}/",
    ):
        assert client.get(url).status_code == 404, url
    response = client.post(
        f"/cua-hang/{merchant.pk}/hoi-cho/khach-hoi/{inquiry.pk}/",
        {"action": "answer", "text": "x"},
    )
    assert response.status_code == 404
    api = client.patch(
        f"/api/v1/expo/merchants/{merchant.pk}/booths/{live_booth.pk}",
        {"tagline_vi": "Của tôi"},
        content_type="application/json",
    )
    assert api.status_code == 404
    api = client.post(
        f"/api/v1/expo/merchants/{merchant.pk}/leads/{inquiry.pk}/answers",
        {"text": "Chào"},
        content_type="application/json",
    )
    assert api.status_code == 404
    assert client.get(f"/api/v1/expo/merchants/{mine}/leads").status_code == 404
    live_booth.refresh_from_db()
    assert live_booth.tagline_vi == "Gốm đỏ nặn tay"


def test_a_cashier_cannot_run_the_booth(client, live_booth):
    cashier = factories.member_of(live_booth.merchant, role="cashier")
    client.force_login(cashier)
    assert client.get(f"/cua-hang/{live_booth.merchant_id}/hoi-cho/").status_code == 403


def test_the_owner_answers_through_the_page_and_the_api(client, live_booth, inquiry, potter_owner):
    client.force_login(potter_owner)
    base = f"/cua-hang/{live_booth.merchant_id}/hoi-cho/khach-hoi/"
    assert "Anh Khoa" in client.get(base).content.decode()
    response = client.post(f"{base}{inquiry.pk}/", {"action": "answer", "text": "Dạ 300.000 đ/bộ."})
    assert response.status_code == 302
    api = client.get(f"/api/v1/expo/merchants/{live_booth.merchant_id}/leads").json()
    assert api[0]["status"] == "answered" and api[0]["response_seconds"] is not None
    thread = client.get(f"/hoi-cho/hoi-dap/{inquiry.token}/").content.decode()
    assert "Dạ 300.000 đ/bộ." in thread


def test_staff_pages_need_the_curate_permission(
    client, exhibition, live_booth, potter_owner, curator
):
    urls = [
        "/quan-ly/hoi-cho/",
        "/quan-ly/hoi-cho/moi/",
        f"/quan-ly/hoi-cho/{exhibition.pk}/",
        f"/quan-ly/hoi-cho/gian/{live_booth.pk}/",
        "/quan-ly/hoi-cho/spam/",
    ]
    assert client.get(urls[0]).status_code == 302  # to the sign-in page
    client.force_login(factories.staff_reviewer())  # a market officer, not a curator
    assert all(client.get(u).status_code == 403 for u in urls)
    response = client.post(
        f"/api/v1/expo/staff/booths/{live_booth.pk}/publish",
        {"published": False},
        content_type="application/json",
    )
    assert response.status_code == 403
    client.force_login(curator)
    assert all(client.get(u).status_code == 200 for u in urls)


def test_unpublished_things_are_not_public(client, curator, exhibition, potter, potter_owner):
    other = factories.merchant_with_account()
    owner = factories.member_of(other)
    draft = services.booth_apply(
        actor=owner,
        merchant=other,
        exhibition=exhibition,
        data=booth_input(exhibition, [make_product(other, "Nón lá")]),
        submit=True,
    )
    assert client.get(f"/hoi-cho/{exhibition.slug}/gian/{draft.pk}/").status_code == 404
    assert (
        client.get(f"/api/v1/expo/exhibitions/{exhibition.slug}/booths/{draft.pk}").status_code
        == 404
    )
    exhibition.is_published = False
    exhibition.save()
    assert client.get(f"/hoi-cho/{exhibition.slug}/").status_code == 404
    assert client.get("/api/v1/expo/exhibitions").json() == []
    client.force_login(curator)  # curators preview
    assert client.get(f"/hoi-cho/{exhibition.slug}/").status_code == 200


def test_the_staff_api_reviews_with_the_checklist(
    client, curator, exhibition, potter, potter_owner, pots
):
    booth = services.booth_apply(
        actor=potter_owner,
        merchant=potter,
        exhibition=exhibition,
        data=booth_input(exhibition, pots),
        submit=True,
    )
    client.force_login(curator)
    url = f"/api/v1/expo/staff/booths/{booth.pk}/decision"
    bad = client.post(url, {"decision": "approve"}, content_type="application/json")
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "checklist_incomplete"
    checks = {
        "business_verified": True,
        "photos_real": True,
        "prices_shown": True,
        "descriptions_vi": True,
    }
    ok = client.post(
        url,
        {"decision": "approve", "checklist": checks, "publish": True},
        content_type="application/json",
    )
    assert ok.status_code == 200 and ok.json()["is_published"] is True
    again = client.post(
        url, {"decision": "reject", "comment": "x"}, content_type="application/json"
    )
    assert again.status_code == 409
    listed = client.get(f"/api/v1/expo/staff/exhibitions/{exhibition.pk}/applications").json()
    assert listed[0]["status"] == Booth.Status.APPROVED


def test_bad_input_is_a_4xx_with_a_message(client, exhibition, live_booth):
    url = f"/hoi-cho/{exhibition.slug}/gian/{live_booth.pk}/hoi-hang/"
    page = client.post(url, {"name": "", "message": ""})
    assert page.status_code == 422 and "Vui lòng" in page.content.decode()
    api = client.post(
        f"/api/v1/expo/exhibitions/{exhibition.slug}/booths/{live_booth.pk}/inquiries",
        {"name": "A", "message": "Hỏi", "phone": "abc"},
        content_type="application/json",
    )
    assert api.status_code == 422 and "phone" in api.json()["error"]["fields"]
    for _ in range(5):
        client.post(url, {"name": "Khoa", "phone": "0905222333", "message": "Hỏi giá"})
    limited = client.post(url, {"name": "Khoa", "phone": "0905222333", "message": "Hỏi giá"})
    assert limited.status_code == 429
    assert client.get(f"/hoi-cho/{exhibition.slug}/gian/999999/").status_code == 404
    assert client.get("/api/v1/expo/exhibitions/khong-co").status_code == 404


def test_an_inquiry_from_the_page_leads_to_its_private_thread(client, exhibition, live_booth):
    url = f"/hoi-cho/{exhibition.slug}/gian/{live_booth.pk}/hoi-hang/"
    response = client.post(url, {"name": "Khoa", "email": "khoa@example.com", "message": "Hỏi giá"})
    assert response.status_code == 302 and "/hoi-cho/hoi-dap/" in response["Location"]
    honeypot = client.post(
        url, {"name": "Bot", "email": "b@example.com", "message": "x", "website": "y"}
    )
    assert honeypot.status_code == 302 and "/hoi-dap/" not in honeypot["Location"]
