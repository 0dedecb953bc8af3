from __future__ import annotations

import factory
from django.contrib.auth.models import Permission

from market.models import GoodsCategory, Market, Stall, StallApplication
from merchants.models import BankAccount, Membership, Merchant, Product, User

PASSWORD = "mat-khau-an-toan-2026"


def personal_id(n: int) -> str:
    """A valid 12-digit personal identification number (Đà Nẵng province code 048)."""
    return f"0481{n % 100:02d}{n:06d}"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("phone",)

    phone = factory.Sequence(lambda n: f"+8490{3000000 + n:07d}")
    full_name = factory.Sequence(lambda n: f"Nguyễn Văn Số {n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)


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
