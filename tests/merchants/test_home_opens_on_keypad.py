"""Issue 16 item 1: a trader ready to sell (first day done: stall, bank account, product, a sale
paid by bank) lands on the stall's keypad ("Bán hàng") at "/", and
still reaches the full home ("Trang chính") at its own address; staff and traders of several
merchants keep the full home."""

from __future__ import annotations

import pytest
from django.utils import timezone

from merchants.selectors import opens_on_keypad
from tests.factories import (
    BankAccountFactory,
    MerchantFactory,
    ProductFactory,
    StallApplicationFactory,
    StallFactory,
    UserFactory,
    member_of,
    merchant_with_account,
    paid_sale,
    ready_to_sell,
    staff_reviewer,
)

pytestmark = pytest.mark.django_db


def _ready_trader(**user_kwargs):
    merchant = ready_to_sell(
        merchant_with_account(display_name="Hải sản Hùng Thọ Quang"), stall_code="B-2"
    )
    return merchant, member_of(merchant, **user_kwargs)


def test_it_opens_on_the_keypad_for_a_trader_whose_first_day_is_done():
    merchant, user = _ready_trader()

    assert opens_on_keypad(user=user) == merchant


def test_it_opens_on_the_keypad_for_a_cashier_once_the_shop_can_be_paid():
    """A cashier sets nothing up: a bank account is enough (the owner keeps the checklist)."""
    merchant = merchant_with_account()
    cashier = member_of(merchant, role="cashier")
    assert opens_on_keypad(user=cashier) == merchant
    assert opens_on_keypad(user=member_of(merchant, phone="+84905999003")) is None  # the owner

    assert opens_on_keypad(user=member_of(MerchantFactory(), role="cashier")) is None


@pytest.mark.parametrize("missing", ["stall", "bank_account", "product", "sale", "bank_sale"])
def test_it_keeps_the_full_home_for_a_trader_not_ready_to_sell(missing):
    """Home keeps the first-day checklist until every step is done."""
    merchant = MerchantFactory()
    if missing != "stall":
        StallFactory(merchant=merchant)
    if missing != "bank_account":
        BankAccountFactory(merchant=merchant)
    if missing != "product":
        ProductFactory(merchant=merchant)
    if missing == "bank_sale":
        paid_sale(merchant, method="cash")  # a cash sale proves nothing about the QR
    elif missing != "sale":
        paid_sale(merchant)

    assert opens_on_keypad(user=member_of(merchant)) is None


def test_it_keeps_the_full_home_for_a_trader_of_two_merchants():
    _merchant, user = _ready_trader()
    other = ready_to_sell(merchant_with_account())
    member_of(other, phone="+84905999001").memberships.update(user=user)

    assert user.memberships.count() == 2
    assert opens_on_keypad(user=user) is None


def test_it_keeps_the_full_home_for_staff_and_users_without_a_merchant():
    merchant = ready_to_sell(merchant_with_account())
    staff = staff_reviewer()
    member_of(merchant, phone="+84905999002").memberships.update(user=staff)

    assert opens_on_keypad(user=staff) is None
    assert opens_on_keypad(user=UserFactory()) is None


def test_it_lands_a_ready_trader_on_the_keypad(client):
    merchant, user = _ready_trader()
    client.force_login(user)

    response = client.get("/")

    assert response.status_code == 302
    assert response.url == f"/cua-hang/{merchant.pk}/ban-hang/"
    page = client.get(response.url).content.decode()
    assert 'id="pos"' in page
    assert 'href="/trang-chinh/"' in page  # "Trang chính": the full home, one tap away


def test_it_shows_the_full_home_at_its_own_address(client):
    merchant, user = _ready_trader(full_name="Trần Văn Hùng")
    client.force_login(user)

    page = client.get("/trang-chinh/").content.decode()

    assert "Chào Hùng!" in page
    assert f'href="/cua-hang/{merchant.pk}/ban-hang/"' in page
    assert f'href="/cua-hang/{merchant.pk}/"' in page  # Cửa hàng của tôi
    assert "B-2" in page  # Sạp của tôi


def test_it_asks_a_visitor_to_sign_in_for_the_full_home(client):
    response = client.get("/trang-chinh/")

    assert response.status_code == 302 and response.url.startswith("/dang-nhap/")


def test_it_keeps_todays_home_at_the_root_for_a_trader_not_ready_to_sell(client):
    merchant = MerchantFactory()  # no stall, no bank account yet
    client.force_login(member_of(merchant, full_name="Lê Thị Tư"))

    response = client.get("/")

    assert response.status_code == 200 and "Chào Tư!" in response.content.decode()


def test_a_stall_decision_waiting_to_be_read_keeps_the_full_home_until_dismissed(client):
    """An approved stall's notice is on home: a ready trader sees it there first (not the POS),
    and once they tap "Đã xem" home opens on the keypad again."""
    merchant, user = _ready_trader()
    application = StallApplicationFactory(
        merchant=merchant, status="approved", stall=merchant.stalls.get(), decided_at=timezone.now()
    )
    client.force_login(user)

    page = client.get("/")
    assert (
        page.status_code == 200
        and f'id="decision-notice-{application.pk}"' in page.content.decode()
    )

    client.post(f"/sap/don/{application.pk}/da-xem/")
    assert client.get("/").url == f"/cua-hang/{merchant.pk}/ban-hang/"
