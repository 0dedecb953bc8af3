from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import CleanTextMixin
from core.phone import normalize_vn_mobile
from core.uploads import IMAGE_ACCEPT, ImageUploadField

from .banks import BANK_CHOICES
from .models import Membership, Merchant, Product


def login_failures_key(phone: str) -> str:
    """The cache key counting a number's wrong passwords (cleared by a password reset)."""
    return f"login-failures:{phone}"


_login_failures_key = login_failures_key  # the name tests/test_settings.py knows


class PhoneLoginForm(CleanTextMixin, AuthenticationForm):
    """Sign in by phone number; too many wrong passwords lock the number for a while."""

    username = forms.CharField(
        label=_("Số điện thoại"),
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "inputmode": "tel",
                "autocomplete": "tel",
                "placeholder": "0905 123 456",
            }
        ),
    )
    error_messages = {
        "invalid_login": _("Số điện thoại hoặc mật khẩu không đúng."),
        "inactive": _("Tài khoản này đã bị khóa."),
    }

    def clean(self):
        raw = self.cleaned_data.get("username") or ""
        try:
            phone = normalize_vn_mobile(raw)
        except ValidationError:
            phone = raw.strip()
        key = login_failures_key(phone)
        if (cache.get(key) or 0) >= settings.LOGIN_MAX_FAILURES:
            raise ValidationError(
                _("Sai mật khẩu quá nhiều lần. Vui lòng thử lại sau 15 phút."), code="locked"
            )
        self.cleaned_data["username"] = phone
        try:
            cleaned = super().clean()
        except ValidationError:
            try:
                cache.incr(key)
            except ValueError:
                cache.set(key, 1, timeout=settings.LOGIN_LOCK_SECONDS)
            raise
        cache.delete(key)
        return cleaned


