"""The owner's "Báo có ngân hàng" pages: who may open them, what a bad form answers, and that
opening a page writes nothing."""

from __future__ import annotations

import pytest

from core.models import AuditLog
from payments.bankalerts import bank_alert_connect
from payments.models import BankAlertConnection
from tests.factories import member_of, merchant_with_account

pytestmark = pytest.mark.django_db

PAGES = [
    ("get", "/cua-hang/{m}/bao-co/"),
    ("post", "/cua-hang/{m}/bao-co/"),
    ("get", "/cua-hang/{m}/bao-co/{c}/"),
    ("get", "/cua-hang/{m}/bao-co/{c}/trang-thai/"),
    ("post", "/cua-hang/{m}/bao-co/{c}/gui-thu/"),
    ("post", "/cua-hang/{m}/bao-co/{c}/ngat/"),
]
CONNECT = {"provider": "sepay", "auth": "apikey", "api_token": ""}


@pytest.fixture
def merchant():
    return merchant_with_account()


@pytest.fixture
def owner(merchant):
    return member_of(merchant)


@pytest.fixture
def connection(merchant, owner):
    return bank_alert_connect(merchant=merchant, provider="sepay", auth="apikey", actor=owner)


def url(path: str, merchant, connection) -> str:
    return path.format(m=merchant.pk, c=connection.connection.pk)


def snapshot():
    return (
        list(BankAlertConnection.objects.values()),
        AuditLog.objects.count(),
    )


def test_it_covers_every_bank_alert_route():
    from payments.urls import urlpatterns

    routed = {str(p.pattern) for p in urlpatterns if "bao-co" in str(p.pattern)}
    tabled = {
        p.removeprefix("/")
        .replace("{m}", "<int:merchant_id>")
        .replace("{c}", "<int:connection_id>")
        for _m, p in PAGES
    }
    assert routed == tabled


@pytest.mark.parametrize(("method", "path"), PAGES, ids=str)
def test_it_shows_404_to_another_merchants_owner(client, merchant, connection, method, path):
    intruder = member_of(merchant_with_account())
    before = snapshot()
    client.force_login(intruder)

    response = getattr(client, method)(url(path, merchant, connection), CONNECT)

    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize(("method", "path"), PAGES, ids=str)
def test_it_refuses_a_cashier_with_403(client, merchant, connection, method, path):
    cashier = member_of(merchant, role="cashier")
    before = snapshot()
    client.force_login(cashier)

    response = getattr(client, method)(url(path, merchant, connection), CONNECT)

    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize(("method", "path"), PAGES, ids=str)
def test_it_sends_an_anonymous_visitor_to_sign_in(client, merchant, connection, method, path):
    response = getattr(client, method)(url(path, merchant, connection), CONNECT)

    assert response.status_code == 302
    assert "/dang-nhap/" in response["Location"]


def test_it_answers_404_for_another_merchants_connection_under_ones_own_id(client, connection):
    other = merchant_with_account()
    client.force_login(member_of(other))

    response = client.get(f"/cua-hang/{other.pk}/bao-co/{connection.connection.pk}/")

    assert response.status_code == 404


@pytest.mark.parametrize(("method", "path"), [p for p in PAGES if p[0] == "get"], ids=str)
def test_it_writes_nothing_on_get(client, merchant, owner, connection, method, path):
    client.force_login(owner)
    before = snapshot()

    response = client.get(url(path, merchant, connection))

    assert response.status_code == 200
    assert snapshot() == before


def test_it_shows_the_key_once_and_never_again(client, merchant, owner):
    client.force_login(owner)

    shown = client.post(f"/cua-hang/{merchant.pk}/bao-co/", CONNECT)

    connection = BankAlertConnection.objects.get()
    secret = shown.context["secret"]
    assert shown.status_code == 200 and secret in shown.content.decode()
    assert f"/api/v1/payments/webhooks/sepay/{connection.pk}" in shown.content.decode()
    for page in (
        f"/cua-hang/{merchant.pk}/bao-co/",
        f"/cua-hang/{merchant.pk}/bao-co/{connection.pk}/",
    ):
        assert secret not in client.get(page).content.decode()


@pytest.mark.parametrize(
    "form",
    [
        {**CONNECT, "provider": "momo"},
        {**CONNECT, "auth": "none"},
        {**CONNECT, "api_token": "x" * 201},
    ],
)
def test_it_answers_a_bad_form_with_422_and_a_message(client, merchant, owner, form):
    client.force_login(owner)

    response = client.post(f"/cua-hang/{merchant.pk}/bao-co/", form)

    assert response.status_code == 422
    assert response.context["errors"]
    assert not BankAlertConnection.objects.exists()


def test_a_disconnected_connection_refuses_its_webhooks(client, merchant, owner, connection):
    client.force_login(owner)
    client.post(f"/cua-hang/{merchant.pk}/bao-co/{connection.connection.pk}/ngat/")

    response = client.post(
        f"/api/v1/payments/webhooks/sepay/{connection.connection.pk}",
        data=b"{}",
        content_type="application/json",
        headers={"Authorization": f"Apikey {connection.secret}"},
    )

    assert response.status_code == 404


def test_the_test_button_never_sends_the_secret_to_a_real_provider(
    client, merchant, owner, connection, settings
):
    settings.SANDBOX_LINKS = True
    settings.SEPAY_API_URL = "https://my.sepay.vn"  # nothing may be sent there
    client.force_login(owner)

    response = client.post(f"/cua-hang/{merchant.pk}/bao-co/{connection.connection.pk}/gui-thu/")

    assert response.status_code == 302 and response["Location"].endswith("?gui=0#test")


def test_the_test_button_without_a_sandbox_shows_what_to_do(
    client, merchant, owner, connection, settings
):
    settings.SANDBOX_LINKS = False
    client.force_login(owner)

    response = client.post(
        f"/cua-hang/{merchant.pk}/bao-co/{connection.connection.pk}/gui-thu/", follow=True
    )

    code = BankAlertConnection.objects.get().test_code
    assert code.startswith("CSTEST")
    assert code in response.content.decode()
    assert "Đang chờ thông báo thử…" in response.content.decode()
