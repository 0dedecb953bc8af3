"""The web shop from the shopper's side: search (diacritics, case, NFD), storefront, cart, checkout
(pickup/delivery, price changes), paying, and the merchant's steps up to a verified review."""

from __future__ import annotations

import unicodedata
from datetime import datetime, time
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from core.errors import Conflict, ValidationFailed
from market.models import Order, Review, Storefront
from market.shop import search, storefront
from market.shop.storefront import CheckoutInput
from tests.factories import (
    MarketFactory,
    ProductFactory,
    StallFactory,
    banknotify_deliver,
    banknotify_payload,
    member_of,
    merchant_with_account,
)

pytestmark = pytest.mark.django_db(transaction=True)

# 07:00 in Da Nang, a market morning.
MORNING = datetime(2026, 11, 30, 0, 0, tzinfo=timezone.get_fixed_timezone(0))


@pytest.fixture(autouse=True)
def _morning():
    with time_machine.travel(MORNING, tick=False):
        yield


@pytest.fixture
def merchant():
    m = merchant_with_account(
        display_name="Cá tươi Bà Lan", slug="ca-tuoi-ba-lan", phone="+84905111022"
    )
    StallFactory(market=MarketFactory(name="Chợ Hàn", slug="cho-han"), code="B-07", merchant=m)
    Storefront.objects.create(merchant=m, is_open=True, delivers=True, delivery_fee=15_000)
    return m


@pytest.fixture
def fish(merchant):
    return ProductFactory(
        merchant=merchant, name="Cá thu", search_name="ca thu", unit="kg", price=180_000
    )


@pytest.fixture
def rice_paper(merchant):
    return ProductFactory(
        merchant=merchant,
        name="Bánh tráng Túy Loan",
        search_name="banh trang tuy loan",
        unit="gói",
        price=25_000,
        sold_by_weight=False,
    )


def keys(result) -> list[str]:
    return [p.name for p in result.page.object_list]


@pytest.mark.parametrize(
    "query", ["ca thu", "Cá thu", "CÁ THU", unicodedata.normalize("NFD", "cá thu"), "  ca   THU "]
)
def test_search_ignores_diacritics_case_and_normalisation(query, fish, rice_paper):
    assert keys(search.product_search(query)) == ["Cá thu"]


def test_search_finds_banh_trang_and_ranks_the_name_start_first(merchant, rice_paper):
    ProductFactory(merchant=merchant, name="Gỏi cuốn bánh tráng", search_name="goi cuon banh trang")
    assert keys(search.product_search("banh trang")) == [
        "Bánh tráng Túy Loan",
        "Gỏi cuốn bánh tráng",
    ]


def test_search_shows_only_open_storefronts_and_active_products(merchant, fish):
    closed = merchant_with_account()
    Storefront.objects.create(merchant=closed, is_open=False)
    ProductFactory(merchant=closed, name="Cá thu kho", search_name="ca thu kho")
    ProductFactory(
        merchant=merchant, name="Cá thu một nắng", search_name="ca thu mot nang", is_active=False
    )
    assert keys(search.product_search("ca thu")) == ["Cá thu"]


def test_search_filters_by_market_and_paginates(merchant):
    for n in range(25):
        ProductFactory(merchant=merchant, name=f"Rau số {n:02d}", search_name=f"rau so {n:02d}")
    other = merchant_with_account()
    StallFactory(market=MarketFactory(slug="cho-con"), merchant=other)
    Storefront.objects.create(merchant=other, is_open=True)
    ProductFactory(merchant=other, name="Rau Cồn", search_name="rau con")
    first = search.product_search("rau", market="cho-han")
    assert first.page.paginator.count == 25
    assert len(first.page.object_list) == 20
    assert len(search.product_search("rau", market="cho-han", page=2).page.object_list) == 5
    assert keys(search.product_search("rau", market="cho-con")) == ["Rau Cồn"]


def test_the_marketplace_page_searches(client, fish):
    body = client.get("/mua/", {"q": "ca thu"}).content.decode()
    assert "Cá thu" in body and "180.000 đ" in body and "1 kết quả" in body