class SignUpForm(CleanTextMixin, forms.Form):
    full_name = forms.CharField(label=_("Họ và tên"), max_length=120)
    phone = forms.CharField(
        label=_("Số điện thoại di động"),
        widget=forms.TextInput(
            attrs={"inputmode": "tel", "autocomplete": "tel", "placeholder": "0905 123 456"}
        ),
    )
    password = forms.CharField(
        label=_("Mật khẩu (ít nhất 8 ký tự)"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Nhập lại mật khẩu"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    email = forms.EmailField(label=_("Email (không bắt buộc)"), required=False)

    def clean(self):
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password2"):
            self.add_error("password2", _("Hai mật khẩu không khớp."))
        return data


class MerchantForm(CleanTextMixin, forms.Form):
    kind = forms.ChoiceField(
        label=_("Loại hình"),
        choices=Merchant.Kind.choices,
        widget=forms.RadioSelect,
        initial=Merchant.Kind.HOUSEHOLD,
    )
    legal_name = forms.CharField(label=_("Tên đăng ký kinh doanh"), max_length=200)
    display_name = forms.CharField(label=_("Tên hiển thị cho khách"), max_length=80, required=False)
    tax_code = forms.CharField(
        label=_("Mã số thuế hoặc số định danh cá nhân (12 số)"),
        max_length=20,
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    address = forms.CharField(label=_("Địa chỉ"), max_length=255)
    sector = forms.ChoiceField(
        label=_("Ngành nghề"),
        choices=Merchant.Sector.choices,
        widget=forms.RadioSelect,
        initial=Merchant.Sector.DISTRIBUTION,
    )
    phone = forms.CharField(
        label=_("Điện thoại liên hệ (không bắt buộc)"),
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )


class BankAccountForm(CleanTextMixin, forms.Form):
    bank_bin = forms.ChoiceField(label=_("Ngân hàng"), choices=[("", "—"), *BANK_CHOICES])
    account_number = forms.CharField(
        label=_("Số tài khoản"),
        max_length=30,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    holder_name = forms.CharField(label=_("Tên chủ tài khoản"), max_length=80)
    is_default = forms.BooleanField(
        label=_("Dùng làm tài khoản nhận tiền chính"), required=False, initial=True
    )


# The product's VAT category (Product.TaxCategory, the e-invoice's TSuat code) asked as a
# question a trader can answer: the kind of goods, not "KCT" / "KKKNT". Stored values unchanged;
# the most common at a wet market first. The examples are [L] (VAT law 48/2024/QH15 as we read it,
# the 8% line while the 2-point reduction lasts): a tax officer's reading wins; a household on the
# revenue method pays by its sector (Merchant.Sector), so for most traders this only labels lines.
TAX_CHOICES = [
    (
        Product.TaxCategory.NOT_SUBJECT,
        _(
            "Thực phẩm tươi sống chưa chế biến: rau, củ, quả, thịt, cá, hải sản (chỉ rửa, cắt, "
            "phơi khô, ướp lạnh)"
        ),
    ),
    (
        Product.TaxCategory.EIGHT,
        _("Món ăn, đồ uống, bánh, hàng đã chế biến và hàng tiêu dùng khác (thuế GTGT 8%)"),
    ),
    (
        Product.TaxCategory.TEN,
        _("Bia, rượu, thuốc lá và hàng không được giảm thuế (thuế GTGT 10%)"),
    ),
    (
        Product.TaxCategory.FIVE,
        _("Hàng thiết yếu thuế 5%: nước sạch, phân bón, thức ăn chăn nuôi, dụng cụ y tế"),
    ),
    (
        Product.TaxCategory.NOT_DECLARED,
        _(
            "Nông sản, thủy sản chưa chế biến bán cho doanh nghiệp, hợp tác xã (không kê khai "
            "thuế GTGT)"
        ),
    ),
    (Product.TaxCategory.ZERO, _("Hàng bán ra nước ngoài (thuế GTGT 0%)")),
]

# The suggestion for a new product by the stall's kind of goods (market.GoodsCategory values).
TAX_BY_GOODS = {
    "vegetables": Product.TaxCategory.NOT_SUBJECT,
    "meat": Product.TaxCategory.NOT_SUBJECT,
    "seafood": Product.TaxCategory.NOT_SUBJECT,
    "dry_goods": Product.TaxCategory.NOT_SUBJECT,
    "flowers": Product.TaxCategory.NOT_SUBJECT,
    "specialties": Product.TaxCategory.EIGHT,
    "food": Product.TaxCategory.EIGHT,
    "clothing": Product.TaxCategory.EIGHT,
    "groceries": Product.TaxCategory.EIGHT,
    "other": Product.TaxCategory.EIGHT,
}


class ProductForm(CleanTextMixin, forms.Form):
    name = forms.CharField(label=_("Tên sản phẩm"), max_length=120)
    unit = forms.ChoiceField(label=_("Đơn vị"), choices=Product.Unit.choices)
    price = forms.IntegerField(
        label=_("Giá (đồng)"),
        min_value=0,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 500}),
    )
    sold_by_weight = forms.BooleanField(label=_("Bán theo cân (kg)"), required=False)
    tax_category = forms.ChoiceField(
        label=_("Món này thuộc loại nào?"),
        choices=TAX_CHOICES,
        initial=Product.TaxCategory.NOT_SUBJECT,
        widget=forms.RadioSelect,
        help_text=_(
            "Để hóa đơn điện tử ghi đúng. Chưa chắc thì giữ lựa chọn gợi ý theo ngành hàng "
            "của sạp, hoặc hỏi cán bộ thuế."
        ),
    )
    photo = ImageUploadField(
        label=_("Ảnh"),
        required=False,
        help_text=_("Chụp bằng điện thoại được; ảnh được thu nhỏ tự động."),
        widget=forms.ClearableFileInput(attrs={"accept": IMAGE_ACCEPT}),
    )
    description = forms.CharField(
        label=_("Mô tả cho khách mua trực tuyến"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    is_active = forms.BooleanField(label=_("Đang bán"), required=False, initial=True)
    in_stock = forms.BooleanField(label=_("Còn hàng"), required=False, initial=True)
    pos_favourite = forms.BooleanField(
        label=_("Hay bán: hiện đầu tiên trên màn hình Bán hàng"), required=False
    )


class MemberForm(CleanTextMixin, forms.Form):
    phone = forms.CharField(
        label=_("Số điện thoại của người nhà"),
        widget=forms.TextInput(attrs={"inputmode": "tel"}),
    )
    role = forms.ChoiceField(
        label=_("Vai trò"), choices=Membership.Role.choices, initial=Membership.Role.CASHIER
    )


class ApiKeyForm(CleanTextMixin, forms.Form):
    name = forms.CharField(label=_("Tên gợi nhớ của khóa"), max_length=80)
