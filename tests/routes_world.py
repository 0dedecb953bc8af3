"""Real objects of one merchant, made on demand, to fill the URL kwargs of the route table in
tests/test_route_ownership.py. Each object is made the first time a route's URL needs it, so a
test makes only what its route names."""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from django.apps import apps
from django.contrib.auth.models import Permission
from django.utils import timezone

from merchants.models import Membership, Merchant, User
from tests import factories

EINVOICE_FIXTURES = Path(__file__).resolve().parent / "einvoice" / "fixtures" / "real_world"

# Rows of these tables are counted before and after every refused request: a refusal writes
# nothing. Names are "app_label.Model".
KEY_TABLES = (
    "core.AuditLog",
    "merchants.User",
    "merchants.Merchant",
    "merchants.Membership",
    "merchants.BankAccount",
    "merchants.Product",
    "merchants.ApiKey",
    "merchants.VerificationCode",
    "market.Market",
    "market.Stall",
    "market.StallApplication",
    "market.StandeeJob",
    "market.Order",
    "market.OrderLine",
    "market.OrderRefund",
    "market.OrderEvent",
    "market.DailyClose",
    "market.Storefront",
    "market.Review",
    "payments.PaymentIntent",
    "payments.BankNotification",
    "payments.WalletEvent",
    "payments.Refund",
    "payments.LedgerEntry",
    "payments.BankAlertConnection",
    "einvoice.Series",
    "einvoice.Invoice",
    "einvoice.InvoiceEvent",
    "einvoice.PurchaseInvoice",
    "virtual_expo.Exhibition",
    "virtual_expo.Booth",
    "virtual_expo.BoothMedia",
    "virtual_expo.BoothReview",
    "virtual_expo.Inquiry",
    "virtual_expo.InquiryReply",
)


def row_counts() -> dict[str, int]:
    return {name: apps.get_model(name).objects.count() for name in KEY_TABLES}


def user_with_perm(perm: str, **kwargs) -> User:
    """A staff member holding exactly one named permission ("app_label.codename")."""
    app_label, codename = perm.split(".")
    user = factories.UserFactory(is_staff=True, **kwargs)
    user.user_permissions.add(
        Permission.objects.get(codename=codename, content_type__app_label=app_label)
    )
    return User.objects.get(pk=user.pk)  # no stale permission cache


