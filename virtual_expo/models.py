"""Virtual exhibitions (hội chợ ảo): curated online fairs where businesses that cannot attend an
offline fair show a booth (gian hàng), take inquiries as leads and sell through the checkout.

A *booth* is also the business's application: it is submitted, reviewed by trade-department
staff (approve / ask for changes / reject), then published. Showcased products come from the
merchant's shared catalogue; what visitors see is what staff approved (``BoothProduct.approved``
with the price it was approved at), so product or price edits wait for review while the booth
stays open with its approved content.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant, Product

CURATE_PERMISSION = "virtual_expo.curate_exhibition"


def _in_english() -> bool:
    return (get_language() or "vi").startswith("en")


class Exhibition(models.Model):
    """An online fair run by the trade department: dates, theme, categories, booths."""

    slug = models.SlugField(max_length=80, unique=True)
    title_vi = models.CharField(_("tên (tiếng Việt)"), max_length=160)
    title_en = models.CharField(_("tên (tiếng Anh)"), max_length=160, blank=True)
    description_vi = models.TextField(_("giới thiệu (tiếng Việt)"), blank=True)
    description_en = models.TextField(_("giới thiệu (tiếng Anh)"), blank=True)
    theme = models.CharField(_("chủ đề"), max_length=160, blank=True)
    applications_open_at = models.DateTimeField(_("nhận đăng ký từ"))
    applications_close_at = models.DateTimeField(_("nhận đăng ký đến"))
    opens_at = models.DateTimeField(_("khai mạc"))
    closes_at = models.DateTimeField(_("bế mạc"))
    # After the fair the booths stay visitable (and keep taking inquiries and orders).
    stays_open_after = models.BooleanField(_("vẫn mở sau hội chợ"), default=True)
    banner = models.ImageField(_("ảnh bìa"), upload_to="expo/banners/%Y/%m/", blank=True)
    is_published = models.BooleanField(_("đã công bố"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opens_at", "-id"]
        permissions = [("curate_exhibition", "Can curate virtual exhibitions")]
        constraints = [
            models.CheckConstraint(
                condition=Q(closes_at__gt=models.F("opens_at")), name="expo_closes_after_opening"
            ),
            models.CheckConstraint(
                condition=Q(applications_close_at__gt=models.F("applications_open_at")),
                name="expo_applications_window_ordered",
            ),
        ]
        verbose_name = _("hội chợ ảo")
        verbose_name_plural = _("hội chợ ảo")

    def __str__(self) -> str:
        return self.title_vi

    @property
    def title(self) -> str:
        return self.title_en if _in_english() and self.title_en else self.title_vi

    @property
    def description(self) -> str:
        return self.description_en if _in_english() and self.description_en else self.description_vi

    def phase(self, now: datetime | None = None) -> str:
        """upcoming, live, after (open after the fair), closed."""
        now = now or timezone.now()
        if now < self.opens_at:
            return "upcoming"
        if now <= self.closes_at:
            return "live"
        return "after" if self.stays_open_after else "closed"

    def is_visitable(self, now: datetime | None = None) -> bool:
        return self.is_published and self.phase(now) in ("live", "after")

    def takes_applications(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.applications_open_at <= now <= self.applications_close_at


class ExhibitionCategory(models.Model):
    """A product category of one exhibition (booths are grouped by it)."""

    exhibition = models.ForeignKey(Exhibition, on_delete=models.CASCADE, related_name="categories")
    slug = models.SlugField(max_length=60)
    name_vi = models.CharField(_("tên ngành hàng"), max_length=80)
    name_en = models.CharField(_("tên tiếng Anh"), max_length=80, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["exhibition", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["exhibition", "slug"], name="expo_category_slug")
        ]
        verbose_name = _("ngành hàng hội chợ")
        verbose_name_plural = _("ngành hàng hội chợ")

    def __str__(self) -> str:
        return self.name_vi

    @property
    def name(self) -> str:
        return self.name_en if _in_english() and self.name_en else self.name_vi


class Booth(models.Model):
    """A business's booth at one exhibition, and its application for it."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Bản nháp")
        PENDING = "pending", _("Chờ duyệt")
        CHANGES_REQUESTED = "changes_requested", _("Cần bổ sung")
        APPROVED = "approved", _("Đã duyệt")
        REJECTED = "rejected", _("Bị từ chối")

    exhibition = models.ForeignKey(Exhibition, on_delete=models.PROTECT, related_name="booths")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="expo_booths")
    category = models.ForeignKey(
        ExhibitionCategory,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="booths",
        verbose_name=_("ngành hàng"),
    )
    status = models.CharField(
        _("trạng thái"), max_length=20, choices=Status.choices, default=Status.DRAFT
    )
    is_published = models.BooleanField(_("đang hiển thị"), default=False)
    featured = models.BooleanField(_("gian nổi bật"), default=False)
    position = models.PositiveIntegerField(_("thứ tự"), default=0)
    tagline_vi = models.CharField(_("giới thiệu ngắn"), max_length=160, blank=True)
    tagline_en = models.CharField(_("giới thiệu ngắn (tiếng Anh)"), max_length=160, blank=True)
    story_vi = models.TextField(_("câu chuyện gian hàng (tiếng Việt)"), blank=True)
    story_en = models.TextField(_("câu chuyện gian hàng (tiếng Anh)"), blank=True)
    logo = models.ImageField(_("logo"), upload_to="expo/logos/%Y/%m/", blank=True)
    panorama = models.ImageField(
        _("ảnh 360° (equirectangular, tỉ lệ 2:1)"), upload_to="expo/panoramas/%Y/%m/", blank=True
    )
    video_url = models.URLField(_("đường dẫn video"), blank=True)
    contact_name = models.CharField(_("người liên hệ"), max_length=120, blank=True)
    contact_phone = models.CharField(_("điện thoại liên hệ"), max_length=16, blank=True)
    contact_email = models.EmailField(_("email liên hệ"), blank=True)
    # Diacritic-free lower-case text of the name, tagline and story (core.text.search_key).
    search_text = models.TextField(blank=True, editable=False)
    # What the last submission changed for a booth already approved once ("products", "prices").
    pending_changes = models.JSONField(default=list, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["exhibition", "-featured", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["exhibition", "merchant"], name="one_booth_per_merchant_exhibition"
            ),
            models.CheckConstraint(
                condition=Q(is_published=False) | Q(approved_at__isnull=False),
                name="booth_published_only_once_approved",
            ),
        ]
        verbose_name = _("gian hàng")
        verbose_name_plural = _("gian hàng")

    def __str__(self) -> str:
        return f"{self.merchant} @ {self.exhibition}"

    @property
    def tagline(self) -> str:
        return self.tagline_en if _in_english() and self.tagline_en else self.tagline_vi

    @property
    def story(self) -> str:
        return self.story_en if _in_english() and self.story_en else self.story_vi

    @property
    def source_ref(self) -> str:
        """What an order from this booth carries in Order.source_ref."""
        return f"expo:{self.exhibition_id}:{self.pk}"

    @property
    def was_approved(self) -> bool:
        return self.approved_at is not None


