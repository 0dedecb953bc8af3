from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import CleanTextMixin
from core.uploads import ImageUploadField

from ..models import GoodsCategory, Market


class StallApplicationForm(CleanTextMixin, forms.Form):
    merchant = forms.TypedChoiceField(label=_("Cửa hàng"), coerce=int)
    market = forms.ModelChoiceField(
        label=_("Chợ"), queryset=Market.objects.filter(is_active=True), empty_label="—"
    )
    requested_code = forms.CharField(
        label=_("Mã sạp (để trống nếu muốn Ban quản lý xếp sạp)"),
        max_length=12,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "A-12"}),
    )
    goods_category = forms.ChoiceField(
        label=_("Ngành hàng"),
        help_text=_("Đã ghi mã sạp thì để trống: lấy theo ngành hàng của sạp đó."),
        choices=[("", "—"), *GoodsCategory.choices],
        required=False,
    )
    note = forms.CharField(
        label=_("Ghi chú cho Ban quản lý (không bắt buộc)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    document = ImageUploadField(
        label=_("Ảnh giấy phép / CCCD hoặc ảnh sạp (không bắt buộc)"), required=False
    )

    def __init__(self, *args, merchants=(), **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["merchant"]
        assert isinstance(field, forms.TypedChoiceField)
        field.choices = [(m.pk, m.display_name) for m in merchants]


class DecisionForm(CleanTextMixin, forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("reject", "reject")])
    stall_code = forms.CharField(max_length=12, required=False)
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
