"""The POS pages through Django's test client: sell, pay, receipt, refund, who may do what."""

from __future__ import annotations

import json

import pytest

from market.models import Order
from tests.factories import (
    ProductFactory,
    banknotify_deliver,
    banknotify_payload,
    enterprise_tax_code,
    member_of,
    merchant_with_account,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def merchant():
    return merchant_with_account(display_name="Cá tươi Bà Lan")


@pytest.fixture
def fish(merchant):
    return ProductFactory(merchant=merchant, name="Cá thu", unit="kg", price=180_000)


@pytest.fixture
def greens(merchant):
    return ProductFactory(
        merchant=merchant, name="Rau muống", unit="bó", price=10_000, sold_by_weight=False
    )


@pytest.fixture
def cashier_client(client, merchant):
    client.force_login(member_of(merchant, role="cashier"))
    return client


def sell(client, merchant, cart, method="bank_qr", key="k-1"):
    return client.post(
        f"/cua-hang/{merchant.pk}/ban-hang/",
        {"cart": json.dumps(cart), "method": method, "idempotency_key": key},
    )


def test_the_pos_lists_the_products_as_big_buttons(cashier_client, merchant, fish, greens):
    response = cashier_client.get(f"/cua-hang/{merchant.pk}/ban-hang/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Cá thu" in body and "180.000 đ/kg" in body
    assert "Rau muống" in body and "10.000 đ/bó" in body


def test_a_cashier_sells_and_lands_on_the_sales_qr(cashier_client, merchant, fish, greens):
    response = sell(
        cashier_client,
        merchant,
        [{"product": fish.pk, "qty": "0,35"}, {"product": greens.pk, "qty": 2}],
    )
    order = Order.objects.get()
    assert response.status_code == 302
    assert response.url == f"/cua-hang/{merchant.pk}/don/{order.pk}/"
    assert order.total == 83_000
    page = cashier_client.get(response.url).content.decode()
    assert "83.000 đ" in page
    assert order.intent.reference_code in page
    assert "<svg" in page


def test_a_double_tap_makes_one_sale(cashier_client, merchant, greens):
    cart = [{"product": greens.pk, "qty": 1}]
    first = sell(cashier_client, merchant, cart, key="same")
    second = sell(cashier_client, merchant, cart, key="same")
    assert first.url == second.url
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("cart", "message"),
    [
        ("not json", "Giỏ hàng không đọc được"),
        ([], "Đơn hàng chưa có món nào"),
        ([{"price": 0}], "Số tiền là số đồng nguyên dương"),
        ([{"product": 999999, "qty": 1}], "Sản phẩm không có trong danh mục"),
        ([{"price": 5000, "qty": "0,0001"}], "tối đa 3 chữ số thập phân"),
    ],
)
def test_a_bad_cart_is_explained_not_a_500(cashier_client, merchant, cart, message):
    response = cashier_client.post(
        f"/cua-hang/{merchant.pk}/ban-hang/",
        {"cart": cart if isinstance(cart, str) else json.dumps(cart), "method": "cash"},
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not Order.objects.exists()


def test_another_merchants_pos_and_orders_are_not_found(client, merchant, greens):
    stranger = merchant_with_account()
    client.force_login(member_of(stranger))
    assert client.get(f"/cua-hang/{merchant.pk}/ban-hang/").status_code == 404
    client.force_login(member_of(merchant, role="cashier"))
    sell(client, merchant, [{"product": greens.pk, "qty": 1}], method="cash")
    order = Order.objects.get()
    client.force_login(member_of(stranger))
    assert client.get(f"/cua-hang/{merchant.pk}/don/{order.pk}/").status_code == 404
    assert client.get(f"/cua-hang/{stranger.pk}/don/{order.pk}/").status_code == 404


def test_a_cashier_cannot_refund_but_the_owner_can(client, merchant, greens):
    cashier = member_of(merchant, role="cashier")
    owner = member_of(merchant)
    client.force_login(cashier)
    sell(client, merchant, [{"product": greens.pk, "qty": 3}], method="cash")
    order = Order.objects.get()
    url = f"/cua-hang/{merchant.pk}/don/{order.pk}/hoan-tien/"
    assert client.post(url, {"amount": "10.000", "reason": "héo"}).status_code == 403
    client.force_login(owner)
    response = client.post(url, {"amount": "10.000", "reason": "héo"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.amount_refunded) == ("partially_refunded", 10_000)
    too_much = client.post(url, {"amount": "50.000", "reason": "nhầm"})
    assert too_much.status_code == 422
    assert "vượt quá" in too_much.content.decode()


def test_the_receipt_is_public_by_its_link_only(client, cashier_client, merchant, greens):
    sell(cashier_client, merchant, [{"product": greens.pk, "qty": 2}])
    order = Order.objects.get()
    banknotify_deliver(
        client,
        banknotify_payload(
            account=order.intent.bank_account,
            amount=20_000,
            description=order.intent.reference_code,
            reference="FT26113099",
        ),
    )
    client.logout()
    page = client.get(f"/bien-nhan/{order.receipt_token}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Cá tươi Bà Lan" in body and "Rau muống" in body and "20.000 đ" in body
    assert "Đã xác nhận bởi ngân hàng" in body and "FT26113099" in body
    assert client.get("/bien-nhan/not-the-token/").status_code == 404


def test_the_shopper_asks_for_an_invoice_from_the_receipt(client, cashier_client, merchant, greens):
    sell(cashier_client, merchant, [{"product": greens.pk, "qty": 2}], method="cash")
    order = Order.objects.get()
    url = f"/bien-nhan/{order.receipt_token}/"
    client.logout()
    bad = client.post(url, {"name": "Công ty Biển Xanh", "tax_code": "0100109105", "address": ""})
    assert bad.status_code == 422
    assert "Mã số thuế không hợp lệ" in bad.content.decode()
    no_address = client.post(url, {"name": "Công ty Biển Xanh", "tax_code": enterprise_tax_code(4)})
    assert "cần địa chỉ" in no_address.content.decode()
    ok = client.post(
        url,
        {
            "name": "Công ty TNHH Biển Xanh",
            "tax_code": enterprise_tax_code(4),
            "email": "ketoan@bienxanh.vn",
            "address": "12 Bạch Đằng, Hải Châu, Đà Nẵng",
        },
    )
    assert ok.status_code == 302
    order.refresh_from_db()
    assert order.invoice_requested_at is not None
    assert (order.buyer_name, order.buyer_tax_code) == (
        "Công ty TNHH Biển Xanh",
        enterprise_tax_code(4),
    )
    assert "Đã nhận yêu cầu xuất hóa đơn" in client.get(url).content.decode()


def test_an_expired_qr_offers_a_new_one_and_cash(cashier_client, merchant, greens):
    from payments.models import PaymentIntent

    sell(cashier_client, merchant, [{"product": greens.pk, "qty": 1}])
    order = Order.objects.get()
    PaymentIntent.objects.filter(pk=order.intent_id).update(status="expired")
    page = cashier_client.get(f"/cua-hang/{merchant.pk}/don/{order.pk}/").content.decode()
    assert "Mã QR đã hết hạn" in page
    cashier_client.post(
        f"/cua-hang/{merchant.pk}/don/{order.pk}/thanh-toan-lai/", {"method": "bank_qr"}
    )
    order.refresh_from_db()
    assert order.intent.status == "requires_payment"
    cashier_client.post(
        f"/cua-hang/{merchant.pk}/don/{order.pk}/thanh-toan-lai/", {"method": "cash"}
    )
    order.refresh_from_db()
    assert (order.status, order.payment_method) == ("paid", "cash")


def test_a_double_tap_on_refund_gives_back_once(client, merchant, greens):
    client.force_login(member_of(merchant, role="cashier"))
    sell(client, merchant, [{"product": greens.pk, "qty": 3}], method="cash")
    order = Order.objects.get()
    client.force_login(member_of(merchant))
    form = {"amount": "10.000", "reason": "héo", "idempotency_key": "refund-tap-1"}
    url = f"/cua-hang/{merchant.pk}/don/{order.pk}/hoan-tien/"
    assert client.post(url, form).status_code == 302
    assert client.post(url, form).status_code == 302
    order.refresh_from_db()
    assert (order.amount_refunded, order.refunds.count()) == (10_000, 1)