class BoothProduct(models.Model):
    """A catalogue product shown at a booth. ``approved`` rows (at ``approved_price``) are what
    visitors see; a new row, a removal or a catalogue price change waits for staff review."""

    booth = models.ForeignKey(Booth, on_delete=models.CASCADE, related_name="products")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)
    note_en = models.CharField(_("tên / mô tả tiếng Anh"), max_length=200, blank=True)
    approved = models.BooleanField(default=False)
    approved_price = models.BigIntegerField(null=True, blank=True)
    remove_requested = models.BooleanField(default=False)
    # The catalogue photo resized for the booth at approval (≤ 480 px, WebP).
    thumb = models.ImageField(upload_to="expo/products/%Y/%m/", blank=True)

    class Meta:
        ordering = ["booth", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["booth", "product"], name="booth_product_once"),
        ]

    def __str__(self) -> str:
        return f"{self.booth_id}: {self.product_id}"


class BoothMedia(models.Model):
    """A gallery photo (resized server-side, with a small copy) or a PDF document."""

    class Kind(models.TextChoices):
        PHOTO = "photo", _("Ảnh")
        DOCUMENT = "document", _("Tài liệu PDF")

    booth = models.ForeignKey(Booth, on_delete=models.CASCADE, related_name="media")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    file = models.FileField(upload_to="expo/media/%Y/%m/")
    thumb = models.ImageField(upload_to="expo/media/%Y/%m/", blank=True)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    caption = models.CharField(_("chú thích"), max_length=160, blank=True)
    size_bytes = models.PositiveIntegerField(default=0)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["booth", "kind", "position", "id"]

    def __str__(self) -> str:
        return f"{self.booth_id} {self.kind} {self.caption}"


