"""A storm of sales and faults, then the books must agree (issue 12, ARCHITECTURE.md invariant 7).

``run_mixed`` makes a seeded random mix of sales across a few merchants (``make_shops``): at the
stall by bank QR, e-wallet or cash, quick-collect amounts with no sale, online and exhibition
orders, some through the JSON API; shoppers pay by the signed bank webhook (over a Django test
client) and the sandbox wallet (its signed webhooks come back to a live server). With probability
``fault_rate`` at each step something goes wrong the way it does at a market: a notification
delivered twice or replayed later, an API request retried with the same Idempotency-Key or after a
"crash after commit", a sale paid twice by two methods, paid late, paid short, a transfer with no
code, an e-wallet refund whose first provider call gets a 503, an online order canceled after
payment. Refunds (full, partial, one line; by order and by intent) are made along the way.

At the end the e-wallet is reconciled, each merchant closes the day and ``books_check`` must be
clean; then facts are checked against sources the books check does not read: the driver's own
record of the money it sent in, the sandbox wallet's record of what it took and gave back, and
the counts of each kind of fault. Everything the driver decides comes from ``random.Random(seed)``
(the wallet's webhooks arrive when they arrive, so the driver waits for them where it matters).

Used by tests/reliability/test_mixed_scenario.py and bench/books.py (outside pytest).
"""

from __future__ import annotations

import itertools
import random
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Sum
from django.utils import timezone

from core.errors import ProviderUnavailable
from core.models import IdempotencyKey
from market.figures import day_close
from market.figures.books import BooksReport, books_check
from market.figures.closing import daily_close_create
from market.models import Order, OrderLine, OrderRefund, Storefront
from market.sales import orders
from market.shop import storefront
from merchants.models import BankAccount, Merchant, Product, User
from payments import refunds as payment_refunds
from payments import services as payments
from payments.ewallet import ewallet_reconcile
from payments.models import BankNotification, LedgerEntry, PaymentIntent, Refund, WalletEvent
from tests.factories import (
    MarketFactory,
    ProductFactory,
    StallFactory,
    api_key_for,
    banknotify_deliver,
    banknotify_payload,
    member_of,
    merchant_with_account,
)

ORDERS_API = "/api/v1/market/orders"
INTENTS_API = "/api/v1/payments/intents"
PAID = (
    PaymentIntent.Status.SUCCEEDED,
    PaymentIntent.Status.PARTIALLY_REFUNDED,
    PaymentIntent.Status.REFUNDED,
)
ORDER_PAID = (Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED, Order.Status.REFUNDED)
WALLET_TOOK = ("succeeded", "partially_refunded", "refunded")
O = BankNotification.Outcome  # noqa: E741

# (name, unit, price, sold by weight, tax category)
CATALOGUE = [
    ("Cá thu", "kg", 180_000, True, "8%"),
    ("Tôm sú", "kg", 320_000, True, "8%"),
    ("Mực một nắng", "kg", 450_000, True, "8%"),
    ("Rau muống", "bó", 10_000, False, "KCT"),
    ("Bánh tráng Túy Loan", "gói", 25_000, False, "5%"),
    ("Nước mắm Nam Ô", "chai", 65_000, False, "10%"),
]
SHOP_NAMES = [
    "Cá tươi Bà Lan",  # issues e-invoices automatically
    "Đặc sản Cô Ba",  # sells online (open storefront) and at the exhibition
    "Rau sạch Chị Tư",
    "Hải sản Hùng Thọ Quang",
]


# --- the merchants ----------------------------------------------------------------------------


