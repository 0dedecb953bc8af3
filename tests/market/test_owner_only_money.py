"""Money going back, and where money goes, is the owner's (issue 12, case 7).

Every path that refunds — cancelling a paid online order (page and `advance to=canceled`), the
POS order refund (page and API), the intent refund (Thu tiền page and API) — refuses a cashier
with 403 and gives nothing back; the owner succeeds. A cashier still takes an online order
through every other step. Bank accounts and API keys are owner-only too, and an API key, which
acts as an owner elsewhere, can manage neither.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.errors import PermissionDenied
from market.models import FulfilmentStatus, Order, OrderEvent, OrderRefund
from market.sales import orders
from market.shop import storefront as shop
from merchants.models import ApiKey, BankAccount, Membership
from merchants.services import api_key_create
from payments import services as payments
from payments.models import LedgerEntry, PaymentIntent, Refund
from tests.factories import (
    ProductFactory,
    api_key_for,
    banknotify_deliver,
    banknotify_payload,
    member_of,
    merchant_with_account,
)
from tests.market.test_online_merchant import (
    advance_url,
    open_shop,
    paid_online_order,
    pay_by_bank,
    queue_url,
)

pytestmark = pytest.mark.django_db(transaction=True)
FS = FulfilmentStatus
OWNER_ONLY_CANCEL = "Chỉ chủ cửa hàng mới được hủy đơn đã thanh toán"
SHOP_API = "/api/v1/shop/merchant/online-orders"
ORDERS_API = "/api/v1/market/orders"
INTENTS_API = "/api/v1/payments/intents"
MERCHANTS_API = "/api/v1/merchants"


@pytest.fixture
def merchant():
    m = merchant_with_account(display_name="Hải sản Bà Lan")
    open_shop(m)
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
    return member_of(merchant, role=Membership.Role.CASHIER)


def assert_nothing_refunded(order: Order) -> None:
    order.refresh_from_db()
    assert order.amount_refunded == 0
    assert order.status == Order.Status.PAID
    assert not OrderRefund.objects.filter(order=order).exists()
    assert not Refund.objects.exists()
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REFUND).exists()


def assert_403(response) -> None:
    assert response.status_code == 403, response.content
    assert response.json()["error"]["code"] == "permission_denied"


def advance_api(client, order: Order, to: str, reason: str = "", **headers):
    return client.post(
        f"{SHOP_API}/{order.pk}/advance",
        {"to": to, "reason": reason},
        content_type="application/json",
        headers=headers,
    )


# --- cancelling a paid online order: the page ---------------------------------------------------


def test_a_cashier_cannot_cancel_a_paid_online_order_on_the_page(client, merchant, cashier, fish):
    order = paid_online_order(client, merchant, fish)
    client.force_login(cashier)

    response = client.post(advance_url(merchant, order), {"to": "canceled", "reason": "Hết cá"})

    assert response.status_code == 403
    assert OWNER_ONLY_CANCEL in response.content.decode()
    assert_nothing_refunded(order)
    assert order.fulfilment_status == FS.NEW
    assert not OrderEvent.objects.filter(order=order, kind=FS.CANCELED).exists()


def test_a_cashier_cannot_cancel_in_the_background_either(client, merchant, cashier, fish):
    order = paid_online_order(client, merchant, fish)
    client.force_login(cashier)

    response = client.post(
        advance_url(merchant, order),
        {"to": "canceled", "reason": "Hết cá"},
        headers={"X-Requested-With": "fetch"},
    )

    assert response.status_code == 403
    assert_nothing_refunded(order)
    assert order.fulfilment_status == FS.NEW


def test_a_cashier_takes_the_order_through_every_other_step(client, merchant, cashier, fish):
    order = paid_online_order(client, merchant, fish)
    client.force_login(cashier)

    for step in (FS.ACCEPTED, FS.READY, FS.COMPLETED):
        assert client.post(advance_url(merchant, order), {"to": step}).status_code == 302
        order.refresh_from_db()
        assert order.fulfilment_status == step

    assert_nothing_refunded(order)


def test_the_owner_cancels_on_the_page_and_the_order_is_refunded_in_full(
    client, merchant, owner, fish
):
    order = paid_online_order(client, merchant, fish)
    client.force_login(owner)

    response = client.post(advance_url(merchant, order), {"to": "canceled", "reason": "Hết cá"})

    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.fulfilment_status, order.status) == (FS.CANCELED, Order.Status.REFUNDED)
    assert order.amount_refunded == order.total == 90_000
    assert OrderRefund.objects.get(order=order).amount == 90_000
    assert Refund.objects.get(intent=order.intent).amount == 90_000


def test_the_queue_shows_the_cancel_form_to_the_owner_only(client, merchant, owner, cashier, fish):
    paid_online_order(client, merchant, fish)
    fragment = f"{queue_url(merchant)}danh-sach/"

    client.force_login(cashier)
    as_cashier = [client.get(queue_url(merchant)).text, client.get(fragment).text]
    client.force_login(owner)
    as_owner = [client.get(queue_url(merchant)).text, client.get(fragment).text]

    for html in as_cashier:
        assert 'value="canceled"' not in html and "Hủy đơn và hoàn tiền" not in html
        assert OWNER_ONLY_CANCEL in html
        assert 'value="accepted"' in html  # the other steps stay
    for html in as_owner:
        assert 'value="canceled"' in html and "Hủy đơn và hoàn tiền" in html
        assert OWNER_ONLY_CANCEL not in html


def test_the_refusal_reads_in_english_when_asked(client, merchant, cashier, fish):
    order = paid_online_order(client, merchant, fish)
    client.force_login(cashier)

    response = advance_api(client, order, "canceled", "Out of fish", **{"Accept-Language": "en"})

    assert_403(response)
    assert response.json()["error"]["message"] == (
        "Only the shop owner can cancel a paid order, because cancelling refunds the customer."
    )


# --- cancelling a paid online order: the API ----------------------------------------------------


def test_a_cashier_cannot_cancel_a_paid_online_order_through_the_api(
    client, merchant, cashier, fish
):
    order = paid_online_order(client, merchant, fish)
    client.force_login(cashier)

    accepted = advance_api(client, order, "accepted")
    canceled = advance_api(client, order, "canceled", "Hết cá")

    assert (accepted.status_code, accepted.json()["fulfilment_status"]) == (200, "accepted")
    assert_403(canceled)
    assert_nothing_refunded(order)
    assert order.fulfilment_status == FS.ACCEPTED


def test_the_owner_cancels_through_the_api_and_it_refunds(client, merchant, owner, fish):
    order = paid_online_order(client, merchant, fish)
    client.force_login(owner)

    response = advance_api(client, order, "canceled", "Hết cá")

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["amount_refunded"]) == ("refunded", 90_000)


def test_the_merchants_api_key_acts_as_an_owner_and_may_cancel(client, merchant, fish):
    order = paid_online_order(client, merchant, fish)

    response = advance_api(
        client, order, "canceled", "Hết cá", Authorization=f"Bearer {api_key_for(merchant)}"
    )

    assert response.status_code == 200, response.content
    assert response.json()["amount_refunded"] == 90_000


# --- the service is the last line of defence ----------------------------------------------------


def test_the_service_refuses_a_cashiers_cancel_that_would_refund(client, merchant, cashier, fish):
    order = paid_online_order(client, merchant, fish)

    with pytest.raises(PermissionDenied):
        shop.order_advance(order_id=order.pk, to=FS.CANCELED, actor=cashier, reason="Hết cá")

    assert_nothing_refunded(order)
    assert order.fulfilment_status == FS.NEW
    moved = shop.order_advance(order_id=order.pk, to=FS.ACCEPTED, actor=cashier)
    assert moved.fulfilment_status == FS.ACCEPTED


def test_the_service_refuses_someone_who_is_not_a_member(client, merchant, fish):
    order = paid_online_order(client, merchant, fish)
    stranger = member_of(merchant_with_account())

    with pytest.raises(PermissionDenied):
        shop.order_advance(order_id=order.pk, to=FS.CANCELED, actor=stranger, reason="Hết cá")

    assert_nothing_refunded(order)


def test_a_cashier_may_cancel_once_nothing_is_left_to_refund(
    client, merchant, owner, cashier, fish
):
    order = paid_online_order(client, merchant, fish)
    orders.order_refund(order_id=order.pk, amount=order.total, reason="Khách đổi ý", actor=owner)

    shop.order_advance(order_id=order.pk, to=FS.CANCELED, actor=cashier, reason="Khách đổi ý")

    order.refresh_from_db()
    assert order.fulfilment_status == FS.CANCELED
    assert order.amount_refunded == order.total  # once, by the owner
    assert OrderRefund.objects.filter(order=order).count() == 1


# --- a POS sale: the refund page and API --------------------------------------------------------


@pytest.fixture
def sale(client, merchant, fish, cashier) -> Order:
    order = orders.order_create(
        merchant=merchant,
        lines=[orders.LineInput(product_id=fish.pk, quantity=Decimal("1"))],
        payment_method=Order.PaymentMethod.BANK_QR,
        actor=cashier,
    )
    order = pay_by_bank(client, order)
    assert order.is_paid
    return order


def pos_refund_url(order: Order) -> str:
    return f"/cua-hang/{order.merchant_id}/don/{order.pk}/hoan-tien/"


def test_a_cashier_cannot_refund_a_sale_on_the_page(client, sale, cashier):
    client.force_login(cashier)

    response = client.post(pos_refund_url(sale), {"amount": "", "reason": "Cá không tươi"})

    assert response.status_code == 403
    assert_nothing_refunded(sale)


def test_the_owner_refunds_a_sale_on_the_page(client, sale, owner):
    client.force_login(owner)

    response = client.post(pos_refund_url(sale), {"amount": "180.000", "reason": "Cá không tươi"})

    assert response.status_code == 302
    sale.refresh_from_db()
    assert (sale.status, sale.amount_refunded) == (Order.Status.REFUNDED, 180_000)
    assert Refund.objects.get(intent=sale.intent).amount == 180_000


def sale_refund(client, order: Order, **headers):
    return client.post(
        f"{ORDERS_API}/{order.pk}/refunds",
        {"amount": order.total, "reason": "Cá không tươi"},
        content_type="application/json",
        headers=headers,
    )


def test_a_cashier_cannot_refund_a_sale_through_the_api(client, sale, cashier):
    client.force_login(cashier)

    assert_403(sale_refund(client, sale))
    assert_nothing_refunded(sale)


def test_the_owner_refunds_a_sale_through_the_api(client, sale, owner):
    client.force_login(owner)

    response = sale_refund(client, sale)

    assert response.status_code == 201, response.content
    sale.refresh_from_db()
    assert sale.amount_refunded == 180_000


# --- an intent: the Thu tiền refund page and API ------------------------------------------------


@pytest.fixture
def intent(client, merchant) -> PaymentIntent:
    intent = payments.intent_create(merchant=merchant, amount=100_000)
    payload = banknotify_payload(
        account=intent.bank_account, amount=intent.amount, description=intent.reference_code
    )
    assert banknotify_deliver(client, payload).status_code == 200
    intent.refresh_from_db()
    assert intent.status == PaymentIntent.Status.SUCCEEDED
    return intent


def assert_intent_untouched(intent: PaymentIntent) -> None:
    intent.refresh_from_db()
    assert (intent.status, intent.amount_refunded) == (PaymentIntent.Status.SUCCEEDED, 0)
    assert not Refund.objects.exists()


def collect_refund_url(intent: PaymentIntent) -> str:
    return f"/cua-hang/{intent.merchant_id}/thu-tien/{intent.pk}/hoan-tien/"


def intent_refund(client, intent: PaymentIntent, **headers):
    return client.post(
        f"{INTENTS_API}/{intent.pk}/refund",
        {"amount": 100_000, "reason": "Khách trả lại hàng"},
        content_type="application/json",
        headers=headers,
    )


def test_a_cashier_cannot_refund_from_the_collect_page(client, intent, cashier):
    client.force_login(cashier)

    response = client.post(collect_refund_url(intent), {"amount": "100.000", "reason": "Trả lại"})

    assert response.status_code == 403
    assert_intent_untouched(intent)


def test_the_owner_refunds_from_the_collect_page(client, intent, owner):
    client.force_login(owner)

    response = client.post(collect_refund_url(intent), {"amount": "100.000", "reason": "Trả lại"})

    assert response.status_code == 302
    intent.refresh_from_db()
    assert (intent.status, intent.amount_refunded) == (PaymentIntent.Status.REFUNDED, 100_000)


def test_a_cashier_cannot_refund_an_intent_through_the_api(client, intent, cashier):
    client.force_login(cashier)

    assert_403(intent_refund(client, intent))
    assert_intent_untouched(intent)


def test_the_owner_refunds_an_intent_through_the_api(client, intent, owner):
    client.force_login(owner)

    response = intent_refund(client, intent)

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "refunded"


# --- bank accounts: where the money goes ---------------------------------------------------------

ACCOUNT = {"bank_bin": "970436", "account_number": "999888777", "holder_name": "KE GIAN"}


def accounts_of(merchant) -> list[tuple[str, bool]]:
    return list(
        BankAccount.objects.filter(merchant=merchant)
        .order_by("pk")
        .values_list("account_number", "is_default")
    )


def test_a_cashier_cannot_add_or_remove_a_bank_account(client, merchant, cashier):
    account = merchant.bank_accounts.get()
    before = accounts_of(merchant)
    client.force_login(cashier)

    page_add = client.post(
        f"/cua-hang/{merchant.pk}/ngan-hang/them/", {**ACCOUNT, "is_default": "on"}
    )
    page_remove = client.post(f"/cua-hang/{merchant.pk}/ngan-hang/{account.pk}/xoa/")
    api_add = client.post(
        f"{MERCHANTS_API}/{merchant.pk}/bank-accounts",
        {**ACCOUNT, "is_default": True},
        content_type="application/json",
    )
    api_remove = client.delete(f"{MERCHANTS_API}/{merchant.pk}/bank-accounts/{account.pk}")

    assert (page_add.status_code, page_remove.status_code) == (403, 403)
    assert_403(api_add)
    assert_403(api_remove)
    assert accounts_of(merchant) == before


def test_an_api_key_cannot_manage_bank_accounts(client, merchant, owner):
    account = merchant.bank_accounts.get()
    before = accounts_of(merchant)
    auth = {"Authorization": f"Bearer {api_key_for(merchant, actor=owner)}"}

    add = client.post(
        f"{MERCHANTS_API}/{merchant.pk}/bank-accounts",
        {**ACCOUNT, "is_default": True},
        content_type="application/json",
        headers=auth,
    )
    remove = client.delete(
        f"{MERCHANTS_API}/{merchant.pk}/bank-accounts/{account.pk}", headers=auth
    )

    assert (add.status_code, remove.status_code) == (401, 401)
    assert accounts_of(merchant) == before


def test_the_owner_adds_a_default_account_and_removes_the_old_one(client, merchant, owner):
    old = merchant.bank_accounts.get()
    client.force_login(owner)

    added = client.post(
        f"{MERCHANTS_API}/{merchant.pk}/bank-accounts",
        {**ACCOUNT, "is_default": True},
        content_type="application/json",
    )
    removed = client.post(f"/cua-hang/{merchant.pk}/ngan-hang/{old.pk}/xoa/")

    assert (added.status_code, removed.status_code) == (201, 302)
    assert accounts_of(merchant) == [("999888777", True)]


# --- API keys ----------------------------------------------------------------------------------


def keys_of(merchant) -> list[tuple[str, bool]]:
    """(name, revoked) of each key."""
    return [
        (name, revoked_at is not None)
        for name, revoked_at in ApiKey.objects.filter(merchant=merchant)
        .order_by("pk")
        .values_list("name", "revoked_at")
    ]


def test_a_cashier_cannot_create_or_revoke_api_keys(client, merchant, owner, cashier):
    key, _raw = api_key_create(actor=owner, merchant=merchant, name="Máy POS")
    before = keys_of(merchant)
    client.force_login(cashier)

    responses = [
        client.get(f"/cua-hang/{merchant.pk}/khoa-api/them/"),
        client.post(f"/cua-hang/{merchant.pk}/khoa-api/them/", {"name": "Của thu ngân"}),
        client.post(f"/cua-hang/{merchant.pk}/khoa-api/{key.pk}/thu-hoi/"),
    ]
    api = [
        client.get(f"{MERCHANTS_API}/{merchant.pk}/api-keys"),
        client.post(
            f"{MERCHANTS_API}/{merchant.pk}/api-keys",
            {"name": "Của thu ngân"},
            content_type="application/json",
        ),
        client.post(f"{MERCHANTS_API}/{merchant.pk}/api-keys/{key.pk}/revoke"),
    ]

    assert [r.status_code for r in responses] == [403, 403, 403]
    for response in api:
        assert_403(response)
    assert keys_of(merchant) == before


def test_an_api_key_cannot_create_or_revoke_api_keys(client, merchant, owner):
    key, raw = api_key_create(actor=owner, merchant=merchant, name="Máy POS")
    before = keys_of(merchant)
    auth = {"Authorization": f"Bearer {raw}"}

    created = client.post(
        f"{MERCHANTS_API}/{merchant.pk}/api-keys",
        {"name": "Khóa thứ hai"},
        content_type="application/json",
        headers=auth,
    )
    revoked = client.post(f"{MERCHANTS_API}/{merchant.pk}/api-keys/{key.pk}/revoke", headers=auth)

    assert (created.status_code, revoked.status_code) == (401, 401)
    assert keys_of(merchant) == before


def test_the_owner_creates_and_revokes_an_api_key(client, merchant, owner):
    client.force_login(owner)

    created = client.post(
        f"{MERCHANTS_API}/{merchant.pk}/api-keys",
        {"name": "Máy POS"},
        content_type="application/json",
    )
    key_id = created.json()["id"]
    revoked = client.post(f"/cua-hang/{merchant.pk}/khoa-api/{key_id}/thu-hoi/")

    assert (created.status_code, revoked.status_code) == (201, 302)
    assert keys_of(merchant) == [("Máy POS", True)]
