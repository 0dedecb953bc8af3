"""Reads for merchants. Every read that takes an id also takes who is asking."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from core.errors import NotFound, PermissionDenied
from core.text import search_key

from .models import ApiKey, BankAccount, Membership, Merchant, Product, User


@dataclass(frozen=True)
class Principal:
    """Who is calling: a signed-in user, or an integration holding one merchant's API key."""

    user: User | None = None
    api_key: ApiKey | None = None

    @property
    def label(self) -> str:
        if self.api_key is not None:
            return f"api_key:{self.api_key.prefix}"
        return f"user:{self.user.pk}" if self.user else "anonymous"


def merchants_for_user(*, user: User) -> QuerySet[Merchant]:
    return Merchant.objects.filter(memberships__user=user).distinct().order_by("display_name")


def memberships_for_user(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user)
        .select_related("merchant")
        .order_by("merchant__display_name")
    )


def opens_on_keypad(*, user: User) -> Merchant | None:
    """The merchant whose stall keypad ("Bán hàng") a trader's home opens on, or None for the full
    home. For now: a trader (not staff) with exactly one membership, whose merchant has a bank
    account to receive QR payments and at least one stall, i.e. ready to sell at the market.
    Staff and traders of several merchants keep the full home (issue 16, item 1)."""
    if not user.is_authenticated or user.is_staff:
        return None
    memberships = list(Membership.objects.filter(user=user).select_related("merchant")[:2])
    if len(memberships) != 1:
        return None
    merchant = memberships[0].merchant
    ready = (
        Merchant.objects.filter(pk=merchant.pk, bank_accounts__is_default=True)
        .filter(stalls__isnull=False)
        .exists()
    )
    return merchant if ready else None


def merchant_for(
    *,
    principal: Principal,
    merchant_id: int,
    owner: bool = False,
    along: Callable[[QuerySet[Membership]], QuerySet[Membership]] | None = None,
    keep: Callable[[Merchant, Membership], None] | None = None,
) -> Merchant:
    """The merchant if the caller may act for it (as an owner when owner=True).

    Another merchant is reported "not found", never "forbidden", so ids cannot be probed.
    An API key acts with owner rights for its own merchant only. For a signed-in user,
    ``along`` adds to the membership read what the request needs next (in the same statement)
    and ``keep`` takes it from the membership read.
    """
    if principal.api_key is not None:
        if principal.api_key.merchant_id != merchant_id:
            raise NotFound(_("Không tìm thấy cửa hàng."))
        return principal.api_key.merchant
    if principal.user is None:
        raise NotFound(_("Không tìm thấy cửa hàng."))
    rows = Membership.objects.select_related("merchant").filter(
        user_id=principal.user.pk, merchant_id=merchant_id
    )
    membership = (along(rows) if along is not None else rows).first()
    if membership is None:
        raise NotFound(_("Không tìm thấy cửa hàng."))
    if owner and membership.role != Membership.Role.OWNER:
        raise PermissionDenied(_("Chỉ chủ cửa hàng mới được làm việc này."))
    if keep is not None:
        keep(membership.merchant, membership)
    return membership.merchant


def role_in(*, user: User, merchant: Merchant) -> str | None:
    return (
        Membership.objects.filter(user=user, merchant=merchant)
        .values_list("role", flat=True)
        .first()
    )


def bank_accounts_of(*, merchant: Merchant) -> QuerySet[BankAccount]:
    return merchant.bank_accounts.order_by("-is_default", "id")


def bank_account_of(*, merchant: Merchant, account_id: int) -> BankAccount:
    account = merchant.bank_accounts.filter(pk=account_id).first()
    if account is None:
        raise NotFound(_("Không tìm thấy tài khoản ngân hàng."))
    return account


def products_of(
    *, merchant: Merchant, query: str = "", active_only: bool = False
) -> QuerySet[Product]:
    products = merchant.products.all()
    if active_only:
        products = products.filter(is_active=True)
    key = search_key(query)
    if key:
        products = products.filter(search_name__contains=key)
    return products.order_by("name")


def product_of(*, merchant: Merchant, product_id: int) -> Product:
    product = merchant.products.filter(pk=product_id).first()
    if product is None:
        raise NotFound(_("Không tìm thấy sản phẩm."))
    return product


def api_keys_of(*, merchant: Merchant) -> QuerySet[ApiKey]:
    return merchant.api_keys.order_by("-created_at")


def api_key_of(*, merchant: Merchant, key_id: int) -> ApiKey:
    key = merchant.api_keys.filter(pk=key_id).first()
    if key is None:
        raise NotFound(_("Không tìm thấy khóa API."))
    return key
