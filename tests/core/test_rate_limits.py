"""Rate limits (core/ratelimits.py on django-ratelimit, keyed by core/clientip.py): the helpers,
the sign-in limit per client across numbers, the JSON API per key / user / anonymous client, the
payment webhooks never limited, and the 429 answers (JSON shape, Retry-After, the friendly page
in Vietnamese and English).

Every test sets its own small rate: the defaults are generous and the suite's autouse fixture
clears the cache (the counters) before each test. The invoice lookup, exhibition inquiries and
checkout have their tests next to their apps' (test_lookup_rate_limits.py,
test_inquiry_rate_limits.py, test_checkout_rate_limit.py).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory

from config.env import env_rate
from core import ratelimits
from tests.factories import (
    PASSWORD,
    UserFactory,
    api_key_for,
    banknotify_deliver,
    banknotify_payload,
    member_of,
    merchant_with_account,
)

LB = "10.0.0.5"  # our load balancer


@pytest.fixture
def behind_the_balancer(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]


def visitor(ip: str, **extra) -> Client:
    """A browser at `ip`, reaching the app through our load balancer."""
    return Client(REMOTE_ADDR=LB, HTTP_X_FORWARDED_FOR=ip, **extra)


def request(ip: str = "198.51.100.1"):
    return RequestFactory().get("/", REMOTE_ADDR=ip)


# --- the helpers ----------------------------------------------------------------------------------


def test_hit_allows_the_rates_count_then_limits_with_the_time_left(settings):
    settings.RATE_TEST = "3/m"
    verdicts = [ratelimits.hit(request(), group="t", rate="RATE_TEST") for _ in range(4)]

    assert [v.limited for v in verdicts] == [False, False, False, True]
    assert 1 <= verdicts[-1].retry_after <= 61
    assert not ratelimits.hit(request("198.51.100.2"), group="t", rate="RATE_TEST").limited
    assert not ratelimits.hit(request(), group="other", rate="RATE_TEST").limited


def test_peek_limits_once_the_count_is_reached_without_counting(settings):
    settings.RATE_TEST = "2/m"
    for _ in range(5):
        assert not ratelimits.peek(request(), group="t", rate="RATE_TEST").limited
    ratelimits.hit(request(), group="t", rate="RATE_TEST")
    ratelimits.hit(request(), group="t", rate="RATE_TEST")

    assert ratelimits.peek(request(), group="t", rate="RATE_TEST").limited


def test_an_empty_rate_turns_the_limit_off(settings):
    settings.RATE_TEST = ""

    assert not any(
        ratelimits.hit(request(), group="t", rate="RATE_TEST").limited for _ in range(50)
    )


def test_the_limits_can_all_be_switched_off(settings):
    settings.RATE_TEST = "1/m"
    settings.RATELIMIT_ENABLE = False

    assert not any(ratelimits.hit(request(), group="t", rate="RATE_TEST").limited for _ in range(5))


def test_a_cache_outage_lets_requests_through(settings):
    settings.RATE_TEST = "1/m"
    # Redis as production has it, on a port where nothing listens: every counter call fails.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }

    assert not any(ratelimits.hit(request(), group="t", rate="RATE_TEST").limited for _ in range(3))


@pytest.mark.parametrize(
    ("raw", "value"),
    [(None, "600/m"), ("", "600/m"), ("30/15m", "30/15m"), (" 10/H ", "10/h"), ("off", "")],
)
def test_rates_are_read_from_the_environment(monkeypatch, raw, value):
    if raw is None:
        monkeypatch.delenv("RATE_X", raising=False)
    else:
        monkeypatch.setenv("RATE_X", raw)

    assert env_rate("RATE_X", "600/m") == value


@pytest.mark.parametrize("raw", ["600", "600/min", "0/m", "many/m", "-1/m"])
def test_a_malformed_rate_fails_loudly(monkeypatch, raw):
    monkeypatch.setenv("RATE_X", raw)

    with pytest.raises(ImproperlyConfigured, match="RATE_X"):
        env_rate("RATE_X", "600/m")


def test_the_defaults_are_generous_and_the_webhooks_have_none(settings):
    assert settings.TRUSTED_PROXIES == []
    assert settings.RATE_API_KEY == "600/m"
    assert ratelimits.API_UNTHROTTLED_PATHS == ("/api/v1/payments/webhooks/",)


# --- sign in: per client, across numbers ------------------------------------------------------


WRONG = "sai-mat-khau-nay"


def log_in(client: Client, phone: str, password: str = WRONG):
    return client.post("/dang-nhap/", {"username": phone, "password": password})


@pytest.mark.django_db
def test_sign_in_is_limited_per_client_across_different_numbers(settings, behind_the_balancer):
    settings.RATE_LOGIN_PER_IP = "3/15m"
    settings.LOGIN_MAX_FAILURES = 100  # the per-number lock-out is not what stops this
    user = UserFactory(phone="+84905100009")
    attacker = visitor("198.51.100.66")
    for n in range(3):  # one wrong password for each of three numbers
        assert log_in(attacker, f"0905 100 00{n}").status_code == 200

    blocked = log_in(attacker, "0905 100 009", PASSWORD)  # even the right password

    assert blocked.status_code == 429
    assert 1 <= int(blocked["Retry-After"]) <= 15 * 60 + 1
    assert "Có quá nhiều lần đăng nhập sai từ mạng của bạn." in blocked.content.decode()
    assert SESSION_KEY not in attacker.session
    # Rewriting X-Forwarded-For does not help: the balancer appends the real address.
    spoofed = Client(REMOTE_ADDR=LB, HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.66")
    assert log_in(spoofed, "0905 100 009", PASSWORD).status_code == 429
    # Another shopper behind the same balancer signs in.
    neighbour = visitor("198.51.100.67")
    assert log_in(neighbour, "0905 100 009", PASSWORD).status_code == 302
    assert int(neighbour.session[SESSION_KEY]) == user.pk


@pytest.mark.django_db
def test_successful_sign_ins_do_not_count(settings):
    settings.RATE_LOGIN_PER_IP = "2/15m"
    UserFactory(phone="+84905100009")
    client = Client(REMOTE_ADDR="198.51.100.66")
    for _ in range(4):
        assert log_in(client, "0905 100 009", PASSWORD).status_code == 302
        client.post("/dang-xuat/")


@pytest.mark.django_db
def test_a_spoofed_forwarded_header_from_outside_is_one_client(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.RATE_LOGIN_PER_IP = "2/15m"
    for n in range(2):
        direct = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
        log_in(direct, f"0905 100 00{n}")

    direct = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert log_in(direct, "0905 100 005").status_code == 429


@pytest.mark.django_db
def test_the_429_page_is_vietnamese_first_and_english_when_asked(settings):
    settings.RATE_LOGIN_PER_IP = "1/15m"
    log_in(Client(REMOTE_ADDR="198.51.100.66"), "0905 100 001")

    vi = log_in(Client(REMOTE_ADDR="198.51.100.66"), "0905 100 001")
    en = log_in(Client(REMOTE_ADDR="198.51.100.66", HTTP_ACCEPT_LANGUAGE="en"), "0905 100 001")

    assert vi.status_code == en.status_code == 429
    vi_html, en_html = vi.content.decode(), en.content.decode()
    assert "Chậm lại một chút" in vi_html and "Vui lòng thử lại sau" in vi_html
    assert "phút" in vi_html or "giây" in vi_html  # what is left of the window, rounded up
    assert "Slow down a little" in en_html and "Please try again in" in en_html
    assert ("minute" in en_html or "second" in en_html) and "Chậm lại" not in en_html


def test_the_wait_is_said_in_minutes_or_seconds():
    from django.utils import translation

    assert ratelimits.wait_text(1) == "1 giây"
    assert ratelimits.wait_text(59) == "59 giây"
    assert ratelimits.wait_text(61) == "2 phút"
    with translation.override("en"):
        assert ratelimits.wait_text(1) == "1 second"
        assert ratelimits.wait_text(900) == "15 minutes"


# --- the JSON API ---------------------------------------------------------------------------------


def assert_rate_limited(response) -> None:
    assert response.status_code == 429
    assert response.json() == {
        "error": {
            "code": "rate_limited",
            "message": response.json()["error"]["message"],
            "fields": {},
        }
    }
    assert response.json()["error"]["message"]
    assert 1 <= int(response["Retry-After"]) <= 61


@pytest.mark.django_db
def test_the_api_is_limited_per_key(settings, behind_the_balancer):
    settings.RATE_API_KEY = "3/m"
    merchant = merchant_with_account()
    key = api_key_for(merchant)
    other_key = api_key_for(merchant_with_account())
    # The same key from two addresses shares one counter: it is the key that is limited.
    calls = [
        visitor(f"198.51.100.{n}").get(
            "/api/v1/merchants/", headers={"Authorization": f"Bearer {key}"}
        )
        for n in range(4)
    ]

    assert [r.status_code for r in calls[:3]] == [200, 200, 200]
    assert_rate_limited(calls[3])
    other = visitor("198.51.100.1").get(
        "/api/v1/merchants/", headers={"Authorization": f"Bearer {other_key}"}
    )
    assert other.status_code == 200


@pytest.mark.django_db
def test_the_api_is_limited_per_signed_in_user(settings):
    settings.RATE_API_USER = "2/m"
    owner = member_of(merchant_with_account())
    client = Client(REMOTE_ADDR="198.51.100.1")
    client.force_login(owner)

    statuses = [client.get("/api/v1/merchants/").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert Client(REMOTE_ADDR="198.51.100.1").get("/api/v1/market/markets").status_code == 200


@pytest.mark.django_db
def test_the_api_is_limited_per_client_for_anonymous_calls(settings, behind_the_balancer):
    settings.RATE_API_ANON = "2/m"
    shopper = visitor("198.51.100.1")

    statuses = [shopper.get("/api/v1/market/markets").status_code for _ in range(2)]
    limited = shopper.get("/api/v1/market/markets", HTTP_ACCEPT_LANGUAGE="en")

    assert statuses == [200, 200]
    assert_rate_limited(limited)
    assert limited.json()["error"]["message"].startswith("Too many requests")
    assert visitor("198.51.100.2").get("/api/v1/market/markets").status_code == 200


@pytest.mark.django_db
def test_the_payment_webhooks_are_never_limited(settings):
    settings.RATE_API_ANON = "1/m"
    merchant = merchant_with_account()
    account = merchant.bank_accounts.get()
    provider = Client(REMOTE_ADDR="198.51.100.200")  # one provider address, a burst of retries

    statuses = [
        banknotify_deliver(
            provider, banknotify_payload(account=account, amount=20_000 + n)
        ).status_code
        for n in range(5)
    ]
    wallet = [
        provider.post(
            "/api/v1/payments/webhooks/ewallet", data=b"{}", content_type="application/json"
        )
        for _ in range(3)
    ]

    assert statuses == [200] * 5
    assert all(r.status_code != 429 for r in wallet)
    assert provider.get("/api/v1/market/markets").status_code == 200  # its first counted call
    assert provider.get("/api/v1/market/markets").status_code == 429


def test_a_malformed_rate_in_settings_is_not_silently_ignored(settings):
    settings.RATE_TEST = "lots"

    with pytest.raises(ImproperlyConfigured, match="lots"):
        ratelimits.hit(request(), group="t", rate="RATE_TEST")


def test_a_limit_lifts_when_its_window_ends(settings, ratelimit_clock):
    settings.RATE_TEST = "1/m"
    ratelimits.hit(request(), group="t", rate="RATE_TEST")
    limited = ratelimits.hit(request(), group="t", rate="RATE_TEST")
    assert limited.limited

    ratelimit_clock.advance(limited.retry_after)

    assert not ratelimits.hit(request(), group="t", rate="RATE_TEST").limited
