from __future__ import annotations

import itertools
import json
import secrets
from datetime import UTC, datetime
from typing import Any

import factory
from django.contrib.auth.models import Permission
from stdnum.vn import mst

from market.models import GoodsCategory, Market, Order, Stall, StallApplication
from merchants.models import BankAccount, Membership, Merchant, Product, User

PASSWORD = "mat-khau-an-toan-2026"


def personal_id(n: int) -> str:
    """A valid 12-digit personal identification number (Đà Nẵng province code 048)."""
    return f"0481{n % 100:02d}{n:06d}"


def enterprise_tax_code(n: int) -> str:
    """A valid 10-digit enterprise tax code (MST): nine digits and the stdnum check digit."""
    for last in "0123456789":
        base = f"04{n % 999_999 + 1:06d}{last}"  # unique per n; digits 3-9 never all zero
        check = mst.calc_check_digit(base)
        if len(check) == 1:  # a base whose check would be "10" has no valid code
            return base + check
    raise AssertionError("unreachable: at most one last digit gives a check of 10")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("phone",)

    phone = factory.Sequence(lambda n: f"+8490{3000000 + n:07d}")
    full_name = factory.Sequence(lambda n: f"Nguyễn Văn Số {n}")
    password = factory.django.Password(PASSWORD)


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant

    kind = Merchant.Kind.HOUSEHOLD
    legal_name = factory.Sequence(lambda n: f"Hộ kinh doanh Số {n}")
    display_name = factory.Sequence(lambda n: f"Sạp Số {n}")
    slug = factory.Sequence(lambda n: f"sap-so-{n}")
    tax_code = factory.Sequence(personal_id)
    address = "119 Trần Phú, Hải Châu, Đà Nẵng"
    sector = Merchant.Sector.DISTRIBUTION


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    merchant = factory.SubFactory(MerchantFactory)
    role = Membership.Role.OWNER


class BankAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BankAccount

    merchant = factory.SubFactory(MerchantFactory)
    bank_bin = "970436"
    account_number = factory.Sequence(lambda n: f"00410{n:08d}")
    holder_name = "NGUYEN VAN SO"
    is_default = True


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    merchant = factory.SubFactory(MerchantFactory)
    name = factory.Sequence(lambda n: f"Cá thu {n}")
    search_name = factory.LazyAttribute(lambda o: o.name.lower())
    unit = Product.Unit.KG
    price = 180_000
    sold_by_weight = True


class MarketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Market

    name = factory.Sequence(lambda n: f"Chợ Thử {n}")
    slug = factory.Sequence(lambda n: f"cho-thu-{n}")
    district = "Hải Châu"
    address = "Đà Nẵng"


class StallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Stall

    market = factory.SubFactory(MarketFactory)
    code = factory.Sequence(lambda n: f"A-{n + 1}")
    goods_category = GoodsCategory.SEAFOOD


class StallApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StallApplication

    merchant = factory.SubFactory(MerchantFactory)
    market = factory.SubFactory(MarketFactory)
    goods_category = GoodsCategory.SEAFOOD


def owner_of(merchant: Merchant | None = None, **user_kwargs) -> User:
    user = UserFactory(**user_kwargs)
    MembershipFactory(user=user, merchant=merchant or MerchantFactory(), role=Membership.Role.OWNER)
    return user


def staff_reviewer(**kwargs) -> User:
    """A trade-department officer: staff, not superuser, with the explicit review permission."""
    user = UserFactory(is_staff=True, **kwargs)
    user.user_permissions.add(
        Permission.objects.get(codename="review_stallapplication", content_type__app_label="market")
    )
    return User.objects.get(pk=user.pk)  # fresh instance: no stale permission cache


# --- payments ---------------------------------------------------------------------------------

BANKNOTIFY_WEBHOOK_URL = "/api/v1/payments/webhooks/banknotify"


def merchant_with_account(**merchant_kwargs) -> Merchant:
    """A merchant with a default bank account to receive transfers."""
    merchant = MerchantFactory(**merchant_kwargs)
    BankAccountFactory(merchant=merchant)
    return merchant


def paid_sale(merchant: Merchant, method: str = Order.PaymentMethod.BANK_QR) -> Order:
    """A sale of 50.000 đ already paid (the first-day checklist's "test sale" when by bank)."""
    from django.utils import timezone

    return Order.objects.create(
        merchant=merchant,
        number=f"DH{secrets.token_hex(5)}",
        receipt_token=secrets.token_hex(16),
        payment_method=method,
        status=Order.Status.PAID,
        total=50_000,
        amount_paid=50_000,
        paid_at=timezone.now(),
    )


def ready_to_sell(merchant: Merchant, *, stall_code: str | None = None) -> Merchant:
    """Finish a merchant's first day: a stall, a product and a sale paid by bank (with the bank
    account of ``merchant_with_account``), so the trader's home opens on the keypad."""
    StallFactory(merchant=merchant, **({"code": stall_code} if stall_code else {}))
    ProductFactory(merchant=merchant)
    paid_sale(merchant)
    return merchant


