"""Markets (chợ), stalls (sạp / ki-ốt) and traders' applications for a stall."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant
from payments.models import Refund


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
        permissions = [("view_market_dashboard", "Can view market dashboards")]
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
    # The decision's notice on the trader's home stays until a member dismisses it (issue 16).
    notice_dismissed_at = models.DateTimeField(null=True, blank=True)
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


# --- selling: orders, refunds, daily close ---------------------------------------------------


class Fulfilment(models.TextChoices):
    PICKUP = "pickup", _("Lấy tại sạp")
    DELIVERY = "delivery", _("Giao hàng")


class FulfilmentStatus(models.TextChoices):
    NEW = "new", _("Chờ người bán nhận đơn")
    ACCEPTED = "accepted", _("Người bán đã nhận đơn")
    READY = "ready", _("Hàng đã sẵn sàng")
    OUT_FOR_DELIVERY = "out_for_delivery", _("Đang giao hàng")
    COMPLETED = "completed", _("Đã hoàn thành")
    CANCELED = "canceled", _("Đã hủy")


class Order(models.Model):
    """One sale, whatever the channel: the stall keypad (``pos``), the web shop, an exhibition.

    Lines are snapshots: a later price change in the catalogue never changes a past sale. The
    order asks ``payments`` for an intent whose ``reference`` is the order number and becomes
    paid when that intent settles (``market.orders.order_sync``); cash is recorded as paid at once.
    """

    class Channel(models.TextChoices):
        POS = "pos", _("Tại sạp")
        ONLINE = "online", _("Trực tuyến")
        EXPO = "expo", _("Hội chợ ảo")

    class Status(models.TextChoices):
        OPEN = "open", _("Đang tạo")
        AWAITING_PAYMENT = "awaiting_payment", _("Chờ thanh toán")
        PAID = "paid", _("Đã thanh toán")
        PARTIALLY_REFUNDED = "partially_refunded", _("Hoàn một phần")
        REFUNDED = "refunded", _("Đã hoàn tiền")
        CANCELED = "canceled", _("Đã hủy")

    class PaymentMethod(models.TextChoices):
        BANK_QR = "bank_qr", _("Chuyển khoản VietQR")
        EWALLET = "ewallet", _("Ví điện tử")
        CASH = "cash", _("Tiền mặt")

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="orders")
    stall = models.ForeignKey(
        Stall, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    # "DH" + local date + 5 characters, e.g. DH261130-K7PXA: also the payment intent's reference.
    number = models.CharField(_("số đơn"), max_length=20, unique=True)
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.POS)
    status = models.CharField(
        _("trạng thái"), max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    payment_method = models.CharField(
        _("hình thức thanh toán"), max_length=8, choices=PaymentMethod.choices
    )
    total = models.BigIntegerField(_("tổng tiền"))
    amount_paid = models.BigIntegerField(default=0)
    amount_refunded = models.BigIntegerField(default=0)
    # The intent currently asked to be paid (a new one replaces an expired or changed one).
    intent = models.ForeignKey(
        "payments.PaymentIntent",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    bank_reference = models.CharField(max_length=64, blank=True)
    buyer_name = models.CharField(_("tên người mua"), max_length=120, blank=True)
    buyer_phone = models.CharField(_("số điện thoại"), max_length=16, blank=True)
    buyer_email = models.EmailField(_("email"), blank=True)
    buyer_tax_code = models.CharField(_("mã số thuế"), max_length=14, blank=True)
    buyer_citizen_id = models.CharField(_("số CCCD"), max_length=12, blank=True)
    buyer_address = models.CharField(_("địa chỉ"), max_length=255, blank=True)
    # Public link to the receipt (the QR shown after payment points at it).
    receipt_token = models.CharField(max_length=32, unique=True)
    cashier = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    paid_at = models.DateTimeField(null=True, blank=True, db_index=True)
    canceled_at = models.DateTimeField(null=True, blank=True)
    # The shopper asked for an e-invoice with their details (the receipt's "Yêu cầu hóa đơn").
    invoice_requested_at = models.DateTimeField(null=True, blank=True)
    # Online and exhibition orders: how the goods reach the shopper, and where they stand.
    fulfilment = models.CharField(
        _("nhận hàng"), max_length=10, choices=Fulfilment.choices, blank=True
    )
    fulfilment_status = models.CharField(
        _("tiến độ"), max_length=20, choices=FulfilmentStatus.choices, blank=True, db_index=True
    )
    pickup_at = models.DateTimeField(_("giờ lấy hàng"), null=True, blank=True)
    delivery_address = models.CharField(_("địa chỉ giao hàng"), max_length=255, blank=True)
    shopper_note = models.CharField(_("ghi chú của khách"), max_length=255, blank=True)
    # Where the sale came from, opaque to market: "expo:<exhibition id>:<booth id>" for a booth.
    source_ref = models.CharField(max_length=64, blank=True, db_index=True)
    # The request that made it (core.idempotency.effect_key): a retry resumes this sale.
    request_key = models.CharField(max_length=64, null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gt=0), name="order_total_positive"),
            models.CheckConstraint(
                # An overpaid sale may give back all it received, the extra included.
                condition=Q(amount_refunded__gte=0)
                & (
                    Q(amount_refunded__lte=models.F("total"))
                    | Q(amount_refunded__lte=models.F("amount_paid"))
                ),
                name="order_refund_not_above_total",
            ),
        ]
        indexes = [models.Index(fields=["merchant", "paid_at"])]
        verbose_name = _("đơn hàng")
        verbose_name_plural = _("đơn hàng")

    def __str__(self) -> str:
        return f"{self.number} {self.total} đ ({self.status})"

    @property
    def is_paid(self) -> bool:
        return self.status in (
            self.Status.PAID,
            self.Status.PARTIALLY_REFUNDED,
            self.Status.REFUNDED,
        )

    @property
    def refundable_amount(self) -> int:
        return self.total - self.amount_refunded if self.is_paid else 0

    @property
    def net_amount(self) -> int:
        return self.total - self.amount_refunded if self.is_paid else 0


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    product = models.ForeignKey(
        "merchants.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(_("tên hàng"), max_length=120)
    unit = models.CharField(_("đơn vị"), max_length=8)
    unit_price = models.BigIntegerField(_("đơn giá"))
    # Weight sells in fractions: 0,35 kg. Three decimals are grams.
    quantity = models.DecimalField(_("số lượng"), max_digits=10, decimal_places=3)
    # unit_price × quantity rounded half up to a whole đồng.
    amount = models.BigIntegerField(_("thành tiền"))
    tax_category = models.CharField(max_length=8, default="KCT")

    class Meta:
        ordering = ["order", "position"]
        constraints = [
            models.UniqueConstraint(fields=["order", "position"], name="order_line_position"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_line_quantity_pos"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="order_line_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} × {self.quantity} = {self.amount}"


class OrderRefund(models.Model):
    """Which sale (and line) a refund of ``payments`` is for. The money and its state live in
    the payments ``Refund`` only (created in the same transaction as this row): cash and bank-QR
    refunds are payouts the trader made (they count at once); an e-wallet refund counts when the
    provider confirms it."""

    Status = Refund.Status

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    amount = models.BigIntegerField(_("số tiền hoàn"))
    reason = models.CharField(_("lý do"), max_length=255)
    line = models.ForeignKey(
        OrderLine, null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    payment_refund = models.OneToOneField(
        Refund, on_delete=models.PROTECT, related_name="order_refund"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="order_refund_positive")
        ]

    def __str__(self) -> str:
        return f"{self.order_id} −{self.amount}"

    @property
    def status(self) -> str:
        return self.payment_refund.status

    @property
    def confirmed_at(self) -> datetime.datetime | None:
        return self.payment_refund.confirmed_at

    def get_status_display(self) -> str:
        return self.payment_refund.get_status_display()


class DailyClose(models.Model):
    """ "Chốt sổ": the trader's end of day. It covers everything from the previous close (or the
    first sale) up to ``period_end``, stores the figures as they were, and never changes."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="closes")
    business_date = models.DateField(_("ngày"))
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    # The figures as computed at closing time (by method, counts, refunds, flags, unmatched...).
    figures = models.JSONField()
    sales_total = models.BigIntegerField(_("doanh thu"))
    cash_expected = models.BigIntegerField(_("tiền mặt theo sổ"))
    cash_counted = models.BigIntegerField(_("tiền mặt đếm được"))
    note = models.CharField(_("ghi chú"), max_length=255, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-business_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "business_date"], name="one_close_per_merchant_day"
            ),
            models.CheckConstraint(condition=Q(cash_counted__gte=0), name="cash_counted_not_neg"),
        ]
        verbose_name = _("chốt sổ")
        verbose_name_plural = _("chốt sổ")

    def __str__(self) -> str:
        return f"{self.merchant_id} {self.business_date}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("a daily close never changes once recorded")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("a daily close is never deleted")

    @property
    def cash_difference(self) -> int:
        return self.cash_counted - self.cash_expected


