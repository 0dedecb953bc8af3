"""Staff review stall applications: the queue, approving (a stall is given) and rejecting (with a
reason the trader sees)."""

from __future__ import annotations

import pytest

from core.models import AuditLog
from market.models import GoodsCategory, Stall, StallApplication
from tests.factories import (
    MarketFactory,
    MerchantFactory,
    StallApplicationFactory,
    StallFactory,
    owner_of,
    staff_reviewer,
)

pytestmark = pytest.mark.django_db

API = "/api/v1/market/review/applications"
PAGES = "/quan-ly/don-dang-ky"
G = GoodsCategory


@pytest.fixture
def reviewer():
    return staff_reviewer(full_name="Ngô Minh Quân")


@pytest.fixture
def reviewing(client, reviewer):
    client.force_login(reviewer)
    return client


@pytest.fixture
def market():
    return MarketFactory(name="Chợ Bắc Mỹ An")


def _approve(client, application_id: int, **body):
    return client.post(f"{API}/{application_id}/approve", body, content_type="application/json")


def _reject(client, application_id: int, **body):
    return client.post(f"{API}/{application_id}/reject", body, content_type="application/json")


def _decisions(application) -> list[AuditLog]:
    return list(
        AuditLog.objects.filter(
            target_type="market.stallapplication",
            target_id=str(application.pk),
            action__in=["stall_application.approve", "stall_application.reject"],
        )
    )


# --- queue ------------------------------------------------------------------------------------


def test_it_lists_pending_applications_by_default(reviewing, market):
    first = StallApplicationFactory(market=market)
    second = StallApplicationFactory(market=market, requested_code="B-3")
    StallApplicationFactory(market=market, status=StallApplication.Status.APPROVED)
    StallApplicationFactory(market=market, status=StallApplication.Status.REJECTED)

    response = reviewing.get(API)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [a["id"] for a in body["items"]] == [first.pk, second.pk]
    assert {a["status"] for a in body["items"]} == {"pending"}


def test_it_lists_decided_applications_when_asked(reviewing, market):
    StallApplicationFactory(market=market)
    rejected = StallApplicationFactory(market=market, status=StallApplication.Status.REJECTED)

    body = reviewing.get(API, {"status": "rejected"}).json()

    assert [a["id"] for a in body["items"]] == [rejected.pk]