@dataclass
class Shop:
    merchant: Merchant
    owner: User
    cashier: User
    account: BankAccount
    products: list[Product]
    api_key: str
    online: bool = False
    invoicing: bool = False

    @property
    def pk(self) -> int:
        return self.merchant.pk

    def auth(self, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        if key:
            headers["Idempotency-Key"] = key
        return headers


def make_shops(count: int = 4) -> list[Shop]:
    """``count`` (3 or 4) merchants at one market, each with a bank account, a catalogue, an owner,
    a cashier and an API key; the first issues e-invoices automatically (a form-2 series), the
    second has an open storefront that delivers."""
    from einvoice import services as einvoice

    assert 3 <= count <= len(SHOP_NAMES)
    market = MarketFactory(name="Chợ Bão Thử")
    shops = []
    for n in range(count):
        merchant = merchant_with_account(display_name=SHOP_NAMES[n])
        StallFactory(market=market, merchant=merchant, code=f"S-{n + 1:02d}")
        products = [
            ProductFactory(
                merchant=merchant,
                name=name,
                search_name=name.lower(),
                unit=unit,
                price=price,
                sold_by_weight=weighed,
                tax_category=tax,
            )
            for name, unit, price, weighed, tax in CATALOGUE
        ]
        owner = member_of(merchant)
        shop = Shop(
            merchant=merchant,
            owner=owner,
            cashier=member_of(merchant, role="cashier"),
            account=merchant.bank_accounts.get(),
            products=products,
            api_key=api_key_for(merchant, owner),
        )
        if n == 0:
            year = timezone.localdate().strftime("%y")
            einvoice.series_create(
                merchant=merchant, form="2", symbol=f"C{year}TBL", auto_issue=True
            )
            shop.invoicing = True
        if n == 1:
            Storefront.objects.create(
                merchant=merchant, is_open=True, delivers=True, delivery_fee=15_000
            )
            shop.online = True
        shops.append(shop)
    return shops


# --- helpers ------------------------------------------------------------------------------------


def wait_for(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"not reached in {timeout} s: {what}")


@contextmanager
def quick_wallet_retries() -> Iterator[int]:
    """The e-wallet client as production builds it, but retrying after 1 ms instead of 0.5 s,
    1 s... (a storm makes hundreds of failing calls). Yields how many attempts one call makes,
    the ``fail_next`` that makes a call fail for good."""
    from payments.providers import ewallet as provider

    original = provider._client

    def client():  # type: ignore[no-untyped-def]
        made = original()
        made._requestor.initial_retry_delay = 0.001
        made._requestor.max_retry_delay = 0.005
        return made

    provider._client = client  # type: ignore[assignment]
    try:
        yield original()._requestor.max_retries + 1
    finally:
        provider._client = original  # type: ignore[assignment]


@contextmanager
def no_invoice_pdfs() -> Iterator[None]:
    """Invoices issued without their PDF. In production a worker renders it after the invoice is
    issued; inline here it costs ~0.4 s an invoice (WeasyPrint), most of a 2,000-sale storm's
    time, and the PDF has no part in the books."""
    from einvoice import pdf_tasks

    class Skipped:
        @staticmethod
        def delay(*args: Any, **kwargs: Any) -> None:
            return None

    original = pdf_tasks.render_invoice_pdf, pdf_tasks.render_invoice_pdfs  # one; a batch's
    pdf_tasks.render_invoice_pdf = Skipped  # type: ignore[assignment]
    pdf_tasks.render_invoice_pdfs = Skipped  # type: ignore[assignment]
    try:
        yield
    finally:
        pdf_tasks.render_invoice_pdf, pdf_tasks.render_invoice_pdfs = original


def _reserved(order: Order) -> int:
    return (
        order.refunds.exclude(payment_refund__status=Refund.Status.FAILED).aggregate(
            t=Sum("amount")
        )["t"]
        or 0
    )


@dataclass
class Sale:
    shop: Shop
    channel: str
    order_id: int | None = None
    intent_id: int | None = None  # a quick-collect amount: its sale is made when it is paid

    def paid(self) -> bool:
        if self.order_id is None:  # a quick-collect amount's sale is made when it is paid
            made = Order.objects.filter(source_ref=f"intent:{self.intent_id}")
            self.order_id = made.values_list("pk", flat=True).first()
        return Order.objects.filter(pk=self.order_id, status__in=ORDER_PAID).exists()


@dataclass
class MixResult:
    counts: Counter = field(default_factory=Counter)
    seconds: float = 0.0  # the storm, reconciliation and closes
    books_seconds: float = 0.0  # books_check() alone
    report: BooksReport | None = None
    storm: Storm | None = field(default=None, repr=False)  # for check_independent_facts

    @property
    def faults(self) -> int:
        """Faults injected: duplicated, replayed, retried, crashed, double/late/short payments,
        walk-ins, lost webhooks, 503s..."""
        return sum(v for k, v in self.counts.items() if k.startswith("fault:"))

    def summary(self) -> str:
        groups: dict[str, list[str]] = {}
        for name, value in sorted(self.counts.items()):
            head = name.split(":", 1)[0] if ":" in name else "totals"
            groups.setdefault(head, []).append(f"{name.split(':', 1)[-1]}={value}")
        return "\n".join(f"  {head}: {', '.join(items)}" for head, items in groups.items())


# --- the driver ---------------------------------------------------------------------------------


class Storm:
    """The driver: makes the sales and the faults, and keeps its own record of what it did (the
    money it paid in, the outcome it meant for each transfer, the sales it paid) for
    ``check_independent_facts``."""

    def __init__(
        self,
        *,
        rng: random.Random,
        client: Any,
        wallet: Any,
        shops: list[Shop],
        fault_rate: float,
        http_share: float,
        fail_all_tries: int,
        seed: int,
    ) -> None:
        self.rng, self.client, self.wallet, self.shops = rng, client, wallet, shops
        self.fault_rate, self.http_share, self.seed = fault_rate, http_share, seed
        self.fail_all_tries = fail_all_tries  # a wallet call fails for good after these 503s
        self.counts: Counter = Counter()
        self.money_in: Counter = Counter()  # merchant -> đồng the driver paid in (bank + wallet)
        self.expect: Counter = Counter()  # flags/outcomes the storm must leave in the books
        self.paid: list[Sale] = []  # sales the driver paid, to refund later
        self.cancelable: list[Sale] = []  # paid online orders not yet canceled
        self.sent: list[tuple[Shop, dict[str, Any]]] = []  # notifications, to replay later
        self.numbers = itertools.count(1)
        self.unpaid_wallet: set[int] = set()  # intents whose webhook was dropped

    # -- dice -------------------------------------------------------------------------------

    def fault(self, name: str = "", scale: float = 1.0) -> bool:
        hit = self.rng.random() < self.fault_rate * scale
        if hit and name:
            self.counts[f"fault:{name}"] += 1
        return hit

    def key(self, what: str) -> str:
        return f"storm-{self.seed}-{what}-{next(self.numbers)}"

    def lines(self, shop: Shop) -> list[orders.LineInput]:
        picked = self.rng.sample(shop.products, self.rng.randint(1, 3))
        lines = []
        for product in picked:
            if product.sold_by_weight:
                quantity = Decimal(self.rng.randint(1, 30) * 50) / 1000  # 0,05 … 1,5 kg
            else:
                quantity = Decimal(self.rng.randint(1, 4))
            lines.append(orders.LineInput(product_id=product.pk, quantity=quantity))
        if self.rng.random() < 0.2:
            lines.append(orders.LineInput(unit_price=self.rng.randint(5, 120) * 1_000, name="Đá"))
        return lines

    # -- money in ---------------------------------------------------------------------------

    def transfer(self, shop: Shop, amount: int, memo: str, expect: str) -> str:
        """A shopper's transfer to the stall's account, notified by the bank's signed webhook
        (delivered twice, sometimes); returns its outcome."""
        payload = banknotify_payload(account=shop.account, amount=amount, description=memo)
        outcome = self.deliver(payload)
        self.money_in[shop.pk] += amount
        self.sent.append((shop, payload))
        self.counts["bank_transfers"] += 1
        if self.fault("duplicate_delivery"):
            assert self.deliver(payload) == outcome, "a duplicate delivery changed the outcome"
        assert outcome == expect, f"transfer {memo!r} {amount} đ: {outcome}, not {expect}"
        self.expect[f"outcome:{expect}"] += 1
        return outcome

    def deliver(self, payload: dict[str, Any]) -> str:
        self.counts["webhook_deliveries"] += 1
        response = banknotify_deliver(self.client, payload)
        assert response.status_code == 200, response.content
        return response.json()["outcome"]

    def memo(self, code: str) -> str:
        n = next(self.numbers)
        return self.rng.choice(
            [
                f"MBVCB.{3278000 + n}.{code.lower()}.CT tu TRAN THI KHACH",
                f"{code} chuyen tien",
                f"thanh toan {code[:4].lower()}-{code[4:]}",
            ]
        )

    def approve(self, shop: Shop, intent: PaymentIntent, *, wait: bool = False) -> bool:
        """The shopper approves the e-wallet payment (its webhook sometimes sent twice, sometimes
        lost). With ``wait``, until the money is counted (unless the webhook was lost): where
        what the driver does next depends on it; a refund waits for its sale anyway. Returns
        whether the wallet took the money."""
        from sandboxes.ewallet import EWalletError

        knobs = {}
        if self.fault("wallet_duplicate_webhook"):
            knobs["duplicate_webhooks"] = True
        elif self.fault("wallet_lost_webhook", scale=0.3):
            knobs["drop_webhooks"] = True
        if knobs:
            self.wallet.set_knobs(**knobs)
        try:
            self.wallet.approve(intent.provider_payment_id, phone=self.phone())
        except EWalletError:
            return False  # canceled at the provider meanwhile: nothing taken
        finally:
            if knobs:
                self.wallet.set_knobs(duplicate_webhooks=False, drop_webhooks=False)
        self.money_in[shop.pk] += intent.amount
        self.counts["wallet_payments"] += 1
        if "drop_webhooks" in knobs:
            self.unpaid_wallet.add(intent.pk)
        elif wait:
            self.wait_counted(intent.pk)
        return True

    def phone(self) -> str:
        return f"0905{next(self.numbers) % 1_000_000:06d}"  # a fresh wallet, 5.000.000 đ

    def paid_order(self, sale: Sale) -> Order:
        """The sale, once paid (an e-wallet payment's webhook may still be on its way)."""
        which = f"order {sale.order_id}" if sale.order_id else f"intent {sale.intent_id}'s sale"
        wait_for(sale.paid, what=f"{which} paid (its e-wallet webhook)")
        return Order.objects.select_related("intent").get(pk=sale.order_id)

    def wait_counted(self, intent_id: int) -> None:
        wait_for(
            lambda: WalletEvent.objects.filter(
                intent_id=intent_id, type="payment.succeeded", processed_at__isnull=False
            ).exists(),
            what=f"the wallet's payment of intent {intent_id} counted",
        )

    def expire(self, intent_id: int) -> None:
        """The QR's time runs out (the periodic task expires it)."""
        PaymentIntent.objects.filter(pk=intent_id).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        assert payments.intents_expire_due() >= 1
        assert PaymentIntent.objects.get(pk=intent_id).status == PaymentIntent.Status.EXPIRED

    # -- sales ------------------------------------------------------------------------------

    def step(self) -> None:
        """One sale (and its payment), maybe a refund, maybe a walk-in, maybe a replay."""
        self.counts["sales"] += 1
        shop = self.rng.choice(self.shops)
        roll = self.rng.random()
        if roll < 0.12:
            self.quick_collect(shop)
        elif roll < 0.26 and any(s.online for s in self.shops):
            online = next(s for s in self.shops if s.online)
            self.online_order(online, expo=self.rng.random() < 0.35)
        else:
            method = self.rng.choices(["bank_qr", "ewallet", "cash"], [45, 30, 25])[0]
            if self.rng.random() < self.http_share:
                self.api_sale(shop, method)
            else:
                self.pos_sale(shop, method)
        if self.rng.random() < 0.22:
            self.refund()
        if self.rng.random() < self.fault_rate / 5:
            self.counts["fault:walk_in"] += 1
            amount = self.rng.choice([2_000, 50_000, 120_000, 300_000])
            self.transfer(self.rng.choice(self.shops), amount, "chuyen tien an sang", O.WALK_IN)
        if self.sent and self.fault("replayed_notification"):
            _shop, payload = self.rng.choice(self.sent)
            self.deliver(payload)  # the same notification again, minutes later: nothing changes

    def pos_sale(self, shop: Shop, method: str) -> None:
        key, lines = self.key("pos"), self.lines(shop)

        def sell() -> Order:
            return orders.order_create(
                merchant=shop.merchant,
                lines=lines,
                payment_method=method,
                actor=shop.cashier,
                request_key=key,
            )

        order = sell()
        if self.fault("service_retry"):  # the till lost the answer and sends the sale again
            again = sell()
            assert (again.pk, again.intent_id) == (order.pk, order.intent_id)
        self.counts[f"sale:pos:{method}"] += 1
        self.pay(Sale(shop, "pos", order.pk), order)

    def api_sale(self, shop: Shop, method: str) -> None:
        """POST /api/v1/market/orders with an Idempotency-Key; retried as-is, or after a crash
        that lost the answer (the key left in progress past its lease)."""
        lines = []
        for line in self.lines(shop):
            if line.product_id is not None:
                lines.append({"product_id": line.product_id, "quantity": str(line.quantity)})
            else:
                lines.append({"unit_price": line.unit_price, "name": line.name})
        body = {"merchant_id": shop.pk, "lines": lines, "payment_method": method}
        key = self.key("api-order")
        first = self.post(ORDERS_API, body, shop.auth(key))
        assert first.status_code == 201, first.content
        order_id = first.json()["id"]
        if self.fault("api_retry"):
            again = self.post(ORDERS_API, body, shop.auth(key))
            assert (again.status_code, again.json()["id"]) == (201, order_id), again.content
        elif self.fault("crash_after_commit"):
            before = Order.objects.filter(merchant=shop.merchant).count()
            self.crash(key)
            again = self.post(ORDERS_API, body, shop.auth(key))
            assert again.status_code == 201 and again.json()["id"] == order_id, again.content
            assert Order.objects.filter(merchant=shop.merchant).count() == before
        self.counts[f"sale:api:{method}"] += 1
        order = Order.objects.select_related("intent").get(pk=order_id)
        self.pay(Sale(shop, "pos", order_id), order)

    def post(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
        self.counts["http_requests"] += 1
        return self.client.post(path, body, content_type="application/json", headers=headers)

    def crash(self, key: str) -> None:
        """The worker died after the handler committed, before the answer was saved: the key
        stays in progress, and a retry after its lease takes it over and runs the handler again."""
        lease = timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS + 1)
        changed = IdempotencyKey.objects.filter(key=key).update(
            state=IdempotencyKey.State.IN_PROGRESS,
            locked_at=timezone.now() - lease,
            response_status=None,
            response_body=None,
        )
        assert changed == 1

    def online_order(self, shop: Shop, *, expo: bool) -> None:
        picked = self.rng.sample(shop.products, self.rng.randint(1, 2))
        lines = [
            (
                p.pk,
                Decimal(self.rng.randint(2, 20) * 100) / 1000
                if p.sold_by_weight
                else Decimal(self.rng.randint(1, 3)),
            )
            for p in picked
        ]
        method = self.rng.choice(["bank_qr", "ewallet"])
        n = next(self.numbers)
        order = storefront.checkout(
            merchant=shop.merchant,
            lines=lines,
            data=storefront.CheckoutInput(
                name=f"Khách Số {n}",
                phone=f"0905{n % 1_000_000:06d}",
                fulfilment="delivery",
                payment_method=method,
                address=f"{n % 200 + 1} Bạch Đằng, Hải Châu",
            ),
            source="expo:1:1" if expo else "",
        )
        channel = "expo" if expo else "online"
        self.counts[f"sale:{channel}:{method}"] += 1
        self.pay(
            Sale(shop, channel, order.pk), Order.objects.select_related("intent").get(pk=order.pk)
        )

    def quick_collect(self, shop: Shop) -> None:
        """Thu tiền: an amount asked for with no sale; it becomes a sale when paid."""
        amount = self.rng.randint(5, 400) * 1_000
        method = self.rng.choice(["bank_qr", "ewallet"])
        if self.rng.random() < self.http_share * 2:
            key = self.key("api-intent")
            body = {"merchant_id": shop.pk, "amount": amount, "method": method}
            body["description"] = "Thu tiền"
            first = self.post(INTENTS_API, body, shop.auth(key))
            assert first.status_code == 201, first.content
            if self.fault("api_retry"):
                again = self.post(INTENTS_API, body, shop.auth(key))
                assert again.json()["id"] == first.json()["id"], again.content
            intent = PaymentIntent.objects.get(pk=first.json()["id"])
        else:
            intent = payments.intent_create(
                merchant=shop.merchant,
                amount=amount,
                method=method,
                actor=shop.cashier,
                description="Thu tiền",
            )
        self.counts[f"sale:quick:{method}"] += 1
        sale = Sale(shop, "quick", intent_id=intent.pk)
        if method == "bank_qr":
            self.transfer(shop, amount, self.memo(intent.reference_code), O.SETTLED)
            if self.fault("double_payment"):  # the shopper pays the same QR twice
                self.transfer(shop, amount, self.memo(intent.reference_code), O.ALREADY_PAID)
        elif not self.approve(shop, intent):
            return
        self.expect["paid_sales"] += 1
        if intent.pk not in self.unpaid_wallet:
            self.paid.append(sale)

    # -- paying a sale (bank QR / e-wallet / cash), with what goes wrong ---------------------

    def pay(self, sale: Sale, order: Order) -> None:
        if order.payment_method == "cash":
            assert order.status == Order.Status.PAID
            self.expect["paid_sales"] += 1
            self.paid.append(sale)
            return
        if order.payment_method == "bank_qr":
            paid = self.pay_bank(sale, order)
        else:
            paid = self.pay_wallet(sale, order)
        if paid:
            self.expect["paid_sales"] += 1
            if order.intent_id not in self.unpaid_wallet and sale.order_id not in self._dropped():
                self.paid.append(sale)
                if sale.channel in ("online", "expo"):
                    self.cancelable.append(sale)

    def _dropped(self) -> set[int]:
        return set(
            Order.objects.filter(intent_id__in=self.unpaid_wallet).values_list("pk", flat=True)
        )

    def pay_bank(self, sale: Sale, order: Order) -> bool:
        shop, intent = sale.shop, order.intent
        assert intent is not None
        code, amount = intent.reference_code, intent.amount
        if not self.fault():
            self.transfer(shop, amount, self.memo(code), O.SETTLED)
            return True
        case = self.rng.choice(
            [
                "underpaid_then_paid",
                "underpaid_walk_away",
                "late",
                "new_qr_old_paid_late",
                "overpaid",
                "paid_twice",
                "switch_to_ewallet_both_paid",
                "cash_then_transfer",
                "walk_away",
                "walk_away_then_paid",
            ]
        )
        self.counts[f"fault:bank:{case}"] += 1
        if case.startswith("underpaid"):
            short = self.rng.randint(1, max(1, amount // 1000 - 1)) * 1_000 if amount > 2_000 else 1
            self.transfer(shop, max(amount - short, 1), self.memo(code), O.UNDERPAID)
            if case == "underpaid_walk_away":
                orders.order_cancel(order_id=order.pk, actor=shop.cashier, reason="khách bỏ đi")
                return False
            self.transfer(shop, amount, self.memo(code), O.SETTLED)
            return True
        if case == "late":
            self.expire(intent.pk)
            self.expect["late"] += 1
            self.transfer(shop, amount, self.memo(code), O.LATE)
            return True
        if case == "new_qr_old_paid_late":
            self.expire(intent.pk)
            fresh = orders.order_request_payment(order=order, actor=shop.cashier).intent
            assert fresh is not None and fresh.pk != intent.pk
            self.expect["late"] += 1
            self.transfer(shop, amount, self.memo(code), O.LATE)  # the old QR, scanned before
            if self.rng.random() < 0.5:  # and the new one too
                self.transfer(shop, amount, self.memo(fresh.reference_code), O.ALREADY_PAID)
            return True
        if case == "overpaid":
            self.expect["overpaid"] += 1
            self.transfer(
                shop, amount + self.rng.randint(1, 50) * 1_000, self.memo(code), O.SETTLED
            )
            return True
        if case == "paid_twice":
            self.transfer(shop, amount, self.memo(code), O.SETTLED)
            self.transfer(shop, amount, self.memo(code), O.ALREADY_PAID)
            return True
        if case == "switch_to_ewallet_both_paid":
            switched = orders.order_request_payment(
                order=order, actor=shop.cashier, method="ewallet"
            )
            wallet_intent = switched.intent
            assert wallet_intent is not None and wallet_intent.method == "ewallet"
            if self.rng.random() < 0.5:  # the old bank QR first: it was canceled by the switch
                self.transfer(shop, amount, self.memo(code), O.AFTER_CANCEL)
                assert self.approve(shop, wallet_intent)
            else:
                assert self.approve(shop, wallet_intent, wait=True)
                if wallet_intent.pk in self.unpaid_wallet:  # its webhook was lost: not yet paid
                    self.transfer(shop, amount, self.memo(code), O.AFTER_CANCEL)
                else:
                    self.transfer(shop, amount, self.memo(code), O.ALREADY_PAID)
            return True
        if case == "cash_then_transfer":
            orders.order_request_payment(order=order, actor=shop.cashier, method="cash")
            self.transfer(shop, amount, self.memo(code), O.ALREADY_PAID)
            return True
        orders.order_cancel(order_id=order.pk, actor=shop.cashier, reason="khách bỏ đi")
        if case == "walk_away_then_paid":  # the money is in, the sale stays canceled: unmatched
            self.transfer(shop, amount, self.memo(code), O.AFTER_CANCEL)
        return False

    def pay_wallet(self, sale: Sale, order: Order) -> bool:
        shop, intent = sale.shop, order.intent
        assert intent is not None and intent.provider_payment_id
        if not self.fault():
            return self.approve(shop, intent)
        case = self.rng.choice(
            [
                "bank_then_wallet",
                "wallet_then_bank",
                "late",
                "switch_to_bank",
                "declined_then_cash",
                "walk_away",
                "paid_then_canceled",
            ]
        )
        self.counts[f"fault:ewallet:{case}"] += 1
        if case == "bank_then_wallet":  # the e-wallet's code typed into a bank transfer
            self.transfer(shop, intent.amount, self.memo(intent.reference_code), O.SETTLED)
            self.expect["wallet_already_paid"] += 1
            if self.approve(shop, intent):
                wait_for(
                    lambda: (
                        intent.pk in self.unpaid_wallet
                        or LedgerEntry.objects.filter(
                            intent=intent, wallet_event__isnull=False
                        ).exists()
                    ),
                    what=f"the wallet's second payment of intent {intent.pk} booked",
                )
            return True
        if case == "wallet_then_bank":
            assert self.approve(shop, intent, wait=True)
            lost = intent.pk in self.unpaid_wallet  # then the bank transfer settles it
            if lost:
                self.expect["wallet_already_paid"] += 1
            self.transfer(
                shop,
                intent.amount,
                self.memo(intent.reference_code),
                O.SETTLED if lost else O.ALREADY_PAID,
            )
            return True
        if case == "late":
            self.expire(intent.pk)
            self.expect["late"] += 1
            assert self.approve(shop, intent)
            return True
        if case == "switch_to_bank":
            switched = orders.order_request_payment(
                order=order, actor=shop.cashier, method="bank_qr"
            )
            assert switched.intent is not None
            # The wallet payment was canceled at the provider: the shopper cannot pay it any more.
            assert not self.approve(shop, intent)
            self.transfer(shop, intent.amount, self.memo(switched.intent.reference_code), O.SETTLED)
            return True
        if case == "declined_then_cash":
            self.wallet.decline(intent.provider_payment_id)
            wait_for(
                lambda: PaymentIntent.objects.get(pk=intent.pk).status == "canceled",
                what=f"intent {intent.pk} canceled by the shopper's decline",
            )
            orders.order_request_payment(order=order, actor=shop.cashier, method="cash")
            return True
        if case == "paid_then_canceled":
            # The shopper paid, its webhook is lost, the cashier gives up and cancels: the
            # reconciliation finds the money and the sale comes back, paid (late).
            self.wallet.set_knobs(drop_webhooks=True)
            try:
                self.wallet.approve(intent.provider_payment_id, phone=self.phone())
            finally:
                self.wallet.set_knobs(drop_webhooks=False)
            self.money_in[shop.pk] += intent.amount
            self.counts["wallet_payments"] += 1
            self.unpaid_wallet.add(intent.pk)
            orders.order_cancel(order_id=order.pk, actor=shop.cashier, reason="khách bỏ đi")
            self.expect["late"] += 1
            return True
        orders.order_cancel(order_id=order.pk, actor=shop.cashier, reason="khách bỏ đi")
        return False

    # -- refunds ----------------------------------------------------------------------------

    def refund(self) -> None:
        if not self.paid:
            return
        sale = self.rng.choice(self.paid)
        order = self.paid_order(sale)
        if sale in self.cancelable and self.rng.random() < 0.5:
            self.cancel_online(sale, order)
            return
        left = order.amount_paid - _reserved(order)
        if left <= 0:
            self.counts["refund:nothing_left"] += 1
            return
        kind = self.rng.choice(["full", "partial", "partial", "line"])
        # An overpaid sale refunded up to its total: the rest of the shopper's money can only go
        # back by the intent (order_refund answers "already refunded": see
        # test_the_overpaid_rest_of_a_sale_refunded_up_to_its_total_can_go_back).
        rest_of_overpayment = order.status == Order.Status.REFUNDED
        if rest_of_overpayment and kind == "line":
            kind = "partial"
        line_id = None
        amount: int | None = left
        if kind == "partial" and left > 1:
            amount = self.rng.randrange(1, left)
        if kind == "line":
            refunded_lines = set(
                OrderRefund.objects.filter(order=order, line__isnull=False).values_list(
                    "line_id", flat=True
                )
            )
            lines = [
                line
                for line in OrderLine.objects.filter(order=order)
                if line.pk not in refunded_lines and line.amount <= left
            ]
            if lines:
                line = self.rng.choice(lines)
                line_id, amount = line.pk, None if self.rng.random() < 0.5 else line.amount
            else:
                kind = "full"
        api = 20 * self.http_share
        if line_id:
            paths, weights = ["order", "order_api"], [6.0, api]
        elif rest_of_overpayment:
            paths, weights = ["intent", "intent_api"], [3.0, 1.0]
        else:
            paths, weights = ["order", "order_api", "intent", "intent_api"], [5.0, api, 3.0, 1.0]
        path = self.rng.choices(paths, weights)[0]
        self.counts[f"refund:{kind}:{path}"] += 1
        assert order.intent is not None
        wallet_down = order.intent.paid_via == "ewallet" and self.fault("wallet_refund_503")
        key = self.key("refund")
        before = Refund.objects.filter(intent_id=order.intent_id).count()
        run = self._refund_call(path, sale.shop, order, amount, line_id, key)
        if wallet_down:
            self.wallet.set_knobs(fail_next=self.fail_all_tries, fail_next_status=503)
            try:
                assert run() == 503, "the refund went through with the wallet down"
            finally:
                self.wallet.set_knobs(fail_next=0)
            if self.rng.random() < 0.5:
                self.counts["refund:503_then_retried"] += 1
                assert run() in (200, 201)
            else:
                self.counts["refund:503_left_for_reconcile"] += 1
        else:
            doubled = order.intent.paid_via == "ewallet" and self.fault("wallet_duplicate_webhook")
            if doubled:
                self.wallet.set_knobs(duplicate_webhooks=True)
            try:
                assert run() in (200, 201)
            finally:
                if doubled:
                    self.wallet.set_knobs(duplicate_webhooks=False)
            if self.fault("refund_retry"):
                assert run() in (200, 201)
            elif path.endswith("api") and self.fault("refund_crash_after_commit"):
                self.crash(key)
                assert run() in (200, 201)
        after = Refund.objects.filter(intent_id=order.intent_id).count()
        assert after == before + 1, f"{after - before} refunds made by one refund request"

    def _refund_call(
        self, path: str, shop: Shop, order: Order, amount: int | None, line_id: int | None, key: str
    ) -> Callable[[], int]:
        reason = "Hàng không đạt, trả lại khách"
        assert order.intent_id is not None

        def call() -> int:
            if path == "order_api":
                body: dict[str, Any] = {"amount": amount, "line_id": line_id, "reason": reason}
                return self.post(
                    f"{ORDERS_API}/{order.pk}/refunds", body, shop.auth(key)
                ).status_code
            if path == "intent_api":
                body = {"amount": amount, "reason": reason}
                url = f"{INTENTS_API}/{order.intent_id}/refund"
                return self.post(url, body, shop.auth(key)).status_code
            try:
                if path == "order":
                    orders.order_refund(
                        order_id=order.pk,
                        amount=amount,
                        line_id=line_id,
                        reason=reason,
                        actor=shop.owner,
                        request_key=key,
                    )
                else:
                    assert amount is not None
                    payment_refunds.refund_start(
                        intent_id=order.intent_id,  # type: ignore[arg-type]
                        amount=amount,
                        reason=reason,
                        actor=shop.owner,
                        request_key=key,
                    )
            except ProviderUnavailable:
                return 503
            return 201

        return call

    def cancel_online(self, sale: Sale, order: Order) -> None:
        """The merchant cancels a paid online order: what is left of it goes back."""
        self.cancelable.remove(sale)
        wait_for(
            lambda: Order.objects.get(pk=order.pk).fulfilment_status != "",
            what=f"online order {order.number} in the merchant's queue",
        )
        assert order.intent is not None
        wallet_down = (
            order.intent.paid_via == "ewallet"
            and order.total - _reserved(order) > 0  # the cancel gives back what is left of it
            and self.fault("wallet_refund_503")
        )
        self.counts["online_cancel"] += 1

        def cancel() -> Order:
            return storefront.order_advance(
                order_id=order.pk, to="canceled", actor=sale.shop.owner, reason="Hết hàng"
            )

        if wallet_down:
            self.wallet.set_knobs(fail_next=self.fail_all_tries, fail_next_status=503)
            try:
                cancel()
                raise AssertionError("the cancel's refund went through with the wallet down")
            except ProviderUnavailable:
                pass
            finally:
                self.wallet.set_knobs(fail_next=0)
            if self.rng.random() < 0.5:
                self.counts["online_cancel:503_then_retried"] += 1
                cancel()
            else:
                self.counts["online_cancel:503_left_for_reconcile"] += 1
            return
        cancel()
        if self.fault("cancel_retry"):
            before = Refund.objects.filter(intent_id=order.intent_id).count()
            cancel()  # a second tap: nothing more goes back
            assert Refund.objects.filter(intent_id=order.intent_id).count() == before

    # -- the end of the day -----------------------------------------------------------------

    def finish(self) -> None:
        """Replay some notifications, reconcile the e-wallet, wait for its webhooks, close."""
        for _shop, payload in self.rng.sample(self.sent, min(len(self.sent), 5)):
            self.deliver(payload)
            self.counts["fault:replayed_notification"] += 1
        self.wallet.set_knobs(fail_next=0, drop_webhooks=False, duplicate_webhooks=False)
        assert self.wallet.wait_idle(timeout=60), "the wallet's webhooks are not all delivered"
        self.counts["reconciled"] = ewallet_reconcile(older_than_seconds=0)["settled"]
        assert self.wallet.wait_idle(timeout=60), "the wallet's webhooks are not all delivered"
        for shop in self.shops:
            now = timezone.now()
            plan = day_close.close_plan(merchant=shop.merchant, now=now)
            cash = day_close.close_figures(
                merchant=shop.merchant, start=plan.today.start, end=plan.today.end
            ).cash_expected
            daily_close_create(
                merchant=shop.merchant, cash_counted=max(cash, 0), actor=shop.owner, now=now
            )


# --- the checks ---------------------------------------------------------------------------------


def check_independent_facts(storm: Storm) -> None:
    """What the books check does not read: the driver's record of the money it paid in, the
    sandbox wallet's record of what it took and gave back, the faults it injected."""
    problems: list[str] = []

    def expect(name: str, found: Any, wanted: Any) -> None:
        if found != wanted:
            problems.append(f"{name}: {found!r}, expected {wanted!r}")

    for shop in storm.shops:
        m = shop.pk
        ledger = LedgerEntry.objects.filter(merchant_id=m)
        balance = ledger.aggregate(t=Sum("amount"))["t"] or 0
        bank_in = (
            BankNotification.objects.filter(merchant_id=m, transfer_type="in")
            .exclude(outcome__in=[O.PENDING, O.OUTGOING, O.UNKNOWN_ACCOUNT])
            .aggregate(t=Sum("amount"))["t"]
            or 0
        )
        wallet_in = wallet_back = 0
        for payment_id in PaymentIntent.objects.filter(
            merchant_id=m, provider_payment_id__isnull=False
        ).values_list("provider_payment_id", flat=True):
            payment = storm.wallet.payment(payment_id)
            if payment["status"] in WALLET_TOOK:
                wallet_in += payment["amount"]
                wallet_back += payment["amount_refunded"]
        refunds = Refund.objects.filter(intent__merchant_id=m, status=Refund.Status.SUCCEEDED)
        by = {
            via: refunds.filter(intent__paid_via=via).aggregate(t=Sum("amount"))["t"] or 0
            for via in ("bank", "ewallet", "cash")
        }
        expect(f"merchant {m}: money paid in (driver)", bank_in + wallet_in, storm.money_in[m])
        expect(f"merchant {m}: wallet refunds (provider)", wallet_back, by["ewallet"])
        expect(
            f"merchant {m}: ledger balance = bank in + wallet in - refunds",
            balance,
            bank_in + wallet_in - wallet_back - by["bank"],
        )
        booked = -(ledger.filter(kind=LedgerEntry.Kind.REFUND).aggregate(t=Sum("amount"))["t"] or 0)
        expect(f"merchant {m}: refunds booked", booked, by["bank"] + by["ewallet"])
        paid_orders = Order.objects.filter(merchant_id=m, status__in=ORDER_PAID).count()
        paid_intents = PaymentIntent.objects.filter(merchant_id=m, status__in=PAID).count()
        expect(f"merchant {m}: paid sales = paid intents", paid_orders, paid_intents)

    expect(
        "paid sales (driver)",
        Order.objects.filter(status__in=ORDER_PAID).count(),
        storm.expect["paid_sales"],
    )
    expect(
        "refunds without their sale",
        list(Refund.objects.filter(order_refund__isnull=True).values_list("pk", flat=True)),
        [],
    )
    expect(
        "refunds not through after reconciling",
        list(Refund.objects.exclude(status=Refund.Status.SUCCEEDED).values_list("pk", "status")),
        [],
    )
    expect(
        "notifications not processed",
        BankNotification.objects.filter(processed_at__isnull=True).count(),
        0,
    )
    expect(
        "notifications stored (one per transfer, whatever the deliveries)",
        BankNotification.objects.count(),
        storm.counts["bank_transfers"],
    )
    # Every đồng that came in has one ledger row: a sale's, or unmatched for the trader.
    unbooked = (
        BankNotification.objects.filter(transfer_type="in", merchant__isnull=False)
        .annotate(rows=Count("ledger"), booked=Sum("ledger__amount"))
        .exclude(rows=1, booked=F("amount"))
    )
    expect("notifications without exactly one ledger row of their amount", list(unbooked), [])
    # Every transfer's outcome is the one the driver meant (settled, late, underpaid, walk-in,
    # paid a second time, paid after the sale was canceled), and each has its ledger row. Keyed
    # by the plain string: an enum member hashes by its name, not its value.
    outcomes = Counter(str(o) for o in BankNotification.objects.values_list("outcome", flat=True))
    meant = {k.split(":", 1)[1]: v for k, v in storm.expect.items() if k.startswith("outcome:")}
    expect("bank notification outcomes", dict(outcomes), meant)
    unmatched = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.UNMATCHED)
    expect(
        "walk-in ledger rows",
        LedgerEntry.objects.filter(kind=LedgerEntry.Kind.WALK_IN).count(),
        meant.get(O.WALK_IN.value, 0),
    )
    for flag in (O.UNDERPAID.value, O.ALREADY_PAID.value, O.AFTER_CANCEL.value):
        expect(
            f"{flag} ledger rows of bank transfers",
            unmatched.filter(flag=flag, notification__isnull=False).count(),
            meant.get(flag, 0),
        )
    expect(
        "already_paid ledger rows of wallet payments (the sale paid another way first)",
        unmatched.filter(flag="already_paid", wallet_event__isnull=False).count(),
        storm.expect["wallet_already_paid"],
    )
    expect("late payments", LedgerEntry.objects.filter(flag="late").count(), storm.expect["late"])
    expect(
        "overpayments",
        LedgerEntry.objects.filter(flag="overpaid").count(),
        storm.expect["overpaid"],
    )
    # One sale per sale, whatever was retried or crashed (a quick-collect amount's when paid).
    expect("sales", Order.objects.count(), storm.counts["sales"])
    assert not problems, "the books agree with themselves but not with the world:\n" + "\n".join(
        problems
    )


def differences_text(report: BooksReport, limit: int = 60) -> str:
    lines = [str(d) for d in report.differences[:limit]]
    more = len(report.differences) - limit
    return "\n".join(lines + ([f"... and {more} more"] if more > 0 else []))


# --- the entry point ----------------------------------------------------------------------------


def run_mixed(
    *,
    sales: int,
    seed: int,
    fault_rate: float,
    client: Any,
    wallet: Any,
    merchants: list[Shop] | None = None,
    http_share: float = 0.15,
    invoice_pdfs: bool = True,
    check: bool = True,
    progress: Callable[[int, Counter], None] | None = None,
) -> MixResult:
    """``sales`` sales (and their payments, faults and refunds) across ``merchants`` (default:
    ``make_shops()``), then the end of the day; ``books_check()`` must be clean and the independent
    facts must hold (``check``). ``http_share``: about that share of sales, refunds and
    quick-collects go through the JSON API instead of the services. ``invoice_pdfs=False``
    issues e-invoices without rendering their PDF (see ``no_invoice_pdfs``)."""
    shops = merchants if merchants is not None else make_shops()
    result = MixResult()
    started = time.perf_counter()
    with quick_wallet_retries() as attempts, ExitStack() as stack:
        if not invoice_pdfs:
            stack.enter_context(no_invoice_pdfs())
        storm = Storm(
            rng=random.Random(seed),
            client=client,
            wallet=wallet,
            shops=shops,
            fault_rate=fault_rate,
            http_share=http_share,
            fail_all_tries=attempts,
            seed=seed,
        )
        for n in range(sales):
            storm.step()
            if progress is not None and (n + 1) % 100 == 0:
                progress(n + 1, storm.counts)
        storm.finish()
    result.counts, result.storm = storm.counts, storm
    result.seconds = time.perf_counter() - started
    if not check:
        return result
    books_started = time.perf_counter()
    report = books_check()
    result.books_seconds = time.perf_counter() - books_started
    result.report = report
    assert report.clean, (
        f"books_check found {len(report.differences)} differences after a storm of {sales} "
        f"sales (seed {seed}):\n{differences_text(report)}"
    )
    check_independent_facts(storm)
    return result
