"""Exhibition inquiries are limited per client as core.clientip finds it: X-Forwarded-For counts
only from our own proxies (it used to be believed from anybody, so a bot wrote a new address in
each request), on the page and through the API alike."""

from __future__ import annotations

import pytest
from django.test import Client

from virtual_expo.models import Inquiry

pytestmark = pytest.mark.django_db

LB = "10.0.0.5"
QUESTION = {"name": "Khoa", "phone": "0905222333", "message": "Giá sỉ 200 bộ?"}


@pytest.fixture(autouse=True)
def _small_limit(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.RATE_EXPO_INQUIRY = "2/15m"


def page_url(booth) -> str:
    return f"/hoi-cho/{booth.exhibition.slug}/gian/{booth.pk}/hoi-hang/"


def api_url(booth) -> str:
    return f"/api/v1/expo/exhibitions/{booth.exhibition.slug}/booths/{booth.pk}/inquiries"


def test_the_page_limits_one_visitor_behind_the_balancer_not_the_next(live_booth):
    visitor = Client(REMOTE_ADDR=LB, HTTP_X_FORWARDED_FOR="198.51.100.1")
    for _ in range(2):
        assert visitor.post(page_url(live_booth), QUESTION).status_code == 302

    limited = visitor.post(page_url(live_booth), QUESTION)

    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 15 * 60 + 1
    assert "Bạn đã gửi nhiều câu hỏi liên tiếp" in limited.content.decode()
    neighbour = Client(REMOTE_ADDR=LB, HTTP_X_FORWARDED_FOR="198.51.100.2")
    assert neighbour.post(page_url(live_booth), QUESTION).status_code == 302
    assert Inquiry.objects.count() == 3


def test_a_bot_writing_its_own_forwarded_header_is_still_one_client(live_booth):
    for n in range(3):
        bot = Client(REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
        last = bot.post(page_url(live_booth), QUESTION)

    assert last.status_code == 429
    assert Inquiry.objects.count() == 2


def test_the_api_shares_the_limit_and_answers_in_the_error_shape(live_booth):
    visitor = Client(REMOTE_ADDR=LB, HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert visitor.post(page_url(live_booth), QUESTION).status_code == 302
    sent = visitor.post(api_url(live_booth), QUESTION, content_type="application/json")
    assert sent.status_code == 201

    limited = visitor.post(api_url(live_booth), QUESTION, content_type="application/json")

    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert limited.json()["error"]["fields"] == {}
    assert 1 <= int(limited["Retry-After"]) <= 15 * 60 + 1


def test_an_ipv6_visitor_cannot_rotate_through_their_prefix(live_booth):
    for n in range(3):
        bot = Client(REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}")
        last = bot.post(page_url(live_booth), QUESTION)

    assert last.status_code == 429
    assert Inquiry.objects.count() == 2