def member_of(merchant: Merchant, role: str = Membership.Role.OWNER, **user_kwargs) -> User:
    user = UserFactory(**user_kwargs)
    MembershipFactory(user=user, merchant=merchant, role=role)
    return user


_notification_ids = itertools.count(1)


def banknotify_payload(
    *,
    account: BankAccount | None = None,
    bank_bin: str | None = None,
    account_number: str | None = None,
    amount: int = 150_000,
    description: str = "",
    provider_id: str | None = None,
    transfer_type: str = "in",
    reference: str | None = None,
    counter_name: str = "TRAN THI KHACH",
    when: datetime | None = None,
) -> dict[str, Any]:
    """One transfer as the bank-notification provider describes it (sandboxes/banknotify)."""
    n = next(_notification_ids)
    return {
        "id": provider_id or f"bn-test-{n}-{secrets.token_hex(4)}",
        "bin": bank_bin or (account.bank_bin if account else "970436"),
        "account_number": account_number or (account.account_number if account else "0000000000"),
        "transfer_type": transfer_type,
        "amount": amount,
        "description": description,
        "reference": reference if reference is not None else f"FT{n:010d}",
        "counter_name": counter_name,
        "transaction_date": (when or datetime.now(UTC)).isoformat(),
    }


def banknotify_signed(
    payload: dict[str, Any] | bytes | str,
    *,
    timestamp: int | None = None,
    secret: str | None = None,
) -> tuple[bytes, str]:
    """(body, signature header value) signed like the provider does."""
    from django.conf import settings

    from payments.providers.banknotify import sign

    if isinstance(payload, dict):
        body = json.dumps(payload, ensure_ascii=False).encode()
    elif isinstance(payload, str):
        body = payload.encode()
    else:
        body = payload
    return body, sign(
        body, secret if secret is not None else settings.BANKNOTIFY_WEBHOOK_SECRET, timestamp
    )


def banknotify_deliver(client, payload: dict[str, Any] | bytes | str, **sign_kwargs):
    """POST a signed notification to the webhook through a Django test client."""
    from payments.providers.banknotify import SIGNATURE_HEADER

    body, signature = banknotify_signed(payload, **sign_kwargs)
    return client.post(
        BANKNOTIFY_WEBHOOK_URL,
        data=body,
        content_type="application/json",
        headers={SIGNATURE_HEADER: signature},
    )


# --- market -----------------------------------------------------------------------------------


def api_key_for(merchant: Merchant, actor: User | None = None) -> str:
    """A new API key of the merchant, returned raw: the value for `Authorization: Bearer …`."""
    from merchants.services import api_key_create

    _key, raw = api_key_create(
        actor=actor or owner_of(merchant), merchant=merchant, name="Tích hợp thử"
    )
    return raw


def image_upload(name: str = "giay-phep.png", image_format: str = "PNG"):
    """A small real image made by Pillow, as a browser would upload it."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (24, 16), (200, 40, 40)).save(buffer, format=image_format)
    content_type = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}[image_format]
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=content_type)


def assert_ledger_invariant(merchant: Merchant) -> None:
    """ARCHITECTURE.md invariant 1, checked against independent sources (notifications, intents):
    every transfer in to the merchant has one ledger entry of its amount, the balance is money in
    minus refunds, and settlements equal what paid intents received, each one its notification's
    amount."""
    from django.db.models import Sum

    from payments import selectors
    from payments.models import BankNotification, LedgerEntry, PaymentIntent

    def total(rows, field: str = "amount") -> int:
        return rows.aggregate(total=Sum(field))["total"] or 0

    o, k, s = BankNotification.Outcome, LedgerEntry.Kind, PaymentIntent.Status
    entries = LedgerEntry.objects.filter(merchant=merchant)
    notifications = BankNotification.objects.filter(merchant=merchant, transfer_type="in").exclude(
        outcome__in=[o.PENDING, o.OUTGOING, o.UNKNOWN_ACCOUNT, o.SAME_TRANSFER]
    )
    # Cash never enters the bank ledger (payments records it, outside the ledger).
    intents = PaymentIntent.objects.filter(merchant=merchant).exclude(paid_via="cash")
    positive, refunds = total(entries.filter(amount__gt=0)), total(entries.filter(kind=k.REFUND))
    refunded = total(intents, "amount_refunded")

    assert entries.exclude(notification=None).count() == notifications.count()
    assert positive == total(notifications)
    assert -refunds == refunded
    assert selectors.balance_of(merchant=merchant) == positive + refunds

    paid = intents.filter(status__in=[s.SUCCEEDED, s.PARTIALLY_REFUNDED, s.REFUNDED])
    settled = entries.filter(kind=k.SETTLEMENT)
    assert settled.count() == paid.count()
    assert total(settled) == total(paid, "amount_received")
    for entry in settled.select_related("notification", "intent"):
        assert entry.amount == entry.notification.amount == entry.intent.amount_received
    assert not intents.exclude(pk__in=paid).filter(amount_received__gt=0).exists()
