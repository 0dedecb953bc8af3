"""Only trade-department staff holding market.review_stallapplication may review applications:
being staff (is_staff) is not enough, and traders never can."""

from __future__ import annotations

import pytest

from core.models import AuditLog
from market.models import StallApplication
from tests.factories import (
    StallApplicationFactory,
    StallFactory,
    UserFactory,
    api_key_for,
    owner_of,
    staff_reviewer,
)

pytestmark = pytest.mark.django_db

API = "/api/v1/market/review/applications"
PAGES = "/quan-ly/don-dang-ky"


@pytest.fixture
def application():
    application = StallApplicationFactory(requested_code="B-3")
    StallFactory(market=application.market, code="B-3")
    return application


def _api_calls(application) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", API, None),
        ("post", f"{API}/{application.pk}/approve", {}),
        ("post", f"{API}/{application.pk}/reject", {"reason": "Thiếu giấy tờ"}),
    ]


def _page_calls(application) -> list[tuple[str, str, dict | None]]:
    return [
        ("get", f"{PAGES}/", None),
        ("get", f"{PAGES}/{application.pk}/", None),
        ("post", f"{PAGES}/{application.pk}/quyet-dinh/", {"decision": "approve"}),
    ]


def _call(client, method: str, url: str, data: dict | None, *, json: bool):
    if method == "get":
        return client.get(url)
    if json:
        return client.post(url, data, content_type="application/json")
    return client.post(url, data)


def _assert_untouched(application) -> None:
    application.refresh_from_db()
    assert application.status == StallApplication.Status.PENDING
    assert application.stall is None
    assert not AuditLog.objects.filter(action__startswith="stall_application.").exists()


def _staff_without_permission():
    return UserFactory(is_staff=True)


@pytest.mark.parametrize("who", [_staff_without_permission, owner_of], ids=["staff", "trader"])
def test_it_forbids_the_review_api_without_the_permission(client, application, who):
    client.force_login(who())

    for method, url, data in _api_calls(application):
        response = _call(client, method, url, data, json=True)
        assert response.status_code == 403, url
        assert response.json()["error"]["code"] == "permission_denied", url

    _assert_untouched(application)


def test_it_forbids_the_trader_who_applied(client, application):
    client.force_login(owner_of(application.merchant))

    for method, url, data in _api_calls(application):
        assert _call(client, method, url, data, json=True).status_code == 403, url

    _assert_untouched(application)


@pytest.mark.parametrize("who", [_staff_without_permission, owner_of], ids=["staff", "trader"])
def test_it_forbids_the_review_pages_without_the_permission(client, application, who):
    client.force_login(who())

    for method, url, data in _page_calls(application):
        assert _call(client, method, url, data, json=False).status_code == 403, url

    _assert_untouched(application)


def test_it_asks_anonymous_api_callers_to_sign_in(client, application):
    for method, url, data in _api_calls(application):
        response = _call(client, method, url, data, json=True)
        assert response.status_code == 401, url
        assert response.json()["error"]["code"] == "not_authenticated", url

    _assert_untouched(application)


def test_it_sends_anonymous_visitors_of_the_review_pages_to_sign_in(client, application):
    for method, url, data in _page_calls(application):
        response = _call(client, method, url, data, json=False)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/dang-nhap/?next="), url

    _assert_untouched(application)


def test_it_does_not_accept_an_api_key_for_reviewing(client, application):
    auth = {"Authorization": f"Bearer {api_key_for(application.merchant)}"}

    response = client.get(API, headers=auth)
    approve = client.post(
        f"{API}/{application.pk}/approve", {}, content_type="application/json", headers=auth
    )

    assert (response.status_code, approve.status_code) == (401, 401)
    _assert_untouched(application)


def test_it_lets_a_reviewer_in(client, application):
    client.force_login(staff_reviewer())

    for method, url, _data in _page_calls(application)[:2]:
        assert _call(client, method, url, None, json=False).status_code == 200, url
    assert client.get(API).status_code == 200


def test_it_shows_reviewers_a_link_to_the_queue_on_their_home_page(client):
    client.force_login(staff_reviewer())

    html = client.get("/").content.decode()

    assert f"{PAGES}/" in html


def test_it_does_not_show_traders_the_queue_link(client):
    client.force_login(owner_of())

    html = client.get("/").content.decode()

    assert f"{PAGES}/" not in html
