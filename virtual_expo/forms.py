"""Forms of the exhibition pages: they parse; the services validate and write."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import CleanTextMixin
from core.uploads import PANORAMA, ImageUploadField
from merchants.models import Merchant

from .models import Booth, Exhibition, Inquiry
from .services import CHECKLIST

DATETIME_LOCAL = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"]


def choice_field(form: forms.Form, name: str) -> forms.ChoiceField:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    return field


class DateTimeLocal(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class ExhibitionForm(CleanTextMixin, forms.Form):
    title_vi = forms.CharField(label=_("Tên hội chợ (tiếng Việt)"), max_length=160)
    title_en = forms.CharField(label=_("Tên tiếng Anh"), max_length=160, required=False)
    theme = forms.CharField(label=_("Chủ đề"), max_length=160, required=False)
    description_vi = forms.CharField(
        label=_("Giới thiệu (tiếng Việt)"), widget=forms.Textarea(attrs={"rows": 4}), required=False
    )
    description_en = forms.CharField(
        label=_("Giới thiệu (tiếng Anh)"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    categories = forms.CharField(
        label=_("Ngành hàng (mỗi dòng một ngành: Tiếng Việt | English)"),
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "Gốm sứ | Ceramics"}),
    )
    applications_open_at = forms.DateTimeField(
        label=_("Nhận đăng ký từ"), widget=DateTimeLocal(), input_formats=DATETIME_LOCAL
    )
    applications_close_at = forms.DateTimeField(
        label=_("Nhận đăng ký đến"), widget=DateTimeLocal(), input_formats=DATETIME_LOCAL
    )
    opens_at = forms.DateTimeField(
        label=_("Khai mạc"), widget=DateTimeLocal(), input_formats=DATETIME_LOCAL
    )
    closes_at = forms.DateTimeField(
        label=_("Bế mạc"), widget=DateTimeLocal(), input_formats=DATETIME_LOCAL
    )
    stays_open_after = forms.BooleanField(
        label=_("Gian hàng vẫn mở sau ngày bế mạc"), required=False, initial=True
    )
    is_published = forms.BooleanField(label=_("Công bố hội chợ"), required=False)
    banner = ImageUploadField(label=_("Ảnh bìa"), required=False)

    @classmethod
    def initial_for(cls, exhibition: Exhibition) -> dict:
        from django.utils import timezone

        data = {
            name: getattr(exhibition, name)
            for name in (
                "title_vi",
                "title_en",
                "theme",
                "description_vi",
                "description_en",
                "stays_open_after",
                "is_published",
            )
        }
        for name in ("applications_open_at", "applications_close_at", "opens_at", "closes_at"):
            data[name] = timezone.localtime(getattr(exhibition, name))
        data["categories"] = "\n".join(
            f"{c.name_vi} | {c.name_en}" if c.name_en else c.name_vi
            for c in exhibition.categories.order_by("position", "id")
        )
        return data


class BoothForm(CleanTextMixin, forms.Form):
    category = forms.TypedChoiceField(label=_("Ngành hàng"), coerce=int, empty_value=None)
    tagline_vi = forms.CharField(label=_("Giới thiệu ngắn"), max_length=160, required=False)
    story_vi = forms.CharField(
        label=_("Câu chuyện gian hàng (tiếng Việt)"),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        help_text=_("Bạn là ai, làm sản phẩm thế nào, vì sao khách nên chọn bạn."),
    )
    tagline_en = forms.CharField(
        label=_("Giới thiệu ngắn (tiếng Anh, không bắt buộc)"), max_length=160, required=False
    )
    story_en = forms.CharField(
        label=_("Câu chuyện (tiếng Anh, không bắt buộc)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    products = forms.TypedMultipleChoiceField(
        label=_("Sản phẩm trưng bày (từ danh mục của cửa hàng)"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    video_url = forms.CharField(label=_("Video (YouTube / Vimeo)"), required=False)
    contact_name = forms.CharField(label=_("Người liên hệ"), max_length=120, required=False)
    contact_phone = forms.CharField(label=_("Điện thoại liên hệ"), max_length=20, required=False)
    contact_email = forms.CharField(label=_("Email liên hệ"), max_length=254, required=False)
    logo = ImageUploadField(label=_("Logo"), required=False)
    panorama = ImageUploadField(
        label=_("Ảnh 360° (toàn cảnh 2:1, không bắt buộc)"), required=False, kind=PANORAMA
    )

    def __init__(self, *args, exhibition: Exhibition, merchant: Merchant, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "category").choices = [("", "—")] + [
            (c.pk, c.name) for c in exhibition.categories.order_by("position", "id")
        ]
        choice_field(self, "products").choices = [
            (p.pk, f"{p.name} · {p.price:,} đ/{p.unit}".replace(",", "."))
            for p in merchant.products.filter(is_active=True).order_by("name")
        ]

    @classmethod
    def initial_for(cls, booth: Booth) -> dict:
        data = {
            name: getattr(booth, name)
            for name in (
                "tagline_vi",
                "tagline_en",
                "story_vi",
                "story_en",
                "video_url",
                "contact_name",
                "contact_phone",
                "contact_email",
            )
        }
        data["category"] = booth.category_id
        data["products"] = list(
            booth.products.filter(remove_requested=False).values_list("product_id", flat=True)
        )
        return data


class MediaForm(CleanTextMixin, forms.Form):
    kind = forms.ChoiceField(
        label=_("Loại tệp"), choices=[("photo", _("Ảnh")), ("document", _("Tài liệu PDF"))]
    )
    file = forms.FileField(label=_("Tệp"))
    caption = forms.CharField(label=_("Chú thích"), max_length=160, required=False)


class ReviewForm(CleanTextMixin, forms.Form):
    decision = forms.ChoiceField(
        choices=[
            ("approve", _("Duyệt")),
            ("request_changes", _("Yêu cầu bổ sung")),
            ("reject", _("Từ chối")),
        ]
    )
    comment = forms.CharField(
        label=_("Nhận xét cho doanh nghiệp (bắt buộc khi yêu cầu bổ sung hoặc từ chối)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    publish = forms.BooleanField(label=_("Công bố gian hàng ngay khi duyệt"), required=False)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for key, label, _required in CHECKLIST:
            self.fields[f"check_{key}"] = forms.BooleanField(label=label, required=False)

    def checklist(self) -> dict[str, bool]:
        return {key: bool(self.cleaned_data.get(f"check_{key}")) for key, _l, _r in CHECKLIST}


class InquiryForm(CleanTextMixin, forms.Form):
    name = forms.CharField(
        label=_("Họ tên"),
        max_length=120,
        error_messages={"required": _("Vui lòng cho biết tên của bạn.")},
    )
    company = forms.CharField(label=_("Công ty (nếu có)"), max_length=160, required=False)
    phone = forms.CharField(
        label=_("Điện thoại"),
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    email = forms.CharField(
        label=_("Email"),
        max_length=254,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "email", "autocomplete": "email"}),
    )
    quantity = forms.CharField(label=_("Số lượng cần"), max_length=60, required=False)
    message = forms.CharField(
        label=_("Nội dung cần hỏi"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Vui lòng nhập nội dung cần hỏi.")},
    )
    product = forms.TypedChoiceField(
        label=_("Về sản phẩm"), coerce=int, empty_value=None, required=False
    )
    # Honeypot: hidden from people by CSS, filled by form-filling bots.
    website = forms.CharField(
        label=_("Để trống ô này"),
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(self, *args, products=(), **kwargs) -> None:
        super().__init__(*args, **kwargs)
        choice_field(self, "product").choices = [("", "—")] + [
            (bp.product_id, bp.product.name) for bp in products
        ]


class AnswerForm(CleanTextMixin, forms.Form):
    text = forms.CharField(
        label=_("Trả lời khách"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4000
    )


class LeadForm(CleanTextMixin, forms.Form):
    status = forms.ChoiceField(label=_("Trạng thái"), choices=Inquiry.Status.choices)
    follow_up_on = forms.DateField(
        label=_("Hẹn liên hệ lại"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
    )
