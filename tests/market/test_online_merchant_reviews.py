"""Verified reviews, the trader's and staff's side: who may review (completed, bank- or
wallet-confirmed orders only; one per order and product), the merchant's one reply
(`/cua-hang/<id>/danh-gia/`), reports and staff moderation (`/quan-ly/danh-gia/`)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import AuditLog
from market.models import FulfilmentStatus, Order, Review
from market.sales import orders
from market.shop import storefront as shop
from market.shop.search import merchant_ratings
from tests.factories import ProductFactory, UserFactory, member_of, merchant_with_account
from tests.market.test_online_merchant import open_shop, paid_online_order, place

pytestmark = pytest.mark.django_db(transaction=True)
FS = FulfilmentStatus


@pytest.fixture
def merchant():
    m = merchant_with_account(display_name="Bánh tráng Cô Ba")
    open_shop(m)
    return m


@pytest.fixture
def cake(merchant):
    return ProductFactory(
        merchant=merchant,
        name="Bánh tráng",
        search_name="banh trang",
        unit="gói",
        price=25_000,
        sold_by_weight=False,
    )


@pytest.fixture
def owner(merchant):
    return member_of(merchant)


def complete(order: Order) -> Order:
    for step in (FS.ACCEPTED, FS.READY, FS.COMPLETED):
        order = shop.order_advance(order_id=order.pk, to=step, actor=None, actor_label="test")
    return order


@pytest.fixture
def done(client, merchant, cake):
    return complete(paid_online_order(client, merchant, cake, quantity="2"))


def moderator():
    user = UserFactory(is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(codename="moderate_review", content_type__app_label="market")
    )
    return type(user).objects.get(pk=user.pk)


# --- who may review -----------------------------------------------------------------------------


def test_a_paid_order_cannot_be_reviewed_before_it_is_completed(client, merchant, cake):
    order = paid_online_order(client, merchant, cake, quantity="1")

    with pytest.raises(Conflict) as exc:
        shop.review_create(token=order.receipt_token, product_id=cake.pk, rating=5, text="Ngon")
    assert exc.value.code == "review_not_allowed"
    shop.order_advance(order_id=order.pk, to=FS.ACCEPTED, actor=None)
    with pytest.raises(Conflict):
        shop.review_create(token=order.receipt_token, product_id=cake.pk, rating=5, text="")


def test_an_unpaid_order_cannot_be_reviewed(merchant, cake):
    order = place(merchant, cake, quantity="1")

    with pytest.raises(Conflict):
        shop.review_create(token=order.receipt_token, product_id=None, rating=5, text="")


def test_a_cash_sale_cannot_be_reviewed(merchant, cake, owner):
    sale = orders.order_create(
        merchant=merchant,
        lines=[orders.LineInput(product_id=cake.pk, quantity=Decimal("1"))],
        payment_method="cash",
        actor=owner,
    )
    # Even marked completed by hand, cash has no bank's or wallet's word behind it.
    Order.objects.filter(pk=sale.pk).update(fulfilment_status=FS.COMPLETED)

    with pytest.raises(Conflict):
        shop.review_create(token=sale.receipt_token, product_id=cake.pk, rating=5, text="")


def test_a_canceled_order_cannot_be_reviewed(client, merchant, cake):
    order = paid_online_order(client, merchant, cake, quantity="1")
    shop.order_advance(order_id=order.pk, to=FS.CANCELED, actor=None, reason="Hết hàng")

    with pytest.raises(Conflict):
        shop.review_create(token=order.receipt_token, product_id=cake.pk, rating=1, text="")


def test_a_completed_bank_paid_order_is_reviewed_once_per_product(done, cake):
    review = shop.review_create(
        token=done.receipt_token, product_id=cake.pk, rating=5, text="Giòn, ngon"
    )

    assert (review.rating, review.product_id, review.author_name) == (5, cake.pk, "Lê Thị Mai")
    with pytest.raises(Conflict) as exc:
        shop.review_create(token=done.receipt_token, product_id=cake.pk, rating=1, text="")
    assert exc.value.code == "already_reviewed"
    # One for the stall itself is another review.
    shop.review_create(token=done.receipt_token, product_id=None, rating=4, text="Giao nhanh")
    with pytest.raises(Conflict):
        shop.review_create(token=done.receipt_token, product_id=None, rating=4, text="")
    assert Review.objects.filter(order=done).count() == 2


@pytest.mark.parametrize("rating", [0, 6, -1, True])
def test_a_rating_is_one_to_five_stars(done, cake, rating):
    with pytest.raises(ValidationFailed):
        shop.review_create(token=done.receipt_token, product_id=cake.pk, rating=rating, text="")


def test_a_product_not_in_the_order_cannot_be_reviewed(done, merchant):
    other = ProductFactory(merchant=merchant, name="Mắm nêm", search_name="mam nem")

    with pytest.raises(ValidationFailed):
        shop.review_create(token=done.receipt_token, product_id=other.pk, rating=5, text="")


# --- the merchant's list and reply --------------------------------------------------------------


def test_the_merchant_sees_reviews_and_replies_once(client, merchant, owner, done, cake):
    review = shop.review_create(token=done.receipt_token, product_id=cake.pk, rating=4, text="Ổn")
    client.force_login(owner)
    page = client.get(f"/cua-hang/{merchant.pk}/danh-gia/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Ổn" in html and "Lê Thị Mai" in html and "★★★★☆" in html
    assert page.context["average"] == 4.0 and page.context["count"] == 1

    url = f"/cua-hang/{merchant.pk}/danh-gia/{review.pk}/tra-loi/"
    response = client.post(url, {"reply": "Cảm ơn chị Mai!"})
    assert response.status_code == 302
    again = client.post(url, {"reply": "Lần hai"}, follow=True)

    review.refresh_from_db()
    assert review.reply == "Cảm ơn chị Mai!" and review.replied_at is not None
    assert "Cửa hàng đã trả lời đánh giá này" in again.content.decode()
    assert 'name="reply"' not in client.get(f"/cua-hang/{merchant.pk}/danh-gia/").content.decode()


def test_an_empty_reply_is_refused(client, merchant, owner, done, cake):
    review = shop.review_create(token=done.receipt_token, product_id=cake.pk, rating=4, text="")
    client.force_login(owner)

    response = client.post(
        f"/cua-hang/{merchant.pk}/danh-gia/{review.pk}/tra-loi/", {"reply": "   "}, follow=True
    )

    assert "Vui lòng nhập nội dung trả lời" in response.content.decode()
    review.refresh_from_db()
    assert review.replied_at is None


def test_a_cashier_reads_reviews_but_does_not_reply(client, merchant, done, cake):
    review = shop.review_create(token=done.receipt_token, product_id=cake.pk, rating=2, text="")
    client.force_login(member_of(merchant, role="cashier"))

    assert client.get(f"/cua-hang/{merchant.pk}/danh-gia/").status_code == 200
    response = client.post(f"/cua-hang/{merchant.pk}/danh-gia/{review.pk}/tra-loi/", {"reply": "x"})
    assert response.status_code == 403


def test_another_merchant_cannot_reply_or_report(client, done, cake):
    review = shop.review_create(token=done.receipt_token, product_id=cake.pk, rating=1, text="")
    other = merchant_with_account()
    client.force_login(member_of(other))

    reply = client.post(f"/cua-hang/{other.pk}/danh-gia/{review.pk}/tra-loi/", {"reply": "x"})
    report = client.post(f"/cua-hang/{other.pk}/danh-gia/{review.pk}/bao-cao/", {"reason": "x"})

    assert (reply.status_code, report.status_code) == (404, 404)
    review.refresh_from_db()
    assert (review.reply, review.status) == ("", Review.Status.VISIBLE)
    with pytest.raises(NotFound):
        shop.review_reply(review_id=review.pk, merchant=other, text="x", actor=None)


# --- report and moderation ----------------------------------------------------------------------


def test_a_reported_review_is_hidden_by_staff_and_leaves_the_rating(
    client, merchant, owner, done, cake
):
    review = shop.review_create(
        token=done.receipt_token, product_id=cake.pk, rating=1, text="Lừa đảo!!!"
    )
    shop.review_create(token=done.receipt_token, product_id=None, rating=5, text="Tốt")
    client.force_login(owner)
    client.post(
        f"/cua-hang/{merchant.pk}/danh-gia/{review.pk}/bao-cao/",
        {"reason": "Khách chưa từng nói chuyện với tôi"},
    )
    review.refresh_from_db()
    assert review.status == Review.Status.REPORTED

    staff = moderator()
    client.force_login(staff)
    queue = client.get("/quan-ly/danh-gia/")
    assert queue.status_code == 200
    assert [r.pk for r in queue.context["reported"]] == [review.pk]
    assert "Khách chưa từng nói chuyện với tôi" in queue.content.decode()

    response = client.post(f"/quan-ly/danh-gia/{review.pk}/", {"action": "hide"})

    assert response.status_code == 302
    review.refresh_from_db()
    assert review.status == Review.Status.HIDDEN
    assert merchant_ratings([merchant.pk]) == {merchant.pk: (5.0, 1)}
    assert AuditLog.objects.filter(action="review.hide").exists()
    client.post(f"/quan-ly/danh-gia/{review.pk}/", {"action": "restore"})
    review.refresh_from_db()
    assert review.status == Review.Status.VISIBLE


def test_moderation_needs_the_permission(client, done, cake):
    review = shop.review_create(token=done.receipt_token, product_id=cake.pk, rating=1, text="")
    shop.review_report(review_id=review.pk, reason="spam")
    client.force_login(UserFactory(is_staff=True))

    assert client.get("/quan-ly/danh-gia/").status_code == 403
    assert client.post(f"/quan-ly/danh-gia/{review.pk}/", {"action": "hide"}).status_code == 403
    review.refresh_from_db()
    assert review.status == Review.Status.REPORTED
    with pytest.raises(PermissionDenied):
        shop.review_moderate(review_id=review.pk, actor=UserFactory(), hide=True)


def test_moderation_of_an_unknown_review_or_action_is_not_a_500(client):
    client.force_login(moderator())

    assert client.post("/quan-ly/danh-gia/999999/", {"action": "hide"}).status_code == 404
    assert client.post("/quan-ly/danh-gia/999999/", {"action": "drop"}).status_code == 302
    assert client.get("/quan-ly/danh-gia/999999/").status_code == 405


def test_the_demo_staff_may_moderate():
    from config.management.commands.demo import STAFF_PERMISSIONS

    assert shop.MODERATE_PERMISSION in STAFF_PERMISSIONS
