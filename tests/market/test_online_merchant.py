"""Selling online, the trader's side: the storefront settings page, the queue of online orders
(`/cua-hang/<id>/don-online/`), moving an order on (refund on cancel), the live event."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core import live
from core.errors import Conflict, ValidationFailed
from market.figures import takings_figures
from market.models import FulfilmentStatus, Order, OrderEvent, OrderRefund, Storefront
from market.shop import storefront as shop
from payments.models import LedgerEntry
from tests.factories import (
    ProductFactory,
    assert_ledger_invariant,
    banknotify_deliver,
    banknotify_payload,
    image_upload,
    member_of,
    merchant_with_account,
)

pytestmark = pytest.mark.django_db(transaction=True)
FS = FulfilmentStatus


# --- helpers shared with test_online_merchant_reviews.py ---------------------------------------


def open_shop(merchant, **settings) -> Storefront:
    front = shop.storefront_of(merchant)
    front.is_open = True
    front.opens_at, front.closes_at = time(0, 0), time(23, 59)
    front.pickup_lead_minutes = 0
    for k, v in settings.items():
        setattr(front, k, v)
    front.save()
    return front


def place(merchant, product, *, quantity="0.5", fulfilment="pickup", method="bank_qr", **extra):
    front = shop.storefront_of(merchant)
    data = shop.CheckoutInput(
        name="Lê Thị Mai",
        phone="0905 222 333",
        fulfilment=fulfilment,
        payment_method=method,
        pickup_at=shop.pickup_slots(front)[0] if fulfilment == "pickup" else None,
        address="45 Lê Duẩn, Hải Châu, Đà Nẵng" if fulfilment == "delivery" else "",
        note=extra.pop("note", "Làm sạch giúp em"),
        **extra,
    )
    return shop.checkout(
        merchant=merchant, lines=[(product.pk, Decimal(quantity))], data=data, now=None
    )


def pay_by_bank(client, order: Order) -> Order:
    intent = order.intent
    assert intent is not None
    response = banknotify_deliver(
        client,
        banknotify_payload(
            account=intent.bank_account,
            amount=intent.amount,
            description=f"{intent.reference_code} chuyen tien",
        ),
    )
    assert response.status_code == 200
    order.refresh_from_db()
    return order


def paid_online_order(client, merchant, product, **kwargs) -> Order:
    order = pay_by_bank(client, place(merchant, product, **kwargs))
    assert order.is_paid and order.fulfilment_status == FS.NEW
    return order


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def merchant():
    m = merchant_with_account(display_name="Hải sản Bà Lan")
    open_shop(m, delivers=True, delivery_fee=15_000, delivery_area="Hải Châu")
    return m


@pytest.fixture
def fish(merchant):
    return ProductFactory(
        merchant=merchant, name="Cá thu", search_name="ca thu", price=180_000, sold_by_weight=True
    )


@pytest.fixture
def owner(merchant):
    return member_of(merchant)


@pytest.fixture
def cashier(merchant):
    return member_of(merchant, role="cashier")


def queue_url(merchant) -> str:
    return f"/cua-hang/{merchant.pk}/don-online/"


def advance_url(merchant, order) -> str:
    return f"/cua-hang/{merchant.pk}/don-online/{order.pk}/chuyen/"


def settings_url(merchant) -> str:
    return f"/cua-hang/{merchant.pk}/ban-online/"


# --- storefront settings ------------------------------------------------------------------------


def settings_form(**overrides) -> dict:
    return {
        "is_open": "on",
        "tagline": "Cá biển tươi mỗi sáng",
        "opens_at": "05:30",
        "closes_at": "17:00",
        "pickup_slot_minutes": "30",
        "pickup_lead_minutes": "45",
        "delivers": "on",
        "delivery_fee": "20000",
        "delivery_area": "Hải Châu, Thanh Khê",
        **overrides,
    }


def test_it_saves_the_storefront_settings(client, merchant, owner, fish):
    client.force_login(owner)
    assert client.get(settings_url(merchant)).status_code == 200

    response = client.post(settings_url(merchant), settings_form())

    assert response.status_code == 302
    front = Storefront.objects.get(merchant=merchant)
    assert front.is_open and front.delivers
    assert (front.opens_at, front.closes_at) == (time(5, 30), time(17, 0))
    assert (front.pickup_slot_minutes, front.pickup_lead_minutes) == (30, 45)
    assert (front.delivery_fee, front.delivery_area) == (20_000, "Hải Châu, Thanh Khê")


def test_it_normalises_the_tagline_to_nfc(client, merchant, owner, fish):
    client.force_login(owner)
    client.post(settings_url(merchant), settings_form(tagline="Ca\u0301 thu   tươi"))

    assert Storefront.objects.get(merchant=merchant).tagline == "Cá thu tươi"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"opens_at": "17:00", "closes_at": "06:00"}, "closes_at"),
        ({"opens_at": "07:00", "closes_at": "07:00"}, "closes_at"),
        ({"opens_at": "25:99"}, "opens_at"),
        ({"delivery_fee": "500001"}, "delivery_fee"),
        ({"delivery_fee": "-1"}, "delivery_fee"),
        ({"delivery_fee": "15.5"}, "delivery_fee"),
        ({"delivery_fee": "mười lăm"}, "delivery_fee"),
        ({"pickup_slot_minutes": "7"}, "pickup_slot_minutes"),
        ({"delivery_area": ""}, "delivery_area"),
        ({"tagline": "x" * 161}, "tagline"),
    ],
)
def test_it_refuses_bad_settings_in_vietnamese(client, merchant, owner, fish, overrides, field):
    client.force_login(owner)

    response = client.post(settings_url(merchant), settings_form(**overrides))

    assert response.status_code == 422
    errors = response.context["form"].errors
    assert field in errors
    assert Storefront.objects.get(merchant=merchant).delivery_fee == 15_000  # unchanged


def test_it_accepts_the_largest_fee_and_free_delivery(client, merchant, owner, fish):
    client.force_login(owner)

    highest = client.post(settings_url(merchant), settings_form(delivery_fee="500000"))
    assert highest.status_code == 302
    free = client.post(settings_url(merchant), settings_form(delivery_fee=""))
    assert free.status_code == 302
    assert Storefront.objects.get(merchant=merchant).delivery_fee == 0


def test_it_will_not_open_without_a_bank_account(client, owner, merchant, fish):
    merchant.bank_accounts.all().delete()
    client.force_login(owner)

    response = client.post(settings_url(merchant), settings_form())

    assert response.status_code == 422
    assert "tài khoản ngân hàng" in str(response.context["form"].errors["is_open"])


def test_it_closes_the_storefront(client, merchant, owner, fish):
    client.force_login(owner)
    form = settings_form()
    del form["is_open"]

    client.post(settings_url(merchant), form)

    assert not Storefront.objects.get(merchant=merchant).is_open


def test_it_compresses_the_storefront_photo(client, merchant, owner, fish):
    client.force_login(owner)

    response = client.post(
        settings_url(merchant), settings_form(photo=image_upload("cua hang.jpg", "JPEG"))
    )

    assert response.status_code == 302
    photo = Storefront.objects.get(merchant=merchant).photo
    assert photo.name.startswith("storefronts/") and photo.name.endswith(".jpg")


def test_a_cashier_cannot_change_the_settings(client, merchant, cashier):
    client.force_login(cashier)

    assert client.get(settings_url(merchant)).status_code == 403
    assert client.post(settings_url(merchant), settings_form()).status_code == 403


def test_another_merchants_user_gets_404(client, merchant):
    stranger = member_of(merchant_with_account())
    client.force_login(stranger)

    assert client.get(settings_url(merchant)).status_code == 404
    assert client.get(queue_url(merchant)).status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(client, merchant):
    response = client.get(queue_url(merchant))

    assert response.status_code == 302
    assert "/dang-nhap/" in response["Location"]


# --- the queue ----------------------------------------------------------------------------------


def test_an_unpaid_order_is_not_in_the_queue(client, merchant, owner, fish):
    order = place(merchant, fish)
    client.force_login(owner)

    page = client.get(queue_url(merchant))

    assert order.number not in page.content.decode()
    assert page.context["new_count"] == 0


def test_a_paid_order_shows_in_new_with_what_the_trader_needs(client, merchant, owner, fish):
    order = paid_online_order(client, merchant, fish)
    client.force_login(owner)

    page = client.get(queue_url(merchant))

    assert page.status_code == 200
    html = page.content.decode()
    assert [c.order.pk for c in page.context["new"]] == [order.pk]
    assert order.number in html
    assert "Lê Thị Mai" in html
    assert 'href="tel:+84905222333"' in html
    assert "0905 222 333" in html
    assert "Làm sạch giúp em" in html
    assert "Cá thu" in html and "0,5" in html
    assert "90.000 đ" in html
    assert "Nhận đơn" in html and "Hủy đơn" in html
    local = timezone.localtime(order.pickup_at).strftime("%H:%M")
    assert local in html
    assert 'id="new-badge"' in html and "online-orders.js" in html
    assert f'data-events-url="{reverse("live_events", args=[merchant.pk])}"' in html


def test_the_fragment_is_the_list_alone(client, merchant, owner, fish):
    order = paid_online_order(client, merchant, fish)
    client.force_login(owner)

    response = client.get(f"/cua-hang/{merchant.pk}/don-online/danh-sach/")

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert "<html" not in html
    assert 'data-new-count="1"' in html and order.number in html


def test_a_delivery_order_shows_the_address_and_out_for_delivery(client, merchant, owner, fish):
    order = paid_online_order(client, merchant, fish, fulfilment="delivery")
    client.force_login(owner)
    client.post(advance_url(merchant, order), {"to": "accepted"})

    html = client.get(queue_url(merchant)).content.decode()

    assert "45 Lê Duẩn, Hải Châu, Đà Nẵng" in html
    assert "Đang giao" in html and "Đã chuẩn bị xong" not in html


def test_the_trader_walks_a_pickup_order_through(client, merchant, cashier, fish):
    order = paid_online_order(client, merchant, fish)
    client.force_login(cashier)

    for step, label in [("accepted", "Đã chuẩn bị xong"), ("ready", "Hoàn thành")]:
        response = client.post(advance_url(merchant, order), {"to": step})
        assert response.status_code == 302
        assert response["Location"].endswith(f"#order-{order.pk}")
        page = client.get(queue_url(merchant))
        assert [c.order.pk for c in page.context["active"]] == [order.pk]
        assert label in page.content.decode()
    client.post(advance_url(merchant, order), {"to": "completed"})

    page = client.get(queue_url(merchant))
    assert [c.order.pk for c in page.context["done"]] == [order.pk]
    assert not page.context["new"] and not page.context["active"]
    kinds = list(OrderEvent.objects.filter(order=order).values_list("kind", flat=True))
    assert kinds == ["placed", "paid", "accepted", "ready", "completed"]


def test_a_step_that_is_not_allowed_is_refused(client, merchant, owner, fish):
    order = paid_online_order(client, merchant, fish)
    client.force_login(owner)

    response = client.post(advance_url(merchant, order), {"to": "completed"}, follow=True)

    assert "Không thể chuyển đơn" in response.content.decode()
    order.refresh_from_db()
    assert order.fulfilment_status == FS.NEW
    with pytest.raises(Conflict):
        shop.order_advance(order_id=order.pk, to="out_for_delivery", actor=None)


def test_cancel_needs_a_reason(client, merchant, owner, fish):
    order = paid_online_order(client, merchant, fish)
    client.force_login(owner)

    response = client.post(advance_url(merchant, order), {"to": "canceled"}, follow=True)

    assert "lý do" in response.content.decode()
    order.refresh_from_db()
    assert order.fulfilment_status == FS.NEW and order.status == Order.Status.PAID
    with pytest.raises(ValidationFailed):
        shop.order_advance(order_id=order.pk, to="canceled", actor=None, reason="  ")


def test_cancel_after_a_bank_payment_refunds_and_shows_in_takings(client, merchant, owner, fish):
    order = paid_online_order(client, merchant, fish)
    other = paid_online_order(client, merchant, fish, quantity="1")
    client.force_login(owner)

    response = client.post(
        advance_url(merchant, order), {"to": "canceled", "reason": "Hết cá thu"}, follow=True
    )

    html = response.content.decode()
    assert "chuyển khoản trả lại khách" in html
    order.refresh_from_db()
    assert (order.fulfilment_status, order.status) == (FS.CANCELED, Order.Status.REFUNDED)
    assert order.amount_refunded == 90_000
    refund = OrderRefund.objects.get(order=order)
    assert (refund.amount, refund.status) == (90_000, OrderRefund.Status.SUCCEEDED)
    assert "Hết cá thu" in refund.reason
    # The trader paid the shopper back by hand: a payout in the bank ledger.
    assert LedgerEntry.objects.filter(merchant=merchant, amount=-90_000).exists()
    assert_ledger_invariant(merchant)
    event = OrderEvent.objects.filter(order=order).last()
    assert (event.kind, event.note) == ("canceled", "Hết cá thu")
    # Takings today: both sales, one refund, net the other sale.
    today = takings_figures.period_takings(
        merchant=merchant, first=timezone.localdate(), last=timezone.localdate()
    )
    assert (today.sales_count, today.gross, today.refunds) == (2, 270_000, 90_000)
    assert today.net == today.cashless_net == other.total == 180_000
    page = client.get(queue_url(merchant))
    assert [c.order.pk for c in page.context["done"]] == [order.pk]


def test_a_cashier_cannot_cancel_a_paid_order_because_that_refunds(
    client, merchant, cashier, owner, fish
):
    order = paid_online_order(client, merchant, fish)
    client.force_login(cashier)

    refused = client.post(advance_url(merchant, order), {"to": "canceled", "reason": "Khách đổi ý"})

    assert refused.status_code == 403
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == (Order.Status.PAID, 0)
    client.force_login(owner)
    client.post(advance_url(merchant, order), {"to": "canceled", "reason": "Khách đổi ý"})
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED


def test_another_merchants_order_is_404(client, merchant, fish):
    order = paid_online_order(client, merchant, fish)
    other = merchant_with_account()
    client.force_login(member_of(other))

    response = client.post(advance_url(other, order), {"to": "accepted"})

    assert response.status_code == 404
    order.refresh_from_db()
    assert order.fulfilment_status == FS.NEW


def test_a_stall_sale_cannot_be_moved_through_the_queue(client, merchant, owner, fish):
    from market.sales import orders

    sale = orders.order_create(
        merchant=merchant,
        lines=[orders.LineInput(product_id=fish.pk, quantity=Decimal("1"))],
        payment_method="cash",
        actor=owner,
    )
    client.force_login(owner)

    assert client.post(advance_url(merchant, sale), {"to": "accepted"}).status_code == 404


def test_the_advance_view_takes_only_post(client, merchant, owner, fish):
    order = paid_online_order(client, merchant, fish)
    client.force_login(owner)

    assert client.get(advance_url(merchant, order)).status_code == 405


# --- the live event -----------------------------------------------------------------------------


def test_payment_publishes_an_online_order_event(client, merchant, fish, settings):
    settings.REDIS_URL = ""
    order = place(merchant, fish)
    listener = live.listen(merchant.pk, timeout=0.2)
    try:
        pay_by_bank(client, order)
        received = []
        for _ in range(20):
            event = next(listener)
            if event is not None:
                received.append(event)
            elif received:
                break
    finally:
        listener.close()

    online = [e for e in received if e["type"] == "online_order"]
    assert len(online) == 1
    assert online[0] == {
        "type": "online_order",
        "order_id": order.pk,
        "number": order.number,
        "amount": 90_000,
        "fulfilment": "pickup",
    }


def test_the_sse_stream_carries_the_online_order_event(client, merchant, owner, settings):
    """payments/views.py live_events adds "spoken" from "amount" and names the SSE event by its
    type: an online_order event goes through as `event: online_order`."""
    settings.REDIS_URL = ""
    client.force_login(owner)
    response = client.get(reverse("live_events", args=[merchant.pk]))
    stream = iter(response.streaming_content)
    assert next(stream).decode().startswith("retry:")
    live.publish(
        merchant.pk,
        {"type": "online_order", "order_id": 7, "number": "DH1", "amount": 90_000},
    )
    chunk = next(stream).decode()
    response.close()

    assert chunk.startswith("event: online_order\ndata: ")
    assert '"spoken": "Đã nhận chín mươi nghìn đồng"' in chunk


def test_nothing_is_published_for_a_stall_sale(client, merchant, owner, fish, settings):
    from market.sales import orders

    settings.REDIS_URL = ""
    listener = live.listen(merchant.pk, timeout=0.1)
    try:
        orders.order_create(
            merchant=merchant,
            lines=[orders.LineInput(product_id=fish.pk, quantity=Decimal("1"))],
            payment_method="cash",
            actor=owner,
        )
        got = [next(listener) for _ in range(3)]
    finally:
        listener.close()

    assert all(e is None or e["type"] != "online_order" for e in got)


def test_a_background_step_answers_with_the_new_list_and_its_message(
    client, merchant, cashier, fish
):
    order = paid_online_order(client, merchant, fish)
    client.force_login(cashier)

    response = client.post(
        advance_url(merchant, order), {"to": "accepted"}, headers={"X-Requested-With": "fetch"}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html and 'data-new-count="0"' in html
    assert f"Đơn {order.number}: Người bán đã nhận đơn." in html
    assert "Đã chuẩn bị xong" in html
    # The message was shown once: the next full page does not repeat it.
    assert f"Đơn {order.number}:" not in client.get(queue_url(merchant)).content.decode()
