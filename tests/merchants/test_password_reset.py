"""Issue 16: "Quên mật khẩu?" — a trader who forgot the password asks for a code by SMS (the
sandbox gateway over HTTP), types it with a new password and is signed in.

Codes are stored hashed, used once, expire, allow 5 wrong tries; asking is limited per number
and per client (429 with Retry-After, in Vietnamese); the pages answer the same whether or not
the number has an account; a reset lifts the sign-in lock-out.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import SESSION_KEY
from django.utils import timezone

from core.models import AuditLog
from merchants.models import User, VerificationCode
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

PHONE = "+84905222333"
NEW_PASSWORD = "rau-muong-tuoi-2026"
REQUEST_URL, CODE_URL = "/quen-mat-khau/", "/quen-mat-khau/nhap-ma/"


@pytest.fixture
def trader():
    return UserFactory(phone=PHONE, full_name="Lê Thị Hoa")


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    """POST as the page does, running what waits for the commit (the SMS task)."""

    def send(url, data, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data, **extra)

    return send


def _codes(sms, phone=PHONE) -> list[str]:
    return [re.search(r"\b(\d{6})\b", m["text"]).group(1) for m in sms.outbox(to=phone)]


def _confirm(post, code, phone="0905 222 333", password=NEW_PASSWORD):
    return post(
        CODE_URL, {"phone": phone, "code": code, "password": password, "password2": password}
    )


def test_the_login_page_links_to_the_reset(client):
    assert 'href="/quen-mat-khau/"' in client.get("/dang-nhap/").content.decode()


def test_it_texts_a_code_that_sets_a_new_password_and_signs_in(client, post, sms, trader):
    answer = post(REQUEST_URL, {"phone": "0905 222 333"})

    assert answer.status_code == 302 and answer["Location"] == CODE_URL
    (text,) = [m["text"] for m in sms.outbox(to=PHONE)]
    assert "mã đặt lại mật khẩu" in text and "10 phút" in text
    page = client.get(CODE_URL).content.decode()
    assert 'value="0905 222 333"' in page  # the number is carried over
    done = _confirm(post, _codes(sms)[0])

    assert done.status_code == 302 and done["Location"] == "/"
    assert client.session[SESSION_KEY] == str(trader.pk)
    trader.refresh_from_db()
    assert trader.check_password(NEW_PASSWORD)
    assert AuditLog.objects.filter(action="user.password_reset", target_id=str(trader.pk)).exists()


def test_it_stores_only_a_hash_of_the_code(post, sms, trader):
    post(REQUEST_URL, {"phone": PHONE})
    (code,) = _codes(sms)

    row = VerificationCode.objects.get(phone=PHONE)
    assert code not in repr(list(VerificationCode.objects.values()))
    assert len(row.code_hash) == 64 and row.purpose == "reset"
    assert row.expires_at - row.created_at == timedelta(minutes=10)


def test_it_uses_a_code_once(client, post, sms, trader):
    post(REQUEST_URL, {"phone": PHONE})
    code = _codes(sms)[0]
    _confirm(post, code)
    client.logout()

    again = _confirm(post, code, password="mot-mat-khau-khac-99")

    assert again.status_code == 422
    assert "Mã không đúng hoặc đã hết hạn" in again.content.decode()
    trader.refresh_from_db()
    assert trader.check_password(NEW_PASSWORD)


def test_it_refuses_a_code_after_ten_minutes(post, sms, trader):
    post(REQUEST_URL, {"phone": PHONE})
    code = _codes(sms)[0]

    with time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1)):
        late = _confirm(post, code)

    assert late.status_code == 422
    assert "Mã không đúng hoặc đã hết hạn" in late.content.decode()
    trader.refresh_from_db()
    assert trader.check_password(PASSWORD)


def test_it_allows_five_wrong_tries_then_not_even_the_right_code(post, sms, trader):
    post(REQUEST_URL, {"phone": PHONE})
    code = _codes(sms)[0]
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    answers = [_confirm(post, wrong).status_code for _ in range(5)]
    last = _confirm(post, code)

    assert answers == [422] * 5
    assert last.status_code == 422
    assert VerificationCode.objects.get(phone=PHONE).attempts == 5
    trader.refresh_from_db()
    assert trader.check_password(PASSWORD)


def test_a_new_code_retires_the_earlier_one(post, sms, trader):
    post(REQUEST_URL, {"phone": PHONE})
    post(REQUEST_URL, {"phone": PHONE})
    first, second = _codes(sms)

    assert _confirm(post, first).status_code == 422
    assert _confirm(post, second).status_code == 302


def test_it_answers_the_same_whether_or_not_the_number_has_an_account(client, post, sms, trader):
    known = post(REQUEST_URL, {"phone": PHONE})
    unknown = post(REQUEST_URL, {"phone": "0905 999 888"})

    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert sms.outbox(to="+84905999888") == []
    page = client.get(CODE_URL).content.decode()
    assert "Nếu số điện thoại có tài khoản" in page
    nobody = _confirm(post, "123456", phone="0905 999 888")
    somebody = _confirm(post, "000000" if _codes(sms)[0] != "000000" else "111111")
    assert nobody.status_code == somebody.status_code == 422
    message = "Mã không đúng hoặc đã hết hạn. Kiểm tra tin nhắn hoặc xin mã mới."
    assert message in nobody.content.decode() and message in somebody.content.decode()


def test_it_limits_codes_per_number_with_a_429_in_vietnamese(post, sms, trader):
    answers = [post(REQUEST_URL, {"phone": PHONE}) for _ in range(4)]

    assert [a.status_code for a in answers] == [302, 302, 302, 429]
    assert int(answers[3]["Retry-After"]) > 0
    page = answers[3].content.decode()
    assert "Bạn đã xin mã quá nhiều lần." in page and "Vui lòng thử lại sau" in page
    assert len(sms.outbox(to=PHONE)) == 3


def test_the_limit_per_number_counts_numbers_without_an_account_too(post, sms):
    answers = [post(REQUEST_URL, {"phone": "0905 999 888"}).status_code for _ in range(4)]

    assert answers == [302, 302, 302, 429]


def test_it_limits_codes_per_client_across_numbers(post, sms, settings, ratelimit_clock):
    settings.RATE_SMS_CODE_PER_IP = "2/15m"
    answers = [post(REQUEST_URL, {"phone": f"0905 999 80{n}"}) for n in range(3)]

    assert [a.status_code for a in answers] == [302, 302, 429]
    ratelimit_clock.advance(int(answers[2]["Retry-After"]))
    assert post(REQUEST_URL, {"phone": "0905 999 809"}).status_code == 302


def test_it_limits_code_checks_per_client(post, sms, settings, trader):
    settings.RATE_SMS_CODE_CHECK_PER_IP = "3/15m"
    answers = [_confirm(post, "123456", phone=f"0905 999 80{n}").status_code for n in range(4)]

    assert answers == [422, 422, 422, 429]


def test_a_reset_lifts_the_sign_in_lock_out(client, post, sms, trader, settings):
    for _ in range(settings.LOGIN_MAX_FAILURES):
        client.post("/dang-nhap/", {"username": PHONE, "password": "sai-roi"})
    assert client.post("/dang-nhap/", {"username": PHONE, "password": PASSWORD}).status_code == 429

    post(REQUEST_URL, {"phone": PHONE})
    _confirm(post, _codes(sms)[0])
    client.logout()

    signed_in = client.post("/dang-nhap/", {"username": PHONE, "password": NEW_PASSWORD})
    assert signed_in.status_code == 302


def test_a_weak_password_is_refused_and_the_code_still_works(post, sms, trader):
    post(REQUEST_URL, {"phone": PHONE})
    code = _codes(sms)[0]

    weak = _confirm(post, code, password="123")

    assert weak.status_code == 422
    assert VerificationCode.objects.get(phone=PHONE).used_at is None
    assert _confirm(post, code).status_code == 302


@pytest.mark.parametrize(
    ("url", "data"),
    [
        (REQUEST_URL, {"phone": "12345"}),
        (REQUEST_URL, {"phone": ""}),
        (CODE_URL, {"phone": "abc", "code": "1", "password": "x", "password2": "x"}),
        (
            CODE_URL,
            {"phone": PHONE, "code": "１２３４５６", "password": "x" * 9, "password2": "x" * 9},
        ),
        (CODE_URL, {"phone": PHONE, "code": "12", "password": "x" * 9, "password2": "y" * 9}),
    ],
)
def test_bad_input_is_a_clear_422(post, url, data):
    assert post(url, data).status_code == 422


def test_a_provider_outage_does_not_break_the_page(post, sms, trader):
    sms.set_faults(fail_next=1)

    answer = post(REQUEST_URL, {"phone": PHONE})

    assert answer.status_code == 302
    assert User.objects.get(phone=PHONE).check_password(PASSWORD)
