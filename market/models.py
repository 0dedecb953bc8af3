"""Markets (chợ), stalls (sạp / ki-ốt) and traders' applications for a stall."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant


class GoodsCategory(models.TextChoices):
    VEGETABLES = "vegetables", _("Rau, củ, quả")
    MEAT = "meat", _("Thịt")
    SEAFOOD = "seafood", _("Cá, hải sản")
    DRY_GOODS = "dry_goods", _("Gạo, đồ khô")
    SPECIALTIES = "specialties", _("Bánh, đặc sản")
    FOOD = "food", _("Ăn uống")
    CLOTHING = "clothing", _("Quần áo, vải vóc")
    GROCERIES = "groceries", _("Tạp hóa")
    FLOWERS = "flowers", _("Hoa, cây cảnh")
    OTHER = "other", _("Khác")


class Market(models.Model):
    name = models.CharField(_("tên chợ"), max_length=120, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    district = models.CharField(_("quận / phường"), max_length=80)
    address = models.CharField(_("địa chỉ"), max_length=255)
    is_active = models.BooleanField(_("đang hoạt động"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("chợ")
        verbose_name_plural = _("chợ")

    def __str__(self) -> str:
        return self.name


class Stall(models.Model):
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="stalls")
    # As painted on the stall, e.g. "A-12": zone letters, a dash, a number.
    code = models.CharField(_("mã sạp"), max_length=12)
    goods_category = models.CharField(_("ngành hàng"), max_length=16, choices=GoodsCategory.choices)
    merchant = models.ForeignKey(
        Merchant,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="stalls",
        verbose_name=_("thương nhân"),
    )

    class Meta:
        ordering = ["market__name", "code"]
        constraints = [
            models.UniqueConstraint(fields=["market", "code"], name="stall_code_unique_in_market")
        ]
        verbose_name = _("sạp")
        verbose_name_plural = _("sạp")

    def __str__(self) -> str:
        return f"{self.market.name} · {self.code}"


class StallApplication(models.Model):
    """A trader's request for a stall, decided by trade-department staff."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Đang chờ duyệt")
        APPROVED = "approved", _("Đã duyệt")
        REJECTED = "rejected", _("Bị từ chối")

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="stall_applications"
    )
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="applications")
    # Empty when the trader asked "assign me one".
    requested_code = models.CharField(_("mã sạp mong muốn"), max_length=12, blank=True)
    goods_category = models.CharField(_("ngành hàng"), max_length=16, choices=GoodsCategory.choices)
    note = models.TextField(_("ghi chú"), blank=True)
    document = models.ImageField(
        _("ảnh giấy tờ / sạp"), upload_to="applications/%Y/%m/", blank=True
    )
    status = models.CharField(
        _("trạng thái"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    stall = models.ForeignKey(
        Stall, null=True, blank=True, on_delete=models.PROTECT, related_name="applications"
    )
    decision_reason = models.TextField(_("lý do"), blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        permissions = [("review_stallapplication", "Can review stall applications")]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "market"],
                condition=Q(status="pending"),
                name="one_pending_application_per_market",
            )
        ]
        verbose_name = _("đơn đăng ký sạp")
        verbose_name_plural = _("đơn đăng ký sạp")

    def __str__(self) -> str:
        return f"{self.merchant} → {self.market} ({self.get_status_display()})"


class StandeeJob(models.Model):
    """Staff's request to print the QR standees (bảng QR) of every stall of a market as one PDF.

    Built by a Celery task (market/tasks.py) that reports progress in ``done``/``total``; a job
    ends ``done`` with the PDF, or ``failed`` with the error: never silently.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", _("Đang chờ")
        RUNNING = "running", _("Đang tạo")
        DONE = "done", _("Xong")
        FAILED = "failed", _("Lỗi")

    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="standee_jobs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        _("trạng thái"), max_length=16, choices=Status.choices, default=Status.QUEUED
    )
    done = models.PositiveIntegerField(_("đã tạo"), default=0)
    total = models.PositiveIntegerField(_("tổng số sạp"), default=0)
    # Stalls without a trader or without a default bank account: no page for them.
    skipped = models.PositiveIntegerField(_("sạp bỏ qua"), default=0)
    pdf = models.FileField(_("tệp PDF"), upload_to="standees/%Y/%m/", blank=True)
    error = models.TextField(_("lỗi"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lượt in bảng QR")
        verbose_name_plural = _("lượt in bảng QR")

    def __str__(self) -> str:
        return f"{self.market} · {self.get_status_display()} {self.done}/{self.total}"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
