"""Selling online, the trader's side: the storefront's settings, the queue of online orders (live,
with a sound), the reviews and their one reply, and staff moderation of reported reviews.

The shopper's side (storefront, cart, checkout, order page) is market/shop/views.py; both call
the services in market/shop/storefront.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Avg, Count, F, Prefetch, QuerySet
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from core import uploads
from core.audit import audit_record
from core.errors import ApplicationError, NotFound, PermissionDenied
from core.forms import CleanTextMixin
from core.images import validated_photo
from core.phone import display_vn_phone
from core.templatetags.money import format_vnd
from core.text import nfc
from merchants.auth import AuthedRequest
from merchants.models import Membership, Merchant
from merchants.selectors import Principal, merchant_for, role_in

from ..models import FulfilmentStatus, Order, OrderLine, Review, Storefront
from . import storefront as shop

FS = FulfilmentStatus
MAX_DELIVERY_FEE = 500_000
SLOT_CHOICES = [(n, f"{n}") for n in (10, 15, 20, 30, 45, 60, 90, 120)]
LEAD_CHOICES = [(n, f"{n}") for n in (0, 10, 15, 20, 30, 45, 60, 90, 120, 180)]

# What each next step is called on the trader's big buttons.
STEP_LABELS = {
    FS.ACCEPTED: gettext_lazy("Nhận đơn"),
    FS.READY: gettext_lazy("Đã chuẩn bị xong"),
    FS.OUT_FOR_DELIVERY: gettext_lazy("Đang giao"),
    FS.COMPLETED: gettext_lazy("Hoàn thành"),
    FS.CANCELED: gettext_lazy("Hủy đơn"),
}
STEP_ORDER = [FS.ACCEPTED, FS.READY, FS.OUT_FOR_DELIVERY, FS.COMPLETED]
IN_PROGRESS = [FS.ACCEPTED, FS.READY, FS.OUT_FOR_DELIVERY]
FINISHED = [FS.COMPLETED, FS.CANCELED]


def _merchant(request: AuthedRequest, merchant_id: int, owner: bool = False) -> Merchant:
    return merchant_for(
        principal=Principal(user=request.user), merchant_id=merchant_id, owner=owner
    )


def _message(exc: ApplicationError) -> str:
    return "; ".join(str(m) for msgs in exc.fields.values() for m in msgs) or str(exc.message)


def _is_owner(request: AuthedRequest, merchant: Merchant) -> bool:
    return role_in(user=request.user, merchant=merchant) == Membership.Role.OWNER


# --- storefront settings ----------------------------------------------------------------------


class StorefrontForm(CleanTextMixin, forms.ModelForm):
    pickup_slot_minutes = forms.TypedChoiceField(
        label=gettext_lazy("Khách chọn giờ lấy hàng cách nhau (phút)"),
        choices=SLOT_CHOICES,
        coerce=int,
    )
    pickup_lead_minutes = forms.TypedChoiceField(
        label=gettext_lazy("Cần bao lâu để chuẩn bị hàng (phút)"),
        choices=LEAD_CHOICES,
        coerce=int,
    )
    delivery_fee = forms.IntegerField(
        label=gettext_lazy("Phí giao hàng (đồng)"),
        min_value=0,
        max_value=MAX_DELIVERY_FEE,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "step": 1000}),
        error_messages={
            "invalid": gettext_lazy("Phí giao hàng là số đồng nguyên, ví dụ 15000."),
            "min_value": gettext_lazy("Phí giao hàng từ 0 đến 500.000 đ."),
            "max_value": gettext_lazy("Phí giao hàng từ 0 đến 500.000 đ."),
        },
    )

    class Meta:
        model = Storefront
        fields = [
            "is_open",
            "tagline",
            "photo",
            "opens_at",
            "closes_at",
            "pickup_slot_minutes",
            "pickup_lead_minutes",
            "delivers",
            "delivery_fee",
            "delivery_area",
        ]
        labels = {
            "is_open": gettext_lazy("Mở bán trực tuyến"),
            "tagline": gettext_lazy("Giới thiệu ngắn"),
            "photo": gettext_lazy("Ảnh sạp / cửa hàng"),
            "opens_at": gettext_lazy("Giờ mở cửa"),
            "closes_at": gettext_lazy("Giờ đóng cửa"),
            "delivers": gettext_lazy("Có giao hàng tận nơi"),
            "delivery_area": gettext_lazy("Khu vực giao hàng"),
        }
        help_texts = {
            "tagline": gettext_lazy("Ví dụ: Cá biển tươi mỗi sáng từ cảng Thọ Quang."),
            "photo": gettext_lazy("Chụp bằng điện thoại được; ảnh được thu nhỏ tự động."),
            "delivery_area": gettext_lazy("Ví dụ: Hải Châu, Thanh Khê"),
        }
        widgets = {
            "opens_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "closes_at": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "tagline": forms.TextInput(attrs={"maxlength": 160}),
            "photo": forms.ClearableFileInput(attrs={"accept": uploads.IMAGE_ACCEPT}),
        }
        # issue 13: refused at once (bytes, real type, pixels) with the services' messages
        field_classes = {"photo": uploads.ImageUploadField}
        error_messages = {
            "opens_at": {"invalid": gettext_lazy("Giờ không đúng, ví dụ 05:30.")},
            "closes_at": {"invalid": gettext_lazy("Giờ không đúng, ví dụ 18:00.")},
            "tagline": {
                "max_length": gettext_lazy("Giới thiệu ngắn tối đa 160 ký tự."),
            },
        }

    def __init__(self, *args: Any, merchant: Merchant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.merchant = merchant

    def clean_tagline(self) -> str:
        return nfc(self.cleaned_data.get("tagline") or "")

    def clean_delivery_area(self) -> str:
        return nfc(self.cleaned_data.get("delivery_area") or "")

    def clean_delivery_fee(self) -> int:
        return self.cleaned_data.get("delivery_fee") or 0

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        opens, closes = data.get("opens_at"), data.get("closes_at")
        if isinstance(opens, time) and isinstance(closes, time) and closes <= opens:
            self.add_error("closes_at", _("Giờ đóng cửa phải sau giờ mở cửa."))
        if data.get("delivers") and not data.get("delivery_area"):
            self.add_error(
                "delivery_area", _("Vui lòng ghi khu vực giao hàng, ví dụ: Hải Châu, Thanh Khê.")
            )
        if data.get("is_open"):
            if not self.merchant.bank_accounts.filter(is_default=True).exists():
                self.add_error(
                    "is_open",
                    _("Cần thêm tài khoản ngân hàng nhận tiền trước khi mở bán trực tuyến."),
                )
            elif not self.merchant.products.filter(is_active=True).exists():
                self.add_error("is_open", _("Cần có ít nhất một sản phẩm đang bán."))
        return data


@login_required
def storefront_settings(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    """ "Bán online": open or close the shop on the web, hours, pickup, delivery. Owner only."""
    merchant = _merchant(request, merchant_id, owner=True)
    storefront = shop.storefront_of(merchant)
    form = StorefrontForm(
        request.POST or None, request.FILES or None, instance=storefront, merchant=merchant
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data.get("photo")
            try:
                compressed = (
                    validated_photo(upload) if upload and hasattr(upload, "content_type") else None
                )
            except ApplicationError as exc:
                form.add_error("photo", _message(exc))
            else:
                saved = form.save(commit=False)
                with uploads.saving() as files, transaction.atomic():
                    if compressed is not None:
                        files.save(saved.photo, compressed)
                    saved.save()
                    audit_record(
                        actor=request.user,
                        action="storefront.update",
                        target=saved,
                        data={"fields": sorted(form.changed_data), "is_open": saved.is_open},
                    )
                messages.success(
                    request,
                    _("Đã lưu. Cửa hàng đang mở bán trực tuyến.")
                    if saved.is_open
                    else _("Đã lưu. Cửa hàng đang tạm nghỉ bán trực tuyến."),
                )
                return redirect("storefront_settings", merchant_id=merchant.pk)
        status = 422
    return render(
        request,
        "market/shop_merchant/settings.html",
        {"merchant": merchant, "form": form, "storefront": storefront},
        status=status,
    )


# --- the queue of online orders ---------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    to: str
    label: str


@dataclass
class QueueOrder:
    order: Order
    lines: list[OrderLine]
    steps: list[Step]
    can_cancel: bool
    phone_display: str
    pickup_label: str


def _steps(order: Order) -> tuple[list[Step], bool]:
    allowed = shop.NEXT_STEPS.get(order.fulfilment, {}).get(order.fulfilment_status, set())
    steps = [Step(to, str(STEP_LABELS[to])) for to in STEP_ORDER if to in allowed]
    return steps, FS.CANCELED in allowed


def _pickup_label(at: datetime | None, today: Any) -> str:
    if at is None:
        return ""
    local = timezone.localtime(at)
    hhmm = local.strftime("%H:%M")
    if local.date() == today:
        return _("%(time)s hôm nay") % {"time": hhmm}
    if local.date() == today + timedelta(days=1):
        return _("%(time)s ngày mai") % {"time": hhmm}
    return local.strftime("%H:%M %d/%m")


def _queue_orders(merchant: Merchant) -> QuerySet[Order]:
    return (
        merchant.orders.filter(channel__in=[Order.Channel.ONLINE, Order.Channel.EXPO])
        .exclude(fulfilment_status="")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.order_by("position")))
    )


def online_queue(merchant: Merchant, *, now: datetime | None = None) -> dict[str, Any]:
    """New, in progress, and finished today (Asia/Ho_Chi_Minh), each card ready to show."""
    now = timezone.localtime(now)
    today = now.date()
    midnight = timezone.make_aware(datetime.combine(today, time.min))
    rows = _queue_orders(merchant)

    def cards(qs: QuerySet[Order]) -> list[QueueOrder]:
        out = []
        for order in qs:
            steps, can_cancel = _steps(order)
            out.append(
                QueueOrder(
                    order=order,
                    lines=list(order.lines.all()),
                    steps=steps,
                    can_cancel=can_cancel,
                    phone_display=display_vn_phone(order.buyer_phone) if order.buyer_phone else "",
                    pickup_label=_pickup_label(order.pickup_at, today),
                )
            )
        return out

    new = cards(rows.filter(fulfilment_status=FS.NEW).order_by("paid_at", "pk"))
    active = cards(
        rows.filter(fulfilment_status__in=IN_PROGRESS)
        .annotate(due=Coalesce("pickup_at", "paid_at"))
        .order_by(F("due").asc(nulls_last=True), "pk")
    )
    done = cards(
        rows.filter(fulfilment_status__in=FINISHED, updated_at__gte=midnight).order_by(
            "-updated_at", "-pk"
        )
    )
    return {"new": new, "active": active, "done": done, "new_count": len(new)}


@login_required
def online_orders(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    """ "Đơn online": paid web and exhibition orders to hand over. Owner and cashier."""
    merchant = _merchant(request, merchant_id)
    context = {
        "merchant": merchant,
        "is_owner": _is_owner(request, merchant),
        "storefront": shop.storefront_of(merchant),
        **online_queue(merchant),
    }
    return render(request, "market/shop_merchant/orders.html", context)


@login_required
def online_orders_fragment(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    """The list alone, fetched by static/js/online-orders.js when a new order arrives."""
    return _fragment(request, _merchant(request, merchant_id))


def _fragment(
    request: AuthedRequest, merchant: Merchant, show_messages: bool = False
) -> HttpResponse:
    response = render(
        request,
        "market/shop_merchant/_queue.html",
        {
            "merchant": merchant,
            "show_messages": show_messages,
            "is_owner": _is_owner(request, merchant),
            **online_queue(merchant),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def online_order_advance(request: AuthedRequest, merchant_id: int, order_id: int) -> HttpResponse:
    """Accept, ready / out for delivery, completed (owner and cashier), or cancel: a paid order
    is refunded, so only an owner may cancel it (403 for a cashier, checked by the service)."""
    merchant = _merchant(request, merchant_id)
    order = _queue_orders(merchant).filter(pk=order_id).first()
    if order is None:
        raise NotFound(_("Không tìm thấy đơn hàng."))
    to = request.POST.get("to", "")
    before_refunded = order.amount_refunded
    try:
        order = shop.order_advance(
            order_id=order.pk, to=to, actor=request.user, reason=request.POST.get("reason", "")
        )
    except PermissionDenied:
        raise  # a friendly 403 page (core.middleware), not a flash on the queue
    except ApplicationError as exc:
        messages.error(request, _message(exc))
    else:
        _advance_message(request, order, before_refunded)
    if request.headers.get("X-Requested-With") == "fetch":
        # online-orders.js: the new list (with the message) in place, no page load, so the
        # live stream and the unlocked sound stay on.
        return _fragment(request, merchant, show_messages=True)
    return redirect(f"{reverse('online_orders', args=[merchant.pk])}#order-{order.pk}")


def _advance_message(request: AuthedRequest, order: Order, before_refunded: int) -> None:
    number = order.number
    if order.fulfilment_status != FS.CANCELED:
        messages.success(
            request,
            _("Đơn %(number)s: %(status)s.")
            % {"number": number, "status": order.get_fulfilment_status_display()},
        )
        return
    refunded = order.amount_refunded - before_refunded
    if order.payment_method == Order.PaymentMethod.EWALLET and refunded == 0:
        text = _("Đã hủy đơn %(number)s. Ví điện tử đang hoàn %(amount)s cho khách.") % {
            "number": number,
            "amount": format_vnd(order.total - before_refunded),
        }
    elif order.payment_method == Order.PaymentMethod.BANK_QR and refunded > 0:
        text = _(
            "Đã hủy đơn %(number)s và ghi nhận hoàn %(amount)s. "
            "Bạn cần chuyển khoản trả lại khách số tiền này."
        ) % {"number": number, "amount": format_vnd(refunded)}
    elif refunded > 0:
        text = _("Đã hủy đơn %(number)s và hoàn %(amount)s cho khách.") % {
            "number": number,
            "amount": format_vnd(refunded),
        }
    else:
        text = _("Đã hủy đơn %(number)s.") % {"number": number}
    messages.success(request, text)


# --- reviews: the merchant's list and one reply -------------------------------------------------


@login_required
def merchant_reviews(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id)
    reviews = list(
        Review.objects.filter(merchant=merchant)
        .select_related("product", "order")
        .order_by("-created_at", "-id")[:200]
    )
    summary = (
        Review.objects.filter(merchant=merchant)
        .exclude(status=Review.Status.HIDDEN)
        .aggregate(avg=Avg("rating"), n=Count("pk"))
    )
    return render(
        request,
        "market/shop_merchant/reviews.html",
        {
            "merchant": merchant,
            "reviews": reviews,
            "average": round(float(summary["avg"]), 1) if summary["avg"] is not None else None,
            "count": summary["n"],
            "is_owner": _is_owner(request, merchant),
        },
    )


@login_required
@require_POST
def merchant_review_reply(request: AuthedRequest, merchant_id: int, review_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id, owner=True)
    review = _review_of(merchant, review_id)
    try:
        shop.review_reply(
            review_id=review.pk,
            merchant=merchant,
            text=request.POST.get("reply", ""),
            actor=request.user,
        )
    except ApplicationError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("Đã gửi trả lời."))
    return redirect(f"{reverse('merchant_reviews', args=[merchant.pk])}#review-{review_id}")


@login_required
@require_POST
def merchant_review_report(
    request: AuthedRequest, merchant_id: int, review_id: int
) -> HttpResponse:
    """The trader flags an abusive or false review; staff decide whether to hide it."""
    merchant = _merchant(request, merchant_id, owner=True)
    shop.review_report(
        review_id=_review_of(merchant, review_id).pk, reason=request.POST.get("reason", "")
    )
    messages.success(request, _("Đã gửi báo cáo, cán bộ quản lý sẽ xem xét."))
    return redirect(f"{reverse('merchant_reviews', args=[merchant.pk])}#review-{review_id}")


def _review_of(merchant: Merchant, review_id: int) -> Review:
    review = Review.objects.filter(merchant=merchant, pk=review_id).first()
    if review is None:
        raise NotFound(_("Không tìm thấy đánh giá."))
    return review


# --- staff moderation -------------------------------------------------------------------------


def _moderator(request: AuthedRequest) -> None:
    if not request.user.has_perm(shop.MODERATE_PERMISSION):
        raise PermissionDenied(_("Bạn không có quyền kiểm duyệt đánh giá."))


@login_required
def review_moderation(request: AuthedRequest) -> HttpResponse:
    _moderator(request)
    base = Review.objects.select_related("merchant", "product", "order")
    return render(
        request,
        "market/shop_merchant/moderation.html",
        {
            "reported": list(
                base.filter(status=Review.Status.REPORTED).order_by("created_at", "id")[:100]
            ),
            "hidden": list(base.filter(status=Review.Status.HIDDEN).order_by("-id")[:30]),
        },
    )


@login_required
@require_POST
def review_moderate(request: AuthedRequest, review_id: int) -> HttpResponse:
    _moderator(request)
    action = request.POST.get("action", "")
    if action not in ("hide", "restore"):
        messages.error(request, _("Chọn ẩn hoặc giữ lại đánh giá."))
        return redirect("review_moderation")
    if not Review.objects.filter(pk=review_id).exists():
        raise NotFound(_("Không tìm thấy đánh giá."))
    shop.review_moderate(review_id=review_id, actor=request.user, hide=action == "hide")
    messages.success(
        request, _("Đã ẩn đánh giá.") if action == "hide" else _("Đã giữ lại đánh giá.")
    )
    return redirect("review_moderation")