def test_it_shows_pending_applications_on_the_queue_page(reviewing, market):
    StallApplicationFactory(market=market, merchant=MerchantFactory(display_name="Cá Long"))
    StallApplicationFactory(
        market=market,
        merchant=MerchantFactory(display_name="Rau Thu"),
        status=StallApplication.Status.APPROVED,
    )

    response = reviewing.get(f"{PAGES}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Cá Long" in html
    assert "Rau Thu" not in html


def test_it_shows_an_application_with_the_free_stalls_to_choose_from(reviewing, market):
    application = StallApplicationFactory(market=market, note="Xin sạp gần cổng phụ")
    StallFactory(market=market, code="B-7")
    StallFactory(market=market, code="B-8", merchant=MerchantFactory())

    response = reviewing.get(f"{PAGES}/{application.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Xin sạp gần cổng phụ" in html
    assert 'value="B-7"' in html
    assert 'value="B-8"' not in html


# --- approve ----------------------------------------------------------------------------------


def test_it_approves_the_requested_stall(reviewing, reviewer, market):
    stall = StallFactory(market=market, code="B-3")
    application = StallApplicationFactory(market=market, requested_code="B-3")

    response = _approve(reviewing, application.pk, reason="Đủ giấy tờ")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["stall_code"], body["decision_reason"]) == (
        "approved",
        "B-3",
        "Đủ giấy tờ",
    )
    assert body["decided_at"] is not None
    stall.refresh_from_db()
    application.refresh_from_db()
    assert stall.merchant == application.merchant
    assert application.status == StallApplication.Status.APPROVED
    assert application.stall == stall
    assert application.decided_by == reviewer
    assert application.decided_at is not None
    [audit] = _decisions(application)
    assert audit.action == "stall_application.approve"
    assert audit.actor == reviewer
    assert audit.reason == "Đủ giấy tờ"
    assert audit.data == {"stall": "B-3"}


def test_it_gives_the_stall_staff_chose_instead_of_the_requested_one(reviewing, market):
    StallFactory(market=market, code="B-3")
    chosen = StallFactory(market=market, code="B-5")
    application = StallApplicationFactory(market=market, requested_code="B-3")

    response = _approve(reviewing, application.pk, stall_code="b5")

    assert response.json()["stall_code"] == "B-5"
    chosen.refresh_from_db()
    assert chosen.merchant_id == application.merchant_id
    assert Stall.objects.get(code="B-3").merchant is None


def test_it_assigns_a_free_stall_of_the_same_goods_category_first(reviewing, market):
    StallFactory(market=market, code="A-1", goods_category=G.VEGETABLES)
    StallFactory(market=market, code="B-1", goods_category=G.SEAFOOD, merchant=MerchantFactory())
    StallFactory(market=market, code="B-2", goods_category=G.SEAFOOD)
    StallFactory(market=market, code="B-3", goods_category=G.SEAFOOD)
    application = StallApplicationFactory(market=market, goods_category=G.SEAFOOD)

    response = _approve(reviewing, application.pk)

    assert response.status_code == 200
    assert response.json()["stall_code"] == "B-2"
    assert Stall.objects.get(code="B-2").merchant_id == application.merchant_id


def test_it_assigns_any_free_stall_when_none_of_the_category_is_free(reviewing, market):
    StallFactory(market=market, code="C-1", goods_category=G.FLOWERS, merchant=MerchantFactory())
    StallFactory(market=market, code="A-1", goods_category=G.VEGETABLES, merchant=MerchantFactory())
    StallFactory(market=market, code="A-2", goods_category=G.VEGETABLES)
    StallFactory(market=MarketFactory(), code="C-2", goods_category=G.FLOWERS)
    application = StallApplicationFactory(market=market, goods_category=G.FLOWERS)

    response = _approve(reviewing, application.pk)

    assert response.status_code == 200
    assert response.json()["stall_code"] == "A-2"


def test_it_refuses_to_approve_when_the_market_has_no_free_stall(reviewing, market):
    StallFactory(market=market, code="A-1", merchant=MerchantFactory())
    application = StallApplicationFactory(market=market)

    response = _approve(reviewing, application.pk)

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["stall_code"]
    application.refresh_from_db()
    assert application.status == StallApplication.Status.PENDING
    assert application.decided_by is None
    assert not _decisions(application)
    assert not Stall.objects.filter(merchant=application.merchant).exists()


def test_it_refuses_a_requested_stall_that_was_taken_meanwhile(reviewing, market):
    stall = StallFactory(market=market, code="B-3")
    application = StallApplicationFactory(market=market, requested_code="B-3")
    earlier = MerchantFactory()
    Stall.objects.filter(pk=stall.pk).update(merchant=earlier)

    response = _approve(reviewing, application.pk)

    assert response.status_code == 422
    assert list(response.json()["error"]["fields"]) == ["stall_code"]
    stall.refresh_from_db()
    application.refresh_from_db()
    assert stall.merchant == earlier
    assert application.status == StallApplication.Status.PENDING
    assert not _decisions(application)


@pytest.mark.parametrize("code", ["Z-9", "Z--9"])
def test_it_refuses_a_stall_code_the_market_does_not_have(reviewing, market, code):
    StallFactory(market=market, code="B-3")
    application = StallApplicationFactory(market=market)

    response = _approve(reviewing, application.pk, stall_code=code)

    assert response.status_code == 422
    application.refresh_from_db()
    assert application.status == StallApplication.Status.PENDING


def test_it_approves_twice_with_the_same_result_and_one_audit_row(reviewing, market):
    StallFactory(market=market, code="B-3")
    StallFactory(market=market, code="B-4")
    application = StallApplicationFactory(market=market, requested_code="B-3")

    first = _approve(reviewing, application.pk)
    again = _approve(reviewing, application.pk, stall_code="B-4")

    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()
    assert len(_decisions(application)) == 1
    assert Stall.objects.get(code="B-4").merchant is None


def test_it_refuses_to_reject_an_approved_application(reviewing, market):
    StallFactory(market=market, code="B-3")
    application = StallApplicationFactory(market=market, requested_code="B-3")
    _approve(reviewing, application.pk)

    response = _reject(reviewing, application.pk, reason="Đổi ý")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "application_decided"
    application.refresh_from_db()
    assert application.status == StallApplication.Status.APPROVED
    assert Stall.objects.get(code="B-3").merchant_id == application.merchant_id
    assert len(_decisions(application)) == 1


def test_it_refuses_to_approve_a_rejected_application(reviewing, market):
    StallFactory(market=market, code="B-3")
    application = StallApplicationFactory(market=market)
    _reject(reviewing, application.pk, reason="Thiếu giấy phép")

    response = _approve(reviewing, application.pk)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "application_decided"
    assert Stall.objects.get(code="B-3").merchant is None


@pytest.mark.parametrize("action", ["approve", "reject"])
def test_it_answers_404_for_an_unknown_application(reviewing, action):
    response = reviewing.post(
        f"{API}/987654/{action}", {"reason": "x"}, content_type="application/json"
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_it_shows_a_not_found_page_for_an_unknown_application(reviewing):
    assert reviewing.get(f"{PAGES}/987654/").status_code == 404
    assert reviewing.post(f"{PAGES}/987654/quyet-dinh/", {"decision": "approve"}).status_code == 404


# --- reject -----------------------------------------------------------------------------------


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
def test_it_requires_a_reason_to_reject(reviewing, market, body):
    application = StallApplicationFactory(market=market)

    response = _reject(reviewing, application.pk, **body)

    assert response.status_code == 422
    assert "reason" in response.json()["error"]["fields"]
    application.refresh_from_db()
    assert application.status == StallApplication.Status.PENDING
    assert not _decisions(application)


def test_it_rejects_with_the_reason_stored_and_audited(reviewing, reviewer, market):
    stall = StallFactory(market=market, code="B-3")
    application = StallApplicationFactory(market=market, requested_code="B-3")

    response = _reject(reviewing, application.pk, reason="Thiếu giấy phép kinh doanh")

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert response.json()["decision_reason"] == "Thiếu giấy phép kinh doanh"
    application.refresh_from_db()
    assert application.status == StallApplication.Status.REJECTED
    assert application.decision_reason == "Thiếu giấy phép kinh doanh"
    assert application.decided_by == reviewer
    assert application.decided_at is not None
    assert application.stall is None
    stall.refresh_from_db()
    assert stall.merchant is None
    [audit] = _decisions(application)
    assert (audit.action, audit.actor, audit.reason) == (
        "stall_application.reject",
        reviewer,
        "Thiếu giấy phép kinh doanh",
    )


def test_it_rejects_twice_with_the_first_reason_kept(reviewing, market):
    application = StallApplicationFactory(market=market)
    _reject(reviewing, application.pk, reason="Thiếu giấy phép")

    again = _reject(reviewing, application.pk, reason="Lý do khác")

    assert again.status_code == 200
    assert again.json()["decision_reason"] == "Thiếu giấy phép"
    assert len(_decisions(application)) == 1


# --- what the trader sees ---------------------------------------------------------------------


def test_it_shows_the_trader_the_rejection_and_its_reason(client, reviewing, market):
    application = StallApplicationFactory(market=market)
    _reject(reviewing, application.pk, reason="Thiếu giấy phép kinh doanh")

    client.force_login(owner_of(application.merchant))
    html = client.get("/").content.decode()

    assert "Bị từ chối" in html
    assert "Thiếu giấy phép kinh doanh" in html


def test_it_shows_the_trader_the_stall_they_were_given(client, reviewing, market):
    StallFactory(market=market, code="B-3")
    application = StallApplicationFactory(market=market)
    _approve(reviewing, application.pk)

    client.force_login(owner_of(application.merchant))
    html = client.get("/").content.decode()

    assert "Đã duyệt" in html
    assert "B-3" in html


def test_it_does_not_show_a_trader_another_traders_decision(client, reviewing, market):
    application = StallApplicationFactory(market=market)
    _reject(reviewing, application.pk, reason="Lý do riêng của người khác")

    client.force_login(owner_of())
    html = client.get("/").content.decode()

    assert "Lý do riêng của người khác" not in html


# --- decision page ----------------------------------------------------------------------------


def test_it_approves_from_the_decision_page(reviewing, reviewer, market):
    StallFactory(market=market, code="B-3")
    application = StallApplicationFactory(market=market)

    response = reviewing.post(
        f"{PAGES}/{application.pk}/quyet-dinh/", {"decision": "approve", "stall_code": ""}
    )

    assert response.status_code == 302
    assert response["Location"] == f"{PAGES}/"
    application.refresh_from_db()
    assert application.status == StallApplication.Status.APPROVED
    assert application.stall.code == "B-3"
    assert application.decided_by == reviewer


def test_it_rejects_from_the_decision_page_only_with_a_reason(reviewing, market):
    application = StallApplicationFactory(market=market)
    url = f"{PAGES}/{application.pk}/quyet-dinh/"

    without = reviewing.post(url, {"decision": "reject", "reason": ""})
    application.refresh_from_db()
    assert without.status_code == 422
    assert application.status == StallApplication.Status.PENDING

    with_reason = reviewing.post(url, {"decision": "reject", "reason": "Sai ngành hàng"})
    application.refresh_from_db()
    assert with_reason.status_code == 302
    assert application.status == StallApplication.Status.REJECTED
    assert application.decision_reason == "Sai ngành hàng"


def test_it_shows_the_no_free_stall_error_on_the_decision_page(reviewing, market):
    StallFactory(market=market, merchant=MerchantFactory())
    application = StallApplicationFactory(market=market)

    response = reviewing.post(f"{PAGES}/{application.pk}/quyet-dinh/", {"decision": "approve"})

    assert response.status_code == 422
    assert "không còn sạp trống" in response.content.decode()
    application.refresh_from_db()
    assert application.status == StallApplication.Status.PENDING


def test_it_keeps_the_first_decision_when_the_page_decides_again(reviewing, market):
    application = StallApplicationFactory(market=market)
    _reject(reviewing, application.pk, reason="Thiếu giấy phép")

    response = reviewing.post(f"{PAGES}/{application.pk}/quyet-dinh/", {"decision": "approve"})

    assert response.status_code == 422
    assert "Bị từ chối" in response.content.decode()
    application.refresh_from_db()
    assert application.status == StallApplication.Status.REJECTED
    assert len(_decisions(application)) == 1
