from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

from core.text import search_key
from merchants.models import Merchant, Product, User
from tests import factories
from virtual_expo import curation, services
from virtual_expo.models import Booth, Exhibition

ALL_CHECKS = {key: True for key, _label, _required in services.CHECKLIST}


def make_curator(**kwargs) -> User:
    user = factories.UserFactory(is_staff=True, **kwargs)
    user.user_permissions.add(
        Permission.objects.get(codename="curate_exhibition", content_type__app_label="virtual_expo")
    )
    return User.objects.get(pk=user.pk)


def make_product(merchant: Merchant, name: str, price: int = 350_000, **kwargs) -> Product:
    return factories.ProductFactory(
        merchant=merchant,
        name=name,
        search_name=search_key(name),
        price=price,
        unit=kwargs.pop("unit", Product.Unit.PIECE),
        sold_by_weight=False,
        **kwargs,
    )


def make_exhibition(curator: User, **overrides) -> Exhibition:
    now = timezone.now()
    data = curation.ExhibitionInput(
        title_vi=overrides.pop("title_vi", "Hội chợ Thủ công Đà Nẵng"),
        title_en="Da Nang Crafts Fair",
        categories=[("Gốm sứ", "Ceramics"), ("Đặc sản", "Specialties")],
        applications_open_at=now - timedelta(days=5),
        applications_close_at=now + timedelta(days=5),
        opens_at=now - timedelta(days=1),
        closes_at=now + timedelta(days=20),
        is_published=True,
    )
    for key, value in overrides.items():
        setattr(data, key, value)
    return curation.exhibition_create(actor=curator, data=data)


def booth_input(exhibition: Exhibition, products: list[Product], **kwargs) -> services.BoothInput:
    category = exhibition.categories.get(slug=kwargs.pop("category", "gom-su"))
    return services.BoothInput(
        category_id=category.pk,
        tagline_vi="Gốm đỏ nặn tay",
        story_vi="Bốn đời làm gốm ở làng Thanh Hà.",
        contact_phone="0905123456",
        product_ids=[p.pk for p in products],
        **kwargs,
    )


def approve(curator: User, booth: Booth, publish: bool = True) -> Booth:
    return curation.booth_review(
        actor=curator, booth_id=booth.pk, decision="approve", checklist=ALL_CHECKS, publish=publish
    )


@pytest.fixture
def curator() -> User:
    return make_curator(full_name="Ngô Minh Quân")


@pytest.fixture
def exhibition(curator) -> Exhibition:
    return make_exhibition(curator)


@pytest.fixture
def potter() -> Merchant:
    return factories.merchant_with_account(display_name="Gốm Thanh Hà")


@pytest.fixture
def potter_owner(potter) -> User:
    return factories.member_of(potter)


@pytest.fixture
def pots(potter) -> list[Product]:
    return [
        make_product(potter, "Bình gốm men nâu", 350_000),
        make_product(potter, "Bộ ấm chén gốm đỏ", 480_000, unit=Product.Unit.SET),
    ]


@pytest.fixture
def live_booth(curator, exhibition, potter, potter_owner, pots) -> Booth:
    booth = services.booth_apply(
        actor=potter_owner,
        merchant=potter,
        exhibition=exhibition,
        data=booth_input(exhibition, pots),
        submit=True,
    )
    return approve(curator, booth)
