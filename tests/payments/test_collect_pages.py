"""The trader's "Thu tiền" pages: keypad → QR, today's money in, the live-event stream."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from merchants.models import Membership
from payments import services
from payments.models import PaymentIntent
from tests.factories import (
    MerchantFactory,
    banknotify_deliver,
    banknotify_payload,
    member_of,
    merchant_with_account,
)

pytestmark = pytest.mark.django_db

AMOUNT_ERROR = "Số tiền chuyển khoản từ 1.000 đ đến 500.000.000 đ mỗi lần."


@pytest.fixture
def merchant():
    return merchant_with_account()


@pytest.fixture
def trader(client, merchant):
    client.force_login(member_of(merchant))
    return client


def collect_url(merchant) -> str:
    return f"/cua-hang/{merchant.pk}/thu-tien/"


def qr_url(intent) -> str:
    return f"/cua-hang/{intent.merchant_id}/thu-tien/{intent.pk}/"


# --- keypad → QR ------------------------------------------------------------------------------


def test_it_shows_the_keypad(trader, merchant):
    response = trader.get(collect_url(merchant))

    assert response.status_code == 200
    assert 'name="amount"' in response.text


def test_it_sends_an_anonymous_visitor_to_the_login_page(client, merchant):
    response = client.get(collect_url(merchant))

    assert response.status_code == 302
    assert "/dang-nhap/" in response["Location"]


def test_it_turns_the_keyed_amount_into_a_qr_page(trader, merchant):
    response = trader.post(collect_url(merchant), {"amount": "150.000"})

    intent = PaymentIntent.objects.get()
    assert intent.amount == 150_000
    assert response.status_code == 302
    assert response["Location"] == qr_url(intent)
    page = trader.get(response["Location"])
    assert page.status_code == 200
    assert "150.000 đ" in page.text
    assert "<svg" in page.text
    assert intent.reference_code in page.text


def test_it_lets_a_cashier_collect(client, merchant):
    client.force_login(member_of(merchant, role=Membership.Role.CASHIER))

    response = client.post(collect_url(merchant), {"amount": "25000"})

    assert response.status_code == 302
    assert PaymentIntent.objects.get().amount == 25_000


@pytest.mark.parametrize(
    "amount", ["", "abc", "999", "0", "600.000.000", "9" * 40, "1.500,50", "-150000"]
)
def test_it_explains_a_bad_amount_in_vietnamese(trader, merchant, amount):
    response = trader.post(collect_url(merchant), {"amount": amount})

    assert response.status_code == 200
    assert AMOUNT_ERROR in response.text
    assert not PaymentIntent.objects.exists()


def test_it_explains_that_a_bank_account_is_missing(client):
    bare = MerchantFactory()
    client.force_login(member_of(bare))

    response = client.post(collect_url(bare), {"amount": "150000"})

    assert response.status_code == 200
    assert "Cửa hàng chưa có tài khoản ngân hàng nhận tiền." in response.text
    assert not PaymentIntent.objects.exists()


def test_it_hides_another_merchants_keypad(trader):
    other = merchant_with_account()

    assert trader.get(collect_url(other)).status_code == 404
    assert trader.post(collect_url(other), {"amount": "150000"}).status_code == 404
    assert not PaymentIntent.objects.exists()


def test_it_hides_another_merchants_qr(trader, merchant):
    theirs = services.intent_create(merchant=merchant_with_account(), amount=50_000)

    assert trader.get(qr_url(theirs)).status_code == 404
    # Nor through the trader's own shop in the address.
    assert trader.get(f"/cua-hang/{merchant.pk}/thu-tien/{theirs.pk}/").status_code == 404


def test_it_shows_the_paid_state_on_the_qr_page(trader, merchant):
    intent = services.intent_create(merchant=merchant, amount=150_000)
    banknotify_deliver(
        trader,
        banknotify_payload(
            account=merchant.bank_accounts.get(),
            description=intent.reference_code,
            reference="FT555",
        ),
    )

    page = trader.get(qr_url(intent))

    assert "ĐÃ NHẬN TIỀN" in page.text
    assert "FT555" in page.text


def test_it_cancels_from_the_qr_page(trader, merchant):
    intent = services.intent_create(merchant=merchant, amount=150_000)

    response = trader.post(f"{qr_url(intent)}huy/")

    assert response.status_code == 302
    intent.refresh_from_db()
    assert intent.status == PaymentIntent.Status.CANCELED


def test_it_refuses_to_cancel_another_merchants_intent_from_the_page(trader):
    theirs = services.intent_create(merchant=merchant_with_account(), amount=50_000)

    assert trader.post(f"{qr_url(theirs)}huy/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == PaymentIntent.Status.REQUIRES_PAYMENT


# --- today's money in -------------------------------------------------------------------------


def test_it_lists_todays_money_in_with_the_bank_badge(trader, merchant):
    account = merchant.bank_accounts.get()
    intent = services.intent_create(merchant=merchant, amount=150_000)
    banknotify_deliver(
        trader, banknotify_payload(account=account, description=intent.reference_code)
    )
    banknotify_deliver(trader, banknotify_payload(account=account, amount=20_000))

    response = trader.get(f"/cua-hang/{merchant.pk}/tien-vao/")

    assert response.status_code == 200
    assert response.text.count("Ngân hàng xác nhận") == 2
    assert intent.reference_code in response.text
    assert "+150.000 đ" in response.text
    assert "+20.000 đ" in response.text
    assert "170.000 đ" in response.text  # the day's total


def test_it_leaves_yesterdays_money_out_of_today(trader, merchant):
    account = merchant.bank_accounts.get()
    with time_machine.travel(timezone.now() - timedelta(days=1)):
        banknotify_deliver(trader, banknotify_payload(account=account, amount=77_000))

    response = trader.get(f"/cua-hang/{merchant.pk}/tien-vao/")

    assert "77.000 đ" not in response.text
    assert "Chưa có khoản nào hôm nay." in response.text


def test_it_hides_another_merchants_money_in(trader):
    assert trader.get(f"/cua-hang/{merchant_with_account().pk}/tien-vao/").status_code == 404


# --- live events ------------------------------------------------------------------------------


def test_it_opens_an_event_stream(trader, merchant, settings):
    settings.REDIS_URL = ""

    response = trader.get(f"/cua-hang/{merchant.pk}/su-kien/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/event-stream")
    assert response["Cache-Control"] == "no-cache"
    assert next(iter(response.streaming_content)) == b"retry: 2000\n\n"
    response.close()


def test_it_hides_another_merchants_event_stream(trader):
    response = trader.get(f"/cua-hang/{merchant_with_account().pk}/su-kien/")

    assert response.status_code == 404
    assert not response.streaming


# --- refunds from the trader's page -----------------------------------------------------------


def paid_intent(client, merchant, amount: int = 100_000) -> PaymentIntent:
    intent = services.intent_create(merchant=merchant, amount=amount)
    account = merchant.bank_accounts.get()
    payload = banknotify_payload(account=account, amount=amount, description=intent.reference_code)
    assert banknotify_deliver(client, payload).status_code == 200
    intent.refresh_from_db()
    assert intent.status == PaymentIntent.Status.SUCCEEDED
    return intent


def test_it_lets_the_owner_record_a_refund_from_the_sale_page(trader, merchant):
    intent = paid_intent(trader, merchant)

    response = trader.post(
        f"{qr_url(intent)}hoan-tien/", {"amount": "30.000", "reason": "Cá không tươi"}
    )

    assert response.status_code == 302
    intent.refresh_from_db()
    assert (intent.status, intent.amount_refunded) == ("partially_refunded", 30_000)
    page = trader.get(qr_url(intent))
    assert "Cá không tươi" in page.text and "30.000 đ" in page.text


def test_a_double_tap_on_the_refund_button_gives_back_once(trader, merchant):
    intent = paid_intent(trader, merchant)
    form = {"amount": "30.000", "reason": "Cá không tươi", "idempotency_key": "tap-1"}
    assert trader.post(f"{qr_url(intent)}hoan-tien/", form).status_code == 302
    assert trader.post(f"{qr_url(intent)}hoan-tien/", form).status_code == 302
    intent.refresh_from_db()
    assert (intent.amount_refunded, intent.refunds.count()) == (30_000, 1)


def test_it_explains_a_refund_larger_than_what_was_received(trader, merchant):
    intent = paid_intent(trader, merchant)

    response = trader.post(f"{qr_url(intent)}hoan-tien/", {"amount": "150000", "reason": "x"})

    assert response.status_code == 422
    assert "Số tiền hoàn vượt quá số đã nhận." in response.text
    intent.refresh_from_db()
    assert intent.amount_refunded == 0


def test_it_refuses_a_refund_by_a_cashier(client, merchant):
    intent = paid_intent(client, merchant)
    client.force_login(member_of(merchant, role=Membership.Role.CASHIER))

    response = client.post(f"{qr_url(intent)}hoan-tien/", {"amount": "1000", "reason": "x"})

    assert response.status_code == 403
    intent.refresh_from_db()
    assert intent.amount_refunded == 0
    assert "hoan-tien" not in client.get(qr_url(intent)).text


def test_it_hides_another_merchants_sale_from_refunds(trader, merchant, client):
    other = merchant_with_account()
    intent = paid_intent(client, other)

    response = trader.post(f"{qr_url(intent)}hoan-tien/", {"amount": "1000", "reason": "x"})

    assert response.status_code == 404
