"""WHO: users, merchants and their people, bank accounts, the product catalogue.

Vietnamese terms: a *hộ kinh doanh* is a household business (most market traders); a *doanh
nghiệp* an enterprise; *mã số thuế* (MST) the tax code; *sạp* a market stall (see market/).
"""

from __future__ import annotations

import re

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.phone import display_vn_phone, normalize_vn_mobile

from .banks import BANK_CHOICES, bank_by_bin


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, phone: str, password: str | None = None, **extra) -> User:
        user = self.model(phone=normalize_vn_mobile(phone), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, phone: str, password: str | None = None, **extra) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(phone, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        try:
            phone = normalize_vn_mobile(username or "")
        except Exception:
            phone = username or ""
        return self.get(phone=phone)


class User(AbstractBaseUser, PermissionsMixin):
    """A person, signed in by Vietnamese mobile number (stored E.164, e.g. +84905123456)."""

    phone = models.CharField(_("số điện thoại"), max_length=16, unique=True)
    full_name = models.CharField(_("họ và tên"), max_length=120)
    email = models.EmailField(_("email"), blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(
        _("vào trang quản trị"),
        default=False,
        help_text=_("Cán bộ Sở Công Thương: quyền cụ thể được cấp riêng qua nhóm/quyền."),
    )
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "phone"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("người dùng")
        verbose_name_plural = _("người dùng")

    def __str__(self) -> str:
        return f"{self.full_name} ({self.phone_display})"

    @property
    def phone_display(self) -> str:
        return display_vn_phone(self.phone)

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        """The given name people are greeted by: the last word of the name, leaving out a note
        in brackets ("Ngô Minh Quân (Sở Công Thương)" -> "Quân")."""
        name = re.sub(r"\([^)]*\)?", " ", self.full_name or "").split()
        return name[-1] if name else self.phone_display


class Merchant(models.Model):
    """A business that sells: a household business (hộ kinh doanh) or an enterprise."""

    class Kind(models.TextChoices):
        HOUSEHOLD = "household", _("Hộ kinh doanh")
        ENTERPRISE = "enterprise", _("Doanh nghiệp")

    class Sector(models.TextChoices):
        # The sector sets a household business's VAT and PIT rates on revenue.
        DISTRIBUTION = "distribution", _("Phân phối, cung cấp hàng hóa")
        SERVICES = "services", _("Dịch vụ, xây dựng không bao thầu nguyên vật liệu")
        PRODUCTION = "production", _("Sản xuất, vận tải, dịch vụ gắn với hàng hóa, ăn uống")
        OTHER = "other", _("Hoạt động kinh doanh khác")

    kind = models.CharField(_("loại hình"), max_length=16, choices=Kind.choices)
    legal_name = models.CharField(_("tên đăng ký"), max_length=200)
    display_name = models.CharField(_("tên hiển thị"), max_length=80)
    slug = models.SlugField(max_length=90, unique=True)
    tax_code = models.CharField(_("mã số thuế / số định danh"), max_length=14, unique=True)
    address = models.CharField(_("địa chỉ"), max_length=255)
    sector = models.CharField(_("ngành nghề"), max_length=16, choices=Sector.choices)
    phone = models.CharField(_("điện thoại liên hệ"), max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["display_name"]
        verbose_name = _("thương nhân")
        verbose_name_plural = _("thương nhân")

    def __str__(self) -> str:
        return self.display_name


class Membership(models.Model):
    """A user's place in a merchant: the owner manages everything, a cashier only sells."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Chủ")
        CASHIER = "cashier", _("Thu ngân")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("vai trò"), max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "merchant"], name="membership_user_merchant")
        ]
        verbose_name = _("thành viên")
        verbose_name_plural = _("thành viên")

    def __str__(self) -> str:
        return f"{self.user} · {self.merchant} · {self.get_role_display()}"


class BankAccount(models.Model):
    """Where shoppers' transfers land: a NAPAS bank (by BIN) and an account number."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="bank_accounts")
    bank_bin = models.CharField(_("ngân hàng"), max_length=6, choices=BANK_CHOICES)
    account_number = models.CharField(_("số tài khoản"), max_length=19)
    # Upper-case ASCII, as banks show it on the transfer screen: "NGUYEN THI LAN".
    holder_name = models.CharField(_("chủ tài khoản"), max_length=50)
    is_default = models.BooleanField(_("tài khoản nhận mặc định"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "id"]
        constraints = [
            # One account, one merchant: a bank notification must name exactly one receiver.
            models.UniqueConstraint(
                fields=["bank_bin", "account_number"], name="bank_account_unique"
            ),
            models.UniqueConstraint(
                fields=["merchant"], condition=Q(is_default=True), name="one_default_bank_account"
            ),
        ]
        verbose_name = _("tài khoản ngân hàng")
        verbose_name_plural = _("tài khoản ngân hàng")

    def __str__(self) -> str:
        return f"{self.bank_short_name} {self.account_number} {self.holder_name}"

    @property
    def bank_short_name(self) -> str:
        bank = bank_by_bin(self.bank_bin)
        return bank.short_name if bank else self.bank_bin


class Product(models.Model):
    """One item of a merchant's catalogue, shared by the stall keypad, storefront and booth."""

    class Unit(models.TextChoices):
        KG = "kg", _("kg")
        GRAM100 = "lạng", _("lạng (100 g)")
        BUNDLE = "bó", _("bó")
        PACK = "gói", _("gói")
        PIECE = "cái", _("cái")
        ANIMAL = "con", _("con")
        BOX = "hộp", _("hộp")
        BOTTLE = "chai", _("chai")
        CUP = "ly", _("ly")
        BOWL = "tô", _("tô")
        PLATE = "đĩa", _("đĩa")
        BAG = "túi", _("túi")
        FRUIT = "quả", _("quả")
        PAIR = "đôi", _("đôi")
        SET = "bộ", _("bộ")
        METER = "mét", _("mét")
        LITER = "lít", _("lít")
        DOZEN = "chục", _("chục")

    class TaxCategory(models.TextChoices):
        # VAT rate codes as the e-invoice writes them (TSuat).
        NOT_SUBJECT = "KCT", _("Không chịu thuế GTGT")
        NOT_DECLARED = "KKKNT", _("Không kê khai, tính nộp thuế GTGT")
        ZERO = "0%", _("Thuế suất 0%")
        FIVE = "5%", _("Thuế suất 5%")
        EIGHT = "8%", _("Thuế suất 8%")
        TEN = "10%", _("Thuế suất 10%")

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="products")
    name = models.CharField(_("tên sản phẩm"), max_length=120)
    # Diacritic-free lower-case copy of the name, for search ("ca thu" finds "Cá thu").
    search_name = models.CharField(max_length=120, db_index=True, editable=False)
    unit = models.CharField(_("đơn vị"), max_length=8, choices=Unit.choices)
    price = models.BigIntegerField(_("giá (đồng)"))
    sold_by_weight = models.BooleanField(_("bán theo cân"), default=False)
    tax_category = models.CharField(
        _("loại thuế"), max_length=8, choices=TaxCategory.choices, default=TaxCategory.NOT_SUBJECT
    )
    photo = models.ImageField(_("ảnh"), upload_to="products/%Y/%m/", blank=True)
    is_active = models.BooleanField(_("đang bán"), default=True)
    # Sold out for now ("hết hàng"): still listed, cannot be put in a cart.
    in_stock = models.BooleanField(_("còn hàng"), default=True)
    # Free text the shopper sees on the storefront and in exhibitions.
    description = models.TextField(_("mô tả"), blank=True)
    # "Hay bán": a favourite sits first on the stall's keypad screen (POS), one tap to add.
    pos_favourite = models.BooleanField(_("hay bán"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_not_negative"),
            models.UniqueConstraint(
                fields=["merchant", "name", "unit"], name="product_unique_name"
            ),
        ]
        verbose_name = _("sản phẩm")
        verbose_name_plural = _("sản phẩm")

    def __str__(self) -> str:
        return f"{self.name} ({self.price} đ/{self.unit})"


class ApiKey(models.Model):
    """A per-merchant key for integrations. Only a SHA-256 hash is stored; the key is shown once."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("tên gợi nhớ"), max_length=80)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("khóa API")
        verbose_name_plural = _("khóa API")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class VerificationCode(models.Model):
    """A one-time code sent by SMS to a phone: to reset a forgotten password, or to confirm the
    phone of a trader whom staff register on their behalf (đăng ký hộ). Only an HMAC of the code
    is stored (keyed with SECRET_KEY, bound to purpose and phone); a code is used once, lives
    VERIFICATION_CODE_TTL_MINUTES and allows VERIFICATION_CODE_MAX_ATTEMPTS wrong tries.

    A registration on behalf is this row with purpose ``confirm_phone``: ``created_by`` is the
    staff member, ``payload`` the trader's name (and optional shop name and market), ``user`` the
    account made once the trader confirmed. An unconfirmed one simply expires with its code.
    """

    class Purpose(models.TextChoices):
        RESET = "reset", _("Đặt lại mật khẩu")
        CONFIRM_PHONE = "confirm_phone", _("Xác nhận số điện thoại")

    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    phone = models.CharField(max_length=16)
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["phone", "purpose", "-created_at"], name="vcode_phone")]
        permissions = [("register_on_behalf", "Can register a trader on their behalf")]
        verbose_name = _("mã xác nhận")
        verbose_name_plural = _("mã xác nhận")

    def __str__(self) -> str:
        return f"{self.get_purpose_display()} · {display_vn_phone(self.phone)}"