def test_the_storefront_has_a_readable_address(client, merchant, fish):
    response = client.get("/cho/cho-han/ca-tuoi-ba-lan/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Cá tươi Bà Lan" in body and "Chợ Hàn" in body and "B-07" in body and "Cá thu" in body
    assert client.get("/cho/cho-con/ca-tuoi-ba-lan/").status_code == 404


def test_the_cart_takes_half_a_kilo_and_refuses_half_a_pack(client, fish, rice_paper):
    client.post("/gio-hang/them/", {"product": fish.pk, "qty": "0,5"})
    client.post("/gio-hang/them/", {"product": rice_paper.pk, "qty": "1,5"})
    body = client.get("/gio-hang/").content.decode()
    assert "90.000 đ" in body
    assert "bán theo gói, số lượng là số nguyên" in body
    assert [line["product"] for line in client.session["cart"]] == [fish.pk]


def test_an_out_of_stock_product_cannot_be_added(client, fish):
    fish.in_stock = False
    fish.save()
    client.post("/gio-hang/them/", {"product": fish.pk, "qty": "1"})
    assert "đang hết hàng" in client.get("/gio-hang/").content.decode()
    assert client.session.get("cart", []) == []


def slot_at(merchant, hour: int, minute: int = 0) -> datetime:
    day = timezone.localdate()
    wanted = timezone.make_aware(datetime.combine(day, time(hour, minute)))
    assert wanted in storefront.pickup_slots(merchant.storefront)
    return wanted


def data(**overrides) -> CheckoutInput:
    base = {
        "name": "Trần Thị Khách",
        "phone": "0905 123 456",
        "fulfilment": "pickup",
        "payment_method": "bank_qr",
    }
    return CheckoutInput(**{**base, **overrides})


def test_pickup_slots_start_after_the_preparation_time(merchant):
    slots = storefront.pickup_slots(merchant.storefront)
    assert timezone.localtime(slots[0]).time() == time(7, 30)  # now 07:00 + 30 min
    assert all(timezone.localtime(s).minute in (0, 30) for s in slots)


def test_checkout_places_an_unpaid_order_that_reaches_the_merchant_once_paid(
    client, merchant, fish
):
    order = storefront.checkout(
        merchant=merchant,
        lines=[(fish.pk, Decimal("0.5"))],
        data=data(pickup_at=slot_at(merchant, 9)),
    )
    assert (order.channel, order.status, order.fulfilment_status) == (
        "online",
        "awaiting_payment",
        "",
    )
    assert order.total == 90_000
    banknotify_deliver(
        client,
        banknotify_payload(
            account=order.intent.bank_account,
            amount=90_000,
            description=order.intent.reference_code,
        ),
    )
    order.refresh_from_db()
    assert (order.status, order.fulfilment_status) == ("paid", "new")
    assert list(order.events.values_list("kind", flat=True)) == ["placed", "paid"]


def test_delivery_adds_the_fee_as_a_line_and_needs_an_address(merchant, fish):
    with pytest.raises(ValidationFailed) as exc:
        storefront.checkout(
            merchant=merchant, lines=[(fish.pk, Decimal(1))], data=data(fulfilment="delivery")
        )
    assert "address" in exc.value.fields
    order = storefront.checkout(
        merchant=merchant,
        lines=[(fish.pk, Decimal(1))],
        data=data(fulfilment="delivery", address="45 Lê Duẩn, Hải Châu"),
    )
    assert order.total == 195_000
    assert [(line.name, line.amount) for line in order.lines.all()] == [
        ("Cá thu", 180_000),
        ("Phí giao hàng", 15_000),
    ]


def test_a_price_change_before_placing_is_shown_not_charged_silently(merchant, fish):
    fish.price = 200_000
    fish.save()
    with pytest.raises(Conflict) as exc:
        storefront.checkout(
            merchant=merchant,
            lines=[(fish.pk, Decimal(1))],
            data=data(pickup_at=slot_at(merchant, 9), expected_total=180_000),
        )
    assert exc.value.code == "price_changed"
    assert "200.000" in str(exc.value.message)
    assert not Order.objects.exists()


def test_the_checkout_page_places_the_order_and_empties_that_stall_from_the_cart(
    client, merchant, fish
):
    client.post("/gio-hang/them/", {"product": fish.pk, "qty": "0,5"})
    response = client.post(
        f"/gio-hang/{merchant.pk}/dat-hang/",
        {
            "name": "Trần Thị Khách",
            "phone": "0905123456",
            "fulfilment": "pickup",
            "pickup_at": slot_at(merchant, 8).isoformat(),
            "payment_method": "bank_qr",
            "expected_total": "90000",
        },
    )
    order = Order.objects.get()
    assert response.status_code == 302
    assert response.url == f"/don-hang/{order.receipt_token}/"
    page = client.get(response.url).content.decode()
    assert order.intent.reference_code in page and "90.000 đ" in page
    assert "Cá thu" not in client.get("/gio-hang/").content.decode()


def test_checkout_errors_are_explained_on_the_form(client, merchant, fish):
    client.post("/gio-hang/them/", {"product": fish.pk, "qty": "1"})
    response = client.post(
        f"/gio-hang/{merchant.pk}/dat-hang/",
        {"name": "", "phone": "123", "fulfilment": "pickup", "payment_method": "bank_qr"},
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "Vui lòng nhập tên người nhận" in body
    assert "Số điện thoại không đúng" in body
    assert "Chọn một giờ lấy hàng" in body
    assert not Order.objects.exists()


def completed_order(client, merchant, fish, method="bank_qr") -> Order:
    order = storefront.checkout(
        merchant=merchant,
        lines=[(fish.pk, Decimal(1))],
        data=data(pickup_at=slot_at(merchant, 9), payment_method=method),
    )
    banknotify_deliver(
        client,
        banknotify_payload(
            account=order.intent.bank_account,
            amount=order.total,
            description=order.intent.reference_code,
        ),
    )
    owner = member_of(merchant)
    for step in ("accepted", "ready", "completed"):
        storefront.order_advance(order_id=order.pk, to=step, actor=owner)
    order.refresh_from_db()
    return order


def test_a_completed_bank_confirmed_order_can_be_reviewed_once_per_product(client, merchant, fish):
    order = completed_order(client, merchant, fish)
    response = client.post(
        f"/don-hang/{order.receipt_token}/danh-gia/",
        {"product": fish.pk, "rating": "5", "text": "Cá rất tươi"},
    )
    assert response.status_code == 302
    review = Review.objects.get()
    assert (review.rating, review.text, review.product) == (5, "Cá rất tươi", fish)
    with pytest.raises(Conflict):
        storefront.review_create(token=order.receipt_token, product_id=fish.pk, rating=4, text="")
    storefront.review_create(
        token=order.receipt_token, product_id=None, rating=4, text="Bán vui vẻ"
    )
    page = client.get("/cho/cho-han/ca-tuoi-ba-lan/").content.decode()
    assert "Cá rất tươi" in page and "★ 4,5" in page


def test_no_review_before_completion_or_without_a_confirmed_payment(client, merchant, fish):
    order = storefront.checkout(
        merchant=merchant, lines=[(fish.pk, Decimal(1))], data=data(pickup_at=slot_at(merchant, 9))
    )
    with pytest.raises(Conflict):
        storefront.review_create(token=order.receipt_token, product_id=fish.pk, rating=5, text="")
    banknotify_deliver(
        client,
        banknotify_payload(
            account=order.intent.bank_account,
            amount=order.total,
            description=order.intent.reference_code,
        ),
    )
    storefront.order_advance(order_id=order.pk, to="accepted", actor=member_of(merchant))
    with pytest.raises(Conflict):
        storefront.review_create(token=order.receipt_token, product_id=fish.pk, rating=5, text="")
    assert not Review.objects.exists()


def test_the_merchant_replies_once(client, merchant, fish):
    order = completed_order(client, merchant, fish)
    review = storefront.review_create(
        token=order.receipt_token, product_id=fish.pk, rating=3, text="Hơi đắt"
    )
    owner = member_of(merchant)
    storefront.review_reply(
        review_id=review.pk, merchant=merchant, text="Cảm ơn chị, lần sau em bớt", actor=owner
    )
    with pytest.raises(Conflict):
        storefront.review_reply(review_id=review.pk, merchant=merchant, text="Nữa", actor=owner)


def test_cancel_after_payment_refunds_and_takings_net_out(client, merchant, fish):
    order = storefront.checkout(
        merchant=merchant, lines=[(fish.pk, Decimal(1))], data=data(pickup_at=slot_at(merchant, 9))
    )
    banknotify_deliver(
        client,
        banknotify_payload(
            account=order.intent.bank_account,
            amount=order.total,
            description=order.intent.reference_code,
        ),
    )
    owner = member_of(merchant)
    with pytest.raises(ValidationFailed):
        storefront.order_advance(order_id=order.pk, to="canceled", actor=owner)
    storefront.order_advance(order_id=order.pk, to="canceled", actor=owner, reason="Hết cá thu")
    order.refresh_from_db()
    assert (order.status, order.fulfilment_status, order.amount_refunded) == (
        "refunded",
        "canceled",
        180_000,
    )
    assert order.net_amount == 0
    with pytest.raises(Conflict):
        storefront.order_advance(order_id=order.pk, to="accepted", actor=owner)


def test_the_shopper_order_page_is_reached_only_by_its_link(client, merchant, fish):
    order = storefront.checkout(
        merchant=merchant, lines=[(fish.pk, Decimal(1))], data=data(pickup_at=slot_at(merchant, 9))
    )
    assert client.get(f"/don-hang/{order.receipt_token}/").status_code == 200
    assert client.get("/don-hang/guess/").status_code == 404
    status = client.get(f"/don-hang/{order.receipt_token}/trang-thai/").json()
    assert status == {"status": "awaiting_payment", "fulfilment_status": "", "events": 1}


def test_each_word_must_start_a_word_of_the_name(merchant, fish):
    ProductFactory(merchant=merchant, name="Cải ngọt", search_name="cai ngot")
    assert keys(search.product_search("ngot")) == ["Cải ngọt"]
    assert keys(search.product_search("got")) == []  # inside a word: not a match
    assert keys(search.product_search("ca")) == ["Cá thu", "Cải ngọt"]


def test_no_query_shows_the_newest_goods(merchant, fish, rice_paper):
    assert keys(search.product_search("")) == ["Bánh tráng Túy Loan", "Cá thu"]


@pytest.mark.postgres
def test_a_typo_still_finds_the_goods_on_postgresql(merchant, rice_paper, fish):
    result = search.product_search("banh trnag")
    assert result.fuzzy
    assert keys(result) == ["Bánh tráng Túy Loan"]
    assert keys(search.product_search("pho bo")) == []


def test_a_reported_review_stays_up_until_staff_hide_it(client, merchant, fish):
    from tests.factories import staff_reviewer

    order = completed_order(client, merchant, fish)
    review = storefront.review_create(
        token=order.receipt_token, product_id=fish.pk, rating=1, text="Cá ươn"
    )
    client.post(f"/danh-gia/{review.pk}/bao-cao/", {"reason": "Nói sai"})
    review.refresh_from_db()
    assert review.status == Review.Status.REPORTED
    assert "Cá ươn" in client.get("/cho/cho-han/ca-tuoi-ba-lan/").content.decode()
    moderator = staff_reviewer()
    from django.contrib.auth.models import Permission

    moderator.user_permissions.add(Permission.objects.get(codename="moderate_review"))
    moderator = type(moderator).objects.get(pk=moderator.pk)
    storefront.review_moderate(review_id=review.pk, actor=moderator, hide=True)
    assert "Cá ươn" not in client.get("/cho/cho-han/ca-tuoi-ba-lan/").content.decode()
