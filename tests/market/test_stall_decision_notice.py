"""Issue 16: when staff decide a stall application the trader hears of it — one SMS through
the SMS gateway (sandbox over HTTP), sent after the decision commits and only once however
often the decision is submitted, and a notice on the trader's home until they dismiss it (a
POST; showing home writes nothing)."""

from __future__ import annotations

import pytest

from market.models import StallApplication
from tests.factories import (
    MarketFactory,
    MerchantFactory,
    StallApplicationFactory,
    StallFactory,
    member_of,
    owner_of,
    staff_reviewer,
)

pytestmark = pytest.mark.django_db

TRADER_PHONE = "+84905777888"
PAGES = "/quan-ly/don-dang-ky"
API = "/api/v1/market/review/applications"


@pytest.fixture
def application():
    market = MarketFactory(name="Chợ Hàn")
    StallFactory(market=market, code="A-12")
    merchant = MerchantFactory(display_name="Hải sản Hùng")
    trader = member_of(merchant, phone=TRADER_PHONE, full_name="Trần Văn Hùng")
    return StallApplicationFactory(
        merchant=merchant, market=market, requested_code="A-12", created_by=trader
    )


@pytest.fixture
def reviewer(client):
    user = staff_reviewer()
    client.force_login(user)
    return user


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    def send(url, data, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data, **extra)

    return send


def _decide(post, application, **data):
    return post(f"{PAGES}/{application.pk}/quyet-dinh/", data)


def test_an_approval_is_texted_once_even_when_submitted_twice(post, sms, reviewer, application):
    first = _decide(post, application, decision="approve")
    second = _decide(post, application, decision="approve")
    by_api = post(f"{API}/{application.pk}/approve", {}, content_type="application/json")

    assert (first.status_code, second.status_code, by_api.status_code) == (302, 302, 200)
    (message,) = sms.outbox(to=TRADER_PHONE)
    assert message["text"].startswith("Chợ Số: Sạp A-12 ở Chợ Hàn đã được duyệt cho Hải sản Hùng.")
    assert message["reference"] == f"stall-decision-{application.pk}"


def test_a_rejection_is_texted_with_its_reason(post, sms, reviewer, application):
    _decide(post, application, decision="reject", reason="Thiếu giấy phép kinh doanh")
    _decide(post, application, decision="reject", reason="Thiếu giấy phép kinh doanh")

    (message,) = sms.outbox(to=TRADER_PHONE)
    assert "chưa được duyệt" in message["text"]
    assert "Lý do: Thiếu giấy phép kinh doanh" in message["text"]


def test_an_application_by_api_key_is_texted_to_the_owner(post, sms, reviewer):
    market = MarketFactory(name="Chợ Cồn")
    StallFactory(market=market, code="B-1")
    merchant = MerchantFactory()
    owner_of(merchant, phone="+84905777999")
    application = StallApplicationFactory(merchant=merchant, market=market, created_by=None)

    _decide(post, application, decision="approve")

    assert len(sms.outbox(to="+84905777999")) == 1


def test_a_decision_stands_when_the_sms_gateway_is_down(post, sms, reviewer, application):
    sms.set_faults(fail_next=5)

    answer = _decide(post, application, decision="approve")

    assert answer.status_code == 302
    application.refresh_from_db()
    assert application.status == StallApplication.Status.APPROVED


def test_the_trader_sees_the_notice_on_home_until_dismissing_it(
    client, post, sms, reviewer, application
):
    _decide(post, application, decision="approve")
    trader = application.created_by
    client.force_login(trader)

    home = client.get("/").content.decode()
    assert f'id="decision-notice-{application.pk}"' in home
    assert "Sạp A-12 ở Chợ Hàn đã được duyệt" in home
    again = client.get("/").content.decode()
    assert f'id="decision-notice-{application.pk}"' in again  # reading home changes nothing
    application.refresh_from_db()
    assert application.notice_dismissed_at is None

    dismissed = post(f"/sap/don/{application.pk}/da-xem/", {})

    assert dismissed.status_code == 302 and dismissed["Location"] == "/"
    assert f'id="decision-notice-{application.pk}"' not in client.get("/").content.decode()
    application.refresh_from_db()
    assert application.notice_dismissed_at is not None


def test_a_rejection_notice_shows_the_reason(client, post, sms, reviewer, application):
    _decide(post, application, decision="reject", reason="Sạp đã có người đăng ký trước")
    client.force_login(application.created_by)

    home = client.get("/").content.decode()

    assert "Đơn đăng ký sạp ở Chợ Hàn chưa được duyệt" in home
    assert "Sạp đã có người đăng ký trước" in home


def test_a_pending_application_has_no_notice(client, application):
    client.force_login(application.created_by)

    assert "decision-notice-" not in client.get("/").content.decode()


def test_another_merchants_trader_cannot_dismiss_it(client, post, sms, reviewer, application):
    _decide(post, application, decision="approve")
    client.force_login(owner_of())

    assert post(f"/sap/don/{application.pk}/da-xem/", {}).status_code == 404
    application.refresh_from_db()
    assert application.notice_dismissed_at is None


def test_dismissing_needs_a_post(client, sms, reviewer, application, post):
    _decide(post, application, decision="approve")
    client.force_login(application.created_by)

    assert client.get(f"/sap/don/{application.pk}/da-xem/").status_code == 405


def test_a_pending_application_cannot_be_dismissed(client, post, application):
    client.force_login(application.created_by)

    assert post(f"/sap/don/{application.pk}/da-xem/", {}).status_code == 404
