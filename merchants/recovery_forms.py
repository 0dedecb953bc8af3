"""Forms of the SMS-code pages: password reset and registering a trader on their behalf."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import CleanTextMixin

_PHONE_ATTRS = {"inputmode": "tel", "autocomplete": "tel", "placeholder": "0905 123 456"}
_CODE_ATTRS = {
    "inputmode": "numeric",
    "autocomplete": "one-time-code",
    "pattern": "[0-9 ]*",
    "maxlength": "7",
    "placeholder": "123456",
}


class ResetRequestForm(CleanTextMixin, forms.Form):
    phone = forms.CharField(
        label=_("Số điện thoại đã đăng ký"),
        max_length=20,
        widget=forms.TextInput(attrs={**_PHONE_ATTRS, "autofocus": True}),
    )


class ResetConfirmForm(CleanTextMixin, forms.Form):
    phone = forms.CharField(
        label=_("Số điện thoại"), max_length=20, widget=forms.TextInput(attrs=_PHONE_ATTRS)
    )
    code = forms.CharField(
        label=_("Mã 6 số trong tin nhắn"), max_length=7, widget=forms.TextInput(attrs=_CODE_ATTRS)
    )
    password = forms.CharField(
        label=_("Mật khẩu mới (ít nhất 8 ký tự)"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Nhập lại mật khẩu mới"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password2"):
            self.add_error("password2", _("Hai lần nhập mật khẩu không khớp."))
        return data


class OnboardingForm(CleanTextMixin, forms.Form):
    full_name = forms.CharField(label=_("Họ và tên tiểu thương"), max_length=120)
    phone = forms.CharField(
        label=_("Số điện thoại di động của tiểu thương"),
        max_length=20,
        widget=forms.TextInput(attrs=_PHONE_ATTRS),
    )
    shop_name = forms.CharField(
        label=_("Tên cửa hàng (không bắt buộc)"), max_length=80, required=False
    )
    market = forms.TypedChoiceField(
        label=_("Chợ (không bắt buộc)"), coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args, markets=(), **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["market"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [("", "—")] + [(m.pk, m.name) for m in markets]


class OnboardingCodeForm(CleanTextMixin, forms.Form):
    code = forms.CharField(
        label=_("Mã 6 số tiểu thương đọc cho bạn"),
        max_length=7,
        widget=forms.TextInput(attrs={**_CODE_ATTRS, "autofocus": True}),
    )
