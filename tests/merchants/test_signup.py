"""The sign-up page `/dang-ky/`: a trader registers with a mobile number and a password."""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY

from merchants.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

URL = "/dang-ky/"


def sign_up(client, **overrides):
    data = {
        "full_name": "Nguyễn Thị Lan",
        "phone": "0905 123 456",
        "password": PASSWORD,
        "password2": PASSWORD,
        "email": "",
        **overrides,
    }
    return client.post(URL, data)


def errors(response) -> dict[str, list[str]]:
    return response.context["form"].errors


def test_it_shows_the_form(client):
    response = client.get(URL)

    assert response.status_code == 200
    assert 'name="phone"' in response.content.decode()


def test_it_creates_the_user_with_an_e164_phone(client):
    sign_up(client, phone="0905-123-456")

    user = User.objects.get()
    assert user.phone == "+84905123456"
    assert user.full_name == "Nguyễn Thị Lan"
    assert user.check_password(PASSWORD)
    assert not user.is_staff


def test_it_signs_the_new_user_in_and_sends_them_to_create_their_merchant(client):
    response = sign_up(client)

    assert response.status_code == 302
    assert response["Location"] == "/cua-hang/moi/"
    assert int(client.session[SESSION_KEY]) == User.objects.get().pk
    assert client.get("/cua-hang/moi/").status_code == 200


def test_it_refuses_a_phone_that_already_has_an_account_in_any_spelling(client):
    UserFactory(phone="+84905123456")

    response = sign_up(client, phone="84905123456")

    assert response.status_code == 200
    assert "phone" in errors(response)
    assert User.objects.count() == 1
    assert SESSION_KEY not in client.session


def test_it_refuses_a_landline(client):
    response = sign_up(client, phone="0236 3822 123")

    assert errors(response)["phone"] == [
        "Số điện thoại di động Việt Nam không hợp lệ (ví dụ 0905 123 456)."
    ]
    assert not User.objects.exists()


def test_it_refuses_mismatched_passwords(client):
    response = sign_up(client, password2=PASSWORD + "x")

    assert response.status_code == 200
    assert "password2" in errors(response)
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "weak",
    [
        "12345678",  # numeric (and common)
        "20261124",  # numeric
        "abc12",  # too short
        "password",  # common
        "0905123456",  # the phone number itself
    ],
)
def test_it_refuses_a_weak_password(client, weak):
    response = sign_up(client, password=weak, password2=weak)

    assert response.status_code == 200
    assert errors(response)["password"]
    assert not User.objects.exists()


def test_it_requires_a_name(client):
    response = sign_up(client, full_name="   ")

    assert "full_name" in errors(response)
    assert not User.objects.exists()


def test_it_sends_a_signed_in_user_home(client):
    client.force_login(UserFactory())

    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"] == "/"
