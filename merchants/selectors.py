"""Reads for merchants. Every read that takes an id also takes who is asking."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from core.errors import NotFound, PermissionDenied
from core.text import search_key

from . import extensions
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
    home, for a trader (not staff) with exactly one membership once home has nothing left to guide
    them through: for the owner, the first day is done (a stall, a bank account, a product and a
    sale paid through the bank: ``first_day_done``); for a cashier, who sets nothing up, the shop
    can be paid by QR (a bank account). Staff and traders of several merchants keep the full home
    (issue 16, item 1)."""
    if not user.is_authenticated or user.is_staff:
        return None
    memberships = list(Membership.objects.filter(user=user).select_related("merchant")[:2])
    if len(memberships) != 1:
        return None
    membership = memberships[0]
    day = first_days(merchants=[membership.merchant])[membership.merchant_id]
    ready = day.done if membership.role == Membership.Role.OWNER else day.can_take_payment
    return membership.merchant if ready else None


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


# --- The first day: what a new trader still has to do before selling ----------------------------


@dataclass(frozen=True)
class FirstDayStep:
    """One step of the home page's first-day checklist, done or not as the data says."""

    key: str  # "stall", "bank_account", "product", "sale"
    title: str | Promise  # translated when shown
    done: bool
    url: str
    action: str | Promise  # the button's words when this is the next step
    note: str | Promise = ""  # e.g. the application sent is being reviewed


def _first_day_rows(merchant_ids: list[int]) -> dict[int, dict[str, bool]]:
    """Per merchant, in one statement: has it a stall or a stall application that was not
    refused, one pending, a bank account, a product, a sale paid by bank or e-wallet. The stall,
    application and sale facts are market's (merchants.extensions)."""
    rows = (
        Merchant.objects.filter(pk__in=merchant_ids)
        .annotate(
            **extensions.first_day_facts(),
            has_account=Exists(BankAccount.objects.filter(merchant=OuterRef("pk"))),
            has_product=Exists(Product.objects.filter(merchant=OuterRef("pk"))),
        )
        .values("pk", "has_account", "has_product", *extensions.FIRST_DAY_FACTS)
    )
    return {row.pop("pk"): row for row in rows}


def _steps(merchant_id: int, row: dict[str, bool]) -> list[FirstDayStep]:
    stall_note: str | Promise = ""
    if row["has_pending"] and not row["has_stall"]:
        stall_note = _("Đã gửi đơn, Ban quản lý chợ đang xem xét. Bạn vẫn bán được ngay.")
    return [
        FirstDayStep(
            key="stall",
            title=_("Đăng ký sạp"),
            done=row["has_stall"] or row["has_application"],
            url=reverse("stall_apply"),
            action=_("Đăng ký sạp"),
            note=stall_note,
        ),
        FirstDayStep(
            key="bank_account",
            title=_("Thêm tài khoản ngân hàng"),
            done=row["has_account"],
            url=reverse("bank_account_add", args=[merchant_id]),
            action=_("Thêm tài khoản nhận tiền"),
        ),
        FirstDayStep(
            key="product",
            title=_("Thêm món hàng đầu tiên"),
            done=row["has_product"],
            url=reverse("product_add", args=[merchant_id]),
            action=_("Thêm món hàng"),
        ),
        FirstDayStep(
            key="sale",
            title=_("Bán thử một đơn"),
            done=row["has_sale"],
            url=reverse("pos", args=[merchant_id]),
            action=_("Bán thử một đơn"),
            note=_("Tự trả bằng ngân hàng thử nghiệm để nghe báo “đã nhận tiền”."),
        ),
    ]


@dataclass(frozen=True)
class FirstDay:
    """A merchant's first-day checklist: the steps, the next one, and whether it can be paid."""

    merchant: Merchant
    steps: list[FirstDayStep]

    @property
    def done(self) -> bool:
        return all(step.done for step in self.steps)

    @property
    def next_step(self) -> FirstDayStep | None:
        return next((step for step in self.steps if not step.done), None)

    @property
    def done_count(self) -> int:
        return sum(step.done for step in self.steps)

    @property
    def can_take_payment(self) -> bool:
        """A QR needs an account to be paid into."""
        return next(step.done for step in self.steps if step.key == "bank_account")


def first_days(*, merchants: list[Merchant]) -> dict[int, FirstDay]:
    """The checklist of each merchant, by merchant id, in one query whatever their number."""
    rows = _first_day_rows([m.pk for m in merchants])
    return {m.pk: FirstDay(merchant=m, steps=_steps(m.pk, rows[m.pk])) for m in merchants}


def first_day_steps(merchant: Merchant) -> list[FirstDayStep]:
    """The first-day steps of one merchant, each with its done flag and where to do it."""
    return _steps(merchant.pk, _first_day_rows([merchant.pk])[merchant.pk])


def first_day_done(merchant: Merchant) -> bool:
    """True once the merchant has a stall (or asked for one), a bank account, a product and a
    sale paid through a bank or e-wallet: from then on home needs no checklist."""
    return all(step.done for step in first_day_steps(merchant))
