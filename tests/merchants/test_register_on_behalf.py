"""Issue 16: a community digital-technology team member (staff with the explicit permission
merchants.register_on_behalf) registers an elderly trader, who confirms by reading out the code
the SMS gateway sent to their phone. Only then is the account made; the trader gets the way to
set a password; the audit names who registered whom."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.utils import timezone

from core.models import AuditLog
from merchants.models import User, VerificationCode
from merchants.verification import verification_codes_sweep
from tests.factories import MarketFactory, UserFactory, owner_of

pytestmark = pytest.mark.django_db

PHONE = "+84935444555"
START = "/quan-ly/dang-ky-ho/"


def _team_member(**kwargs) -> User:
    """Staff in the "Tổ công nghệ số cộng đồng" group, which holds the permission."""
    user = UserFactory(is_staff=True, **kwargs)
    group, _ = Group.objects.get_or_create(name="Tổ công nghệ số cộng đồng")
    group.permissions.add(
        Permission.objects.get(codename="register_on_behalf", content_type__app_label="merchants")
    )
    user.groups.add(group)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def staff(client):
    user = _team_member(full_name="Phan Văn Tổ (Tổ CNS)")
    client.force_login(user)
    return user


@pytest.fixture
def post(client, django_capture_on_commit_callbacks):
    def send(url, data):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url, data)

    return send


def _code(sms, phone=PHONE, index=0) -> str:
    return re.search(r"\b(\d{6})\b", sms.outbox(to=phone)[index]["text"]).group(1)


def _start(post, **data):
    body = {"full_name": "Bà Nguyễn Thị Tư", "phone": "0935 444 555"} | data
    return post(START, body)


def test_it_registers_the_trader_once_they_read_out_the_code(client, post, sms, staff):
    market = MarketFactory(name="Chợ Hàn")

    started = _start(post, shop_name="Rau bà Tư", market=market.pk)

    registration = VerificationCode.objects.get(phone=PHONE)
    assert started.status_code == 302
    assert started["Location"] == f"{START}{registration.pk}/"
    assert not User.objects.filter(phone=PHONE).exists()  # nothing before the code
    (text,) = [m["text"] for m in sms.outbox(to=PHONE)]
    assert "Phan Văn Tổ" in text and "Mã xác nhận" in text
    assert _code(sms) not in repr(list(VerificationCode.objects.values()))
    confirm_page = client.get(f"{START}{registration.pk}/").content.decode()
    assert "Bà Nguyễn Thị Tư" in confirm_page and "0935 444 555" in confirm_page

    done = post(f"{START}{registration.pk}/", {"code": _code(sms)})

    assert done.status_code == 302 and done["Location"] == f"{START}{registration.pk}/xong/"
    trader = User.objects.get(phone=PHONE)
    assert trader.full_name == "Bà Nguyễn Thị Tư"
    assert not trader.has_usable_password()
    success = client.get(done["Location"]).content.decode()
    assert "Đã tạo tài khoản" in success and "Rau bà Tư" in success and "Chợ Hàn" in success
    audit = AuditLog.objects.get(action="user.register_on_behalf")
    assert (audit.actor_id, audit.target_id) == (staff.pk, str(trader.pk))
    assert audit.data["shop_name"] == "Rau bà Tư" and audit.data["market_name"] == "Chợ Hàn"
    texts = [m["text"] for m in sms.outbox(to=PHONE)]
    assert len(texts) == 2 and "/quen-mat-khau/" in texts[1]


def test_the_trader_then_sets_a_password_by_the_reset_flow(client, post, sms, staff):
    _start(post)
    registration = VerificationCode.objects.get(phone=PHONE)
    post(f"{START}{registration.pk}/", {"code": _code(sms)})
    client.logout()

    post("/quen-mat-khau/", {"phone": PHONE})
    code = _code(sms, index=2)
    done = post(
        "/quen-mat-khau/nhap-ma/",
        {
            "phone": PHONE,
            "code": code,
            "password": "ca-thu-tuoi-2026",
            "password2": "ca-thu-tuoi-2026",
        },
    )

    assert done.status_code == 302
    assert User.objects.get(phone=PHONE).check_password("ca-thu-tuoi-2026")


def test_a_wrong_code_creates_nothing_and_five_end_the_registration(post, sms, staff):
    _start(post)
    registration = VerificationCode.objects.get(phone=PHONE)
    right = _code(sms)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    statuses = [post(f"{START}{registration.pk}/", {"code": wrong}).status_code for _ in range(5)]
    last = post(f"{START}{registration.pk}/", {"code": right})

    assert statuses == [422] * 5 and last.status_code == 422
    assert not User.objects.filter(phone=PHONE).exists()


def test_an_unconfirmed_registration_expires(post, sms, staff):
    _start(post)
    registration = VerificationCode.objects.get(phone=PHONE)

    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        late = post(f"{START}{registration.pk}/", {"code": _code(sms)})
    assert late.status_code == 422
    assert not User.objects.filter(phone=PHONE).exists()

    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert verification_codes_sweep() == 1
    assert not VerificationCode.objects.exists()


def test_a_trader_gets_403_and_no_sms(client, post, sms):
    client.force_login(owner_of())

    assert client.get(START).status_code == 403
    assert _start(post).status_code == 403
    assert sms.outbox() == []


def test_staff_without_the_permission_get_403(client, post, sms):
    client.force_login(UserFactory(is_staff=True))

    assert client.get(START).status_code == 403
    assert _start(post).status_code == 403


def test_anonymous_is_sent_to_sign_in(client):
    answer = client.get(START)

    assert answer.status_code == 302 and answer["Location"].startswith("/dang-nhap/")


def test_another_staff_members_registration_is_404(client, post, sms, staff):
    _start(post)
    registration = VerificationCode.objects.get(phone=PHONE)
    client.force_login(_team_member())

    assert client.get(f"{START}{registration.pk}/").status_code == 404
    assert post(f"{START}{registration.pk}/", {"code": _code(sms)}).status_code == 404
    assert client.get(f"{START}{registration.pk}/xong/").status_code == 404
    assert not User.objects.filter(phone=PHONE).exists()


def test_a_reset_code_cannot_be_opened_as_a_registration(client, post, sms, staff):
    UserFactory(phone="+84935000111")
    post("/quen-mat-khau/", {"phone": "+84935000111"})
    reset = VerificationCode.objects.get(phone="+84935000111")

    assert client.get(f"{START}{reset.pk}/").status_code == 404


def test_a_number_with_an_account_is_refused(post, sms, staff):
    UserFactory(phone=PHONE)

    answer = _start(post)

    assert answer.status_code == 422
    assert "Số này đã có tài khoản" in answer.content.decode()
    assert sms.outbox() == []


@pytest.mark.parametrize(
    "data",
    [{"phone": "12"}, {"full_name": ""}, {"market": "abc"}, {"market": "999999"}],
)
def test_bad_input_is_a_clear_422(post, sms, staff, data):
    assert _start(post, **data).status_code == 422
    assert sms.outbox() == []


def test_it_limits_codes_sent_to_one_number(post, sms, staff):
    statuses = [_start(post).status_code for _ in range(4)]

    assert statuses == [302, 302, 302, 429]


def test_confirming_twice_answers_the_same_account(client, post, sms, staff):
    _start(post)
    registration = VerificationCode.objects.get(phone=PHONE)
    post(f"{START}{registration.pk}/", {"code": _code(sms)})

    again = post(f"{START}{registration.pk}/", {"code": _code(sms)})

    assert again.status_code == 302 and again["Location"].endswith("/xong/")
    assert User.objects.filter(phone=PHONE).count() == 1
