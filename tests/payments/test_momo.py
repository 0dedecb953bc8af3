"""MoMo as the e-wallet provider, end to end over real HTTP: a POS "Ví" sale becomes a MoMo
order in the sandbox, the sandbox's signed IPN comes back to a live server and settles the sale
through the same exactly-once step as every other payment; reconciliation asks MoMo's query API;
refunds go through MoMo's refund API; the books agree."""

from __future__ import annotations

import json
import threading
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from market.figures.books import books_check
from market.models import Order, OrderRefund
from payments.models import LedgerEntry, PaymentIntent, WalletEvent
from payments.momo import momo_reconcile
from sandboxes.momo import MomoSandbox
from tests.factories import member_of, merchant_with_account
from tests.payments.test_ewallet import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

PARTNER = "MOMOTEST2026"
ACCESS = "test-momo-access"
SECRET = "test-momo-secret"
IPN_PATH = "/api/v1/payments/webhooks/momo"


@pytest.fixture
def momo(live_server, settings):
    sandbox = MomoSandbox(
        partner_code=PARTNER, access_key=ACCESS, secret_key=SECRET, backoff_base=0.05
    ).start()
    settings.EWALLET_PROVIDER = "momo"
    settings.MOMO_ENDPOINT = sandbox.url
    settings.MOMO_PARTNER_CODE = PARTNER
    settings.MOMO_ACCESS_KEY = ACCESS
    settings.MOMO_SECRET_KEY = SECRET
    settings.MOMO_IPN_URL = live_server.url + IPN_PATH
    yield sandbox
    sandbox.stop()


@pytest.fixture
def merchant():
    return merchant_with_account(display_name="Hải sản Hùng Thọ Quang")


@pytest.fixture
def owner(client, merchant):
    client.force_login(member_of(merchant))
    return client


def sell(client, merchant, amount: int = 153_000, **headers):
    """The POS: one amount line, paid by "Ví" (the e-wallet)."""
    return client.post(
        f"/cua-hang/{merchant.pk}/ban-hang/",
        {
            "cart": json.dumps([{"price": amount, "name": "Ghẹ xanh"}]),
            "method": "ewallet",
            "idempotency_key": uuid.uuid4().hex,
        },
        HTTP_ACCEPT="application/json",
        **headers,
    )


def sale(client, merchant, amount: int = 153_000) -> Order:
    response = sell(client, merchant, amount)
    assert response.status_code == 201, response.content
    return Order.objects.select_related("intent").get(pk=response.json()["order_id"])


def paid(order: Order) -> bool:
    order.refresh_from_db()
    return order.status == Order.Status.PAID


def assert_books_agree() -> None:
    report = books_check()
    assert report.clean, "\n".join(str(d) for d in report.differences)


def test_a_pos_wallet_sale_is_a_momo_order_settled_once_under_duplicate_ipns(momo, owner, merchant):
    momo.set_knobs(duplicate_ipn=True)
    order = sale(owner, merchant)
    order_id = order.intent.provider_payment_id

    assert order_id.startswith("CSMOMO-")
    assert order.intent.qr_payload == f"{momo.url}/pay/{order_id}"  # the QR is MoMo's pay page
    assert momo.orders[order_id].amount == 153_000

    momo.approve(order_id)
    assert momo.wait_idle(timeout=10)
    wait_for(lambda: paid(order))

    assert [d["status"] for d in momo.deliveries] == [204, 204]  # both copies acknowledged
    entries = LedgerEntry.objects.filter(intent=order.intent)
    assert [(e.kind, e.amount) for e in entries] == [("settlement", 153_000)]
    assert WalletEvent.objects.filter(intent=order.intent).count() == 1  # stored once
    assert order.amount_paid == 153_000
    assert_books_agree()