class BoothReview(models.Model):
    """One staff decision on a booth, with the checklist as ticked: the applicant sees it."""

    class Decision(models.TextChoices):
        APPROVE = "approve", _("Duyệt")
        REQUEST_CHANGES = "request_changes", _("Yêu cầu bổ sung")
        REJECT = "reject", _("Từ chối")

    booth = models.ForeignKey(Booth, on_delete=models.CASCADE, related_name="reviews")
    decision = models.CharField(max_length=20, choices=Decision.choices)
    checklist = models.JSONField(default=dict)
    comment = models.TextField(_("nhận xét"), blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.booth_id} {self.decision}"


def _inquiry_token() -> str:
    return secrets.token_urlsafe(18)


class Inquiry(models.Model):
    """A visitor's question to a booth (hỏi hàng): the exhibitor's lead."""

    class Status(models.TextChoices):
        NEW = "new", _("Mới")
        ANSWERED = "answered", _("Đã trả lời")
        NEGOTIATING = "negotiating", _("Đang thương lượng")
        WON = "won", _("Thành công")
        LOST = "lost", _("Không thành")

    class Moderation(models.TextChoices):
        VISIBLE = "visible", _("Bình thường")
        REPORTED = "reported", _("Bị báo cáo, chờ xem xét")
        HIDDEN = "hidden", _("Đã ẩn (spam / lạm dụng)")

    booth = models.ForeignKey(Booth, on_delete=models.PROTECT, related_name="inquiries")
    exhibition = models.ForeignKey(Exhibition, on_delete=models.PROTECT, related_name="inquiries")
    name = models.CharField(_("họ tên"), max_length=120)
    company = models.CharField(_("công ty"), max_length=160, blank=True)
    phone = models.CharField(_("điện thoại"), max_length=16, blank=True)
    email = models.EmailField(_("email"), blank=True)
    message = models.TextField(_("nội dung"))
    quantity = models.CharField(_("số lượng cần"), max_length=60, blank=True)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    follow_up_on = models.DateField(_("hẹn liên hệ lại"), null=True, blank=True)
    moderation = models.CharField(
        max_length=10, choices=Moderation.choices, default=Moderation.VISIBLE
    )
    report_reason = models.CharField(max_length=255, blank=True)
    # The visitor's private link to read the answers (no account needed).
    token = models.CharField(max_length=32, unique=True, default=_inquiry_token)
    ip_hash = models.CharField(max_length=64, blank=True)
    language = models.CharField(max_length=8, default="vi")
    first_answered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(phone="") | ~Q(email=""), name="inquiry_has_a_contact"
            ),
        ]
        verbose_name = _("khách hỏi hàng")
        verbose_name_plural = _("khách hỏi hàng")

    def __str__(self) -> str:
        return f"{self.booth_id} {self.name} ({self.status})"

    @property
    def response_seconds(self) -> int | None:
        if self.first_answered_at is None:
            return None
        return int((self.first_answered_at - self.created_at).total_seconds())


class InquiryReply(models.Model):
    inquiry = models.ForeignKey(Inquiry, on_delete=models.CASCADE, related_name="replies")
    text = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_label = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.inquiry_id}: {self.text[:30]}"


class Visit(models.Model):
    """One page view of an exhibition home or a booth, counted on our server (no third-party
    analytics). ``visitor`` is a salted hash of a first-party cookie (or, without one, of the IP
    and browser for that day): never the cookie or IP itself."""

    exhibition = models.ForeignKey(Exhibition, on_delete=models.CASCADE, related_name="visits")
    booth = models.ForeignKey(
        Booth, null=True, blank=True, on_delete=models.CASCADE, related_name="visits"
    )
    visitor = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["exhibition", "created_at"]),
            models.Index(fields=["booth", "visitor"]),
        ]

    def __str__(self) -> str:
        return f"{self.exhibition_id}/{self.booth_id} {self.visitor[:8]}"
