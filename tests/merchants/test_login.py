"""Signing in by phone (`/dang-nhap/`), the lockout after repeated failures, signing out and
changing the password."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY

from merchants.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

URL = "/dang-nhap/"
WRONG = "khong-phai-mat-khau"


@pytest.fixture
def user():
    return UserFactory(phone="+84905123456")


def log_in(client, username="0905 123 456", password=PASSWORD, **extra):
    return client.post(URL, {"username": username, "password": password, **extra})


def signed_in_as(client) -> int | None:
    value = client.session.get(SESSION_KEY)
    return int(value) if value is not None else None


def form_error_codes(response) -> set[str]:
    return {e.code for e in response.context["form"].errors.as_data().get("__all__", [])}


def test_it_shows_the_form(client):
    assert client.get(URL).status_code == 200


@pytest.mark.parametrize(
    "typed", ["0905 123 456", "0905123456", "+84905123456", "84905123456", "0905-123-456"]
)
def test_it_accepts_the_phone_in_any_accepted_spelling(client, user, typed):
    response = log_in(client, username=typed)

    assert response.status_code == 302
    assert signed_in_as(client) == user.pk


def test_it_follows_next_to_a_page_of_the_site(client, user):
    response = log_in(client, next="/cua-hang/moi/")

    assert response["Location"] == "/cua-hang/moi/"


def test_it_does_not_follow_next_to_another_site(client, user):
    response = log_in(client, next="https://evil.example/")

    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_it_refuses_a_wrong_password(client, user):
    response = log_in(client, password=WRONG)

    assert response.status_code == 200
    assert form_error_codes(response) == {"invalid_login"}
    assert signed_in_as(client) is None


def test_it_refuses_an_unknown_phone(client, user):
    response = log_in(client, username="0905 999 999")

    assert form_error_codes(response) == {"invalid_login"}
    assert signed_in_as(client) is None


def test_it_refuses_an_inactive_user(client):
    UserFactory(phone="+84905123456", is_active=False)

    log_in(client)

    assert signed_in_as(client) is None


def test_it_locks_the_number_after_too_many_failures_even_with_the_right_password(
    client, user, settings
):
    assert settings.LOGIN_MAX_FAILURES > 1
    for _ in range(settings.LOGIN_MAX_FAILURES):
        assert form_error_codes(log_in(client, password=WRONG)) == {"invalid_login"}

    response = log_in(client, password=PASSWORD)

    assert response.status_code == 429
    assert response["Retry-After"] == str(settings.LOGIN_LOCK_SECONDS)
    assert form_error_codes(response) == {"locked"}
    assert signed_in_as(client) is None


def test_it_counts_failures_per_number_whatever_the_spelling(client, user, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for spelling in ("0905 123 456", "+84905123456", "84905123456"):
        log_in(client, username=spelling, password=WRONG)

    assert form_error_codes(log_in(client, username="0905-123-456")) == {"locked"}


def test_it_does_not_lock_before_the_limit(client, user, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(2):
        log_in(client, password=WRONG)

    response = log_in(client)

    assert response.status_code == 302
    assert signed_in_as(client) == user.pk


def test_it_resets_the_counter_after_a_successful_sign_in(client, user, settings):
    settings.LOGIN_MAX_FAILURES = 3
    for _ in range(2):
        log_in(client, password=WRONG)
    assert log_in(client).status_code == 302
    client.post("/dang-xuat/")

    for _ in range(2):
        log_in(client, password=WRONG)
    response = log_in(client)

    assert response.status_code == 302
    assert signed_in_as(client) == user.pk


def test_it_does_not_lock_other_numbers(client, user, settings):
    settings.LOGIN_MAX_FAILURES = 2
    other = UserFactory(phone="+84905654321")
    for _ in range(2):
        log_in(client, password=WRONG)

    response = log_in(client, username="0905 654 321")

    assert response.status_code == 302
    assert signed_in_as(client) == other.pk


def test_it_signs_out_with_a_post(client, user):
    client.force_login(user)

    response = client.post("/dang-xuat/")

    assert response.status_code == 302
    assert response["Location"] == URL
    assert signed_in_as(client) is None


def test_it_does_not_sign_out_with_a_get(client, user):
    client.force_login(user)

    response = client.get("/dang-xuat/")

    assert response.status_code == 405
    assert signed_in_as(client) == user.pk


def test_it_changes_the_password_and_keeps_the_user_signed_in(client, user):
    client.force_login(user)
    new = "mat-khau-moi-rat-dai-2027"
    assert client.get("/doi-mat-khau/").status_code == 200

    response = client.post(
        "/doi-mat-khau/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
    user.refresh_from_db()
    assert user.check_password(new)
    assert signed_in_as(client) == user.pk


def test_it_refuses_to_change_the_password_without_the_old_one(client, user):
    client.force_login(user)
    new = "mat-khau-moi-rat-dai-2027"

    response = client.post(
        "/doi-mat-khau/", {"old_password": WRONG, "new_password1": new, "new_password2": new}
    )

    assert response.status_code == 200
    assert "old_password" in response.context["form"].errors
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


def test_it_refuses_a_weak_new_password(client, user):
    client.force_login(user)

    response = client.post(
        "/doi-mat-khau/",
        {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
    )

    assert "new_password2" in response.context["form"].errors
    assert User.objects.get(pk=user.pk).check_password(PASSWORD)


def test_it_sends_an_anonymous_visitor_of_the_password_page_to_sign_in(client):
    response = client.get("/doi-mat-khau/")

    assert response.status_code == 302
    assert response["Location"].startswith(URL)