class World:
    """One merchant with an owner and, made when first asked for, one of each of its things."""

    def __init__(self) -> None:
        self.merchant: Merchant = factories.merchant_with_account()
        self.owner: User = factories.member_of(self.merchant)

    # --- people -------------------------------------------------------------------------------

    @cached_property
    def cashier(self) -> User:
        return factories.member_of(self.merchant, role=Membership.Role.CASHIER)

    @cached_property
    def raw_key(self) -> str:
        return factories.api_key_for(self.merchant, actor=self.owner)

    # --- merchants ----------------------------------------------------------------------------

    @cached_property
    def account(self):
        return self.merchant.bank_accounts.get()

    @cached_property
    def product(self):
        return factories.ProductFactory(merchant=self.merchant, price=180_000)

    @cached_property
    def key(self):
        from merchants.models import ApiKey

        self.raw_key  # noqa: B018 - made on demand
        return ApiKey.objects.filter(merchant=self.merchant).latest("pk")

    @cached_property
    def registration(self):
        from merchants import verification
        from merchants.models import VerificationCode

        return VerificationCode.objects.create(
            purpose=VerificationCode.Purpose.CONFIRM_PHONE,
            phone=f"+8490{secrets.randbelow(10**7):07d}",
            code_hash="0" * 64,
            expires_at=timezone.now() + timedelta(minutes=10),
            created_by=user_with_perm(verification.REGISTER_ON_BEHALF),
            payload={"full_name": "Lê Thị Hoa"},
        )

    # --- market -------------------------------------------------------------------------------

    @cached_property
    def stall(self):
        return factories.StallFactory(merchant=self.merchant)

    @cached_property
    def market(self):
        return self.stall.market

    @cached_property
    def application(self):
        return factories.StallApplicationFactory(merchant=self.merchant, market=self.market)

    @cached_property
    def job(self):
        from django.core.files.base import ContentFile

        from market.models import StandeeJob

        job = StandeeJob(market=self.market, status=StandeeJob.Status.DONE, done=1, total=1)
        job.pdf.save("bang-qr.pdf", ContentFile(b"%PDF-1.4\n%%EOF\n"), save=False)
        job.save()
        return job

    @cached_property
    def order(self):
        return factories.paid_sale(self.merchant)

    @cached_property
    def close(self):
        from market.figures.closing import daily_close_create

        self.order  # noqa: B018 - a close of a day with a sale
        return daily_close_create(merchant=self.merchant, cash_counted=0, actor=self.owner)

    @cached_property
    def storefront(self):
        from market.models import Storefront

        self.stall  # noqa: B018 - a web shop lives at its stall's market
        return Storefront.objects.get_or_create(merchant=self.merchant, defaults={"is_open": True})[
            0
        ]

    @cached_property
    def online_order(self):
        from market.models import Order

        order = factories.paid_sale(self.merchant)
        Order.objects.filter(pk=order.pk).update(channel=Order.Channel.ONLINE)
        return Order.objects.get(pk=order.pk)

    @cached_property
    def review(self):
        from market.models import Review

        return Review.objects.create(
            order=self.order, merchant=self.merchant, rating=4, author_name="Khách quen"
        )

    # --- payments -----------------------------------------------------------------------------

    @cached_property
    def intent(self):
        from payments.services import intent_create

        return intent_create(merchant=self.merchant, amount=150_000, actor=self.owner)

    @cached_property
    def connection(self):
        from payments.bankalerts import bank_alert_connect

        connected = bank_alert_connect(
            merchant=self.merchant, provider="sepay", auth="apikey", actor=self.owner
        )
        return connected.connection

    @cached_property
    def banknotify_connection(self):
        from payments.bankalerts import bank_alert_connect

        connected = bank_alert_connect(
            merchant=self.merchant, provider="banknotify", auth="hmac", actor=self.owner
        )
        return connected.connection

    # --- e-invoices ---------------------------------------------------------------------------

    @cached_property
    def series(self):
        from einvoice import services

        return services.series_create(merchant=self.merchant, form="2", symbol="C26TAA")

    @cached_property
    def invoice(self):
        from decimal import Decimal

        from einvoice import services

        self.series  # noqa: B018 - the invoice's series
        line = services.LineInput(
            name="Cá thu", quantity=Decimal(1), unit_price=100_000, amount=100_000, unit="kg"
        )
        return services.invoice_issue(merchant=self.merchant, lines=[line])

    @cached_property
    def purchase(self):
        from einvoice import purchases

        data = (EINVOICE_FIXTURES / "sales_form2.xml").read_bytes()
        return purchases.purchase_import(merchant=self.merchant, data=data).invoices[0]

    # --- virtual exhibitions ------------------------------------------------------------------

    @cached_property
    def exhibition(self):
        from tests.virtual_expo.conftest import make_curator, make_exhibition

        return make_exhibition(make_curator(), title_vi=f"Hội chợ {secrets.token_hex(3)}")

    @cached_property
    def booth(self):
        from tests.virtual_expo.conftest import booth_input, make_product
        from virtual_expo import services

        product = make_product(self.merchant, "Bình gốm men nâu")
        return services.booth_apply(
            actor=self.owner,
            merchant=self.merchant,
            exhibition=self.exhibition,
            data=booth_input(self.exhibition, [product]),
            submit=True,
        )

    @cached_property
    def live_booth(self):
        from tests.virtual_expo.conftest import approve, make_curator

        return approve(make_curator(), self.booth)

    @cached_property
    def inquiry(self):
        from virtual_expo.leads import inquiry_submit

        return inquiry_submit(
            booth=self.live_booth, name="Anh Tú", message="Giá sỉ 100 bình?", phone="0905123456"
        )

    def value(self, dotted: str) -> Any:
        """ "order.pk", "market.slug": an attribute path from this world."""
        obj: Any = self
        for part in dotted.split("."):
            obj = getattr(obj, part)
        return obj