class OrderEvent(models.Model):
    """One step of an order's life, for the shopper's timeline (paid, accepted, ready...)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=24)
    note = models.CharField(max_length=255, blank=True)
    actor_label = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.order_id} {self.kind}"


class Storefront(models.Model):
    """A merchant's shop on the web: open or not, hours, pickup and delivery terms."""

    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="storefront")
    is_open = models.BooleanField(_("đang bán trực tuyến"), default=False)
    tagline = models.CharField(_("giới thiệu ngắn"), max_length=160, blank=True)
    photo = models.ImageField(_("ảnh cửa hàng"), upload_to="storefronts/%Y/%m/", blank=True)
    opens_at = models.TimeField(_("giờ mở cửa"), default=datetime.time(5, 0))
    closes_at = models.TimeField(_("giờ đóng cửa"), default=datetime.time(18, 0))
    # Pickup times offered every N minutes between opening and closing, from now + lead time.
    pickup_slot_minutes = models.PositiveSmallIntegerField(
        _("mỗi khung giờ lấy hàng (phút)"), default=30
    )
    pickup_lead_minutes = models.PositiveSmallIntegerField(
        _("chuẩn bị hàng mất (phút)"), default=30
    )
    delivers = models.BooleanField(_("có giao hàng"), default=False)
    delivery_fee = models.BigIntegerField(_("phí giao hàng (đồng)"), default=0)
    delivery_area = models.CharField(
        _("khu vực giao hàng"),
        max_length=255,
        blank=True,
        help_text=_("Ví dụ: Hải Châu, Thanh Khê"),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("cửa hàng trực tuyến")
        verbose_name_plural = _("cửa hàng trực tuyến")
        constraints = [
            models.CheckConstraint(
                condition=Q(delivery_fee__gte=0), name="delivery_fee_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant} ({'mở' if self.is_open else 'đóng'})"


class Review(models.Model):
    """A shopper's stars and words on a completed, bank- or wallet-confirmed order: one per
    product of the order (or one for the merchant). The merchant may answer once."""

    class Status(models.TextChoices):
        VISIBLE = "visible", _("Đang hiện")
        REPORTED = "reported", _("Bị báo cáo, chờ xem xét")
        HIDDEN = "hidden", _("Đã ẩn")

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="reviews")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="reviews")
    product = models.ForeignKey(
        "merchants.Product",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reviews",
    )
    rating = models.PositiveSmallIntegerField(_("số sao"))
    text = models.TextField(_("nhận xét"), blank=True)
    author_name = models.CharField(_("tên người mua"), max_length=120)
    reply = models.TextField(_("trả lời của người bán"), blank=True)
    replied_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.VISIBLE)
    report_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("moderate_review", "Can moderate reported reviews")]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=1) & Q(rating__lte=5), name="review_rating_1_to_5"
            ),
            models.UniqueConstraint(
                fields=["order", "product"], name="one_review_per_order_product"
            ),
            models.UniqueConstraint(
                fields=["order"],
                condition=Q(product__isnull=True),
                name="one_merchant_review_per_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id} {self.rating}★"