class _FlakyProxy(BaseHTTPRequestHandler):
    """Between MoMo and the platform: the first IPN meets a 500 (a deploy, a crash); the
    next is passed on to the platform as it is, and its answer back."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen += 1  # type: ignore[attr-defined]
        if self.server.seen == 1:  # type: ignore[attr-defined]
            status = 500
        else:
            request = urllib.request.Request(  # noqa: S310 - the live test server
                self.server.target,  # type: ignore[attr-defined]
                data=body,
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request) as answer:  # noqa: S310
                status = answer.status
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_an_ipn_retried_after_a_500_settles_once(momo, owner, merchant, live_server, settings):
    proxy = ThreadingHTTPServer(("127.0.0.1", 0), _FlakyProxy)
    proxy.seen = 0  # type: ignore[attr-defined]
    proxy.target = live_server.url + IPN_PATH  # type: ignore[attr-defined]
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    settings.MOMO_IPN_URL = f"http://127.0.0.1:{proxy.server_address[1]}/ipn"
    try:
        order = sale(owner, merchant, 85_000)
        momo.approve(order.intent.provider_payment_id)
        assert momo.wait_idle(timeout=10)
    finally:
        proxy.shutdown()

    assert [d["status"] for d in momo.deliveries] == [500, 204]
    assert paid(order)
    assert LedgerEntry.objects.filter(intent=order.intent).count() == 1
    assert_books_agree()


def test_a_forged_ipn_is_refused_with_401_and_nothing_is_stored(momo, owner, merchant, client):
    order = sale(owner, merchant)
    momo.set_knobs(drop_ipn=True)
    momo.approve(order.intent.provider_payment_id)
    genuine = momo.ipn_body(momo.orders[order.intent.provider_payment_id])

    for forged in (
        {**genuine, "signature": "0" * 64},
        {**genuine, "amount": 1_530_000},  # signed for another amount
        {**genuine, "partnerCode": "OTHER"},
    ):
        response = client.post(IPN_PATH, forged, content_type="application/json")
        assert response.status_code == 401, response.content
        assert response.json()["error"]["code"] == "bad_signature"
    assert client.post(IPN_PATH, b"not json", content_type="application/json").status_code == 422

    assert not WalletEvent.objects.exists()
    assert not paid(order)

    answer = client.post(IPN_PATH, genuine, content_type="application/json")
    assert answer.status_code == 204 and answer.content == b""
    assert paid(order)


def test_a_declined_payment_is_not_a_sale(momo, owner, merchant):
    order = sale(owner, merchant)

    momo.decline(order.intent.provider_payment_id)
    assert momo.wait_idle(timeout=10)

    intent = PaymentIntent.objects.get(pk=order.intent_id)
    wait_for(lambda: PaymentIntent.objects.get(pk=order.intent_id).status == "canceled")
    intent.refresh_from_db()
    assert intent.failure_reason == "declined_by_shopper"
    assert not paid(order)
    assert not LedgerEntry.objects.filter(intent=intent).exists()
    assert_books_agree()


def test_reconciliation_picks_up_a_missed_ipn_once(momo, owner, merchant, client):
    momo.set_knobs(drop_ipn=True)
    order = sale(owner, merchant, 42_000)
    momo.approve(order.intent.provider_payment_id)
    assert not paid(order)

    first = momo_reconcile(older_than_seconds=0)
    again = momo_reconcile(older_than_seconds=0)

    assert (first["checked"], first["settled"]) == (1, 1)
    assert again["settled"] == 0
    assert paid(order)
    # The IPN arriving after all is the same outcome: acknowledged, counted once.
    late = momo.ipn_body(momo.orders[order.intent.provider_payment_id])
    assert client.post(IPN_PATH, late, content_type="application/json").status_code == 204
    assert LedgerEntry.objects.filter(intent=order.intent).count() == 1
    assert_books_agree()


def test_a_refund_goes_back_through_momo(momo, owner, merchant):
    order = sale(owner, merchant, 100_000)
    momo.approve(order.intent.provider_payment_id)
    wait_for(lambda: paid(order))

    response = owner.post(  # the owner's refund on the sale's page
        f"/cua-hang/{merchant.pk}/don/{order.pk}/hoan-tien/",
        {"amount": "30.000", "reason": "Ghẹ nhỏ", "idempotency_key": uuid.uuid4().hex},
    )

    assert response.status_code == 302, response.content
    refund = OrderRefund.objects.get(order=order)
    assert refund.status == OrderRefund.Status.SUCCEEDED
    assert refund.payment_refund.provider_refund_id.startswith("momo:")
    momo_order = momo.orders[order.intent.provider_payment_id]
    assert [r["amount"] for r in momo_order.refunds] == [30_000]
    assert sorted(e.amount for e in LedgerEntry.objects.filter(merchant=merchant)) == [
        -30_000,
        100_000,
    ]
    assert_books_agree()


@pytest.mark.parametrize(
    ("language", "words"),
    [("vi", "từ 1.000 đ đến 50.000.000 đ"), ("en", "from 1.000 đ to 50.000.000 đ")],
)
def test_an_amount_outside_momos_limits_is_a_clear_4xx(momo, owner, merchant, language, words):
    response = sell(owner, merchant, 50_000_001, HTTP_ACCEPT_LANGUAGE=language)

    assert response.status_code == 422, response.content
    assert words in response.json()["error"]["message"]
    assert momo.orders == {}  # MoMo was never asked
    assert not Order.objects.exists()


def test_the_same_ipn_arriving_at_once_from_several_connections_settles_once(
    momo, owner, merchant, live_server
):
    momo.set_knobs(drop_ipn=True)
    order = sale(owner, merchant, 64_000)
    momo.approve(order.intent.provider_payment_id)
    body = json.dumps(momo.ipn_body(momo.orders[order.intent.provider_payment_id])).encode()
    start = threading.Barrier(6)
    answers: list[int] = []

    def deliver() -> None:
        request = urllib.request.Request(  # noqa: S310 - the live test server
            live_server.url + IPN_PATH, data=body, headers={"Content-Type": "application/json"}
        )
        start.wait()
        with urllib.request.urlopen(request) as answer:  # noqa: S310
            answers.append(answer.status)

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert answers == [204] * 6
    assert paid(order)
    assert LedgerEntry.objects.filter(intent=order.intent).count() == 1
    assert WalletEvent.objects.filter(intent=order.intent).count() == 1
    assert_books_agree()
