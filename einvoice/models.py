"""E-invoices (hóa đơn điện tử) as the tax authority (Tổng cục Thuế, GDT) defines them.

Vietnamese terms used here, explained once:

* *ký hiệu mẫu số* (``form``, XML ``KHMSHDon``): one digit, 1 = VAT invoice (hóa đơn GTGT),
  2 = sales invoice (hóa đơn bán hàng, what household businesses issue).
* *ký hiệu hóa đơn* (``symbol``, XML ``KHHDon``): 6 characters, e.g. ``C26MAB``: C/K (with or
  without the authority's code), the year, the kind letter (M = cash register, máy tính tiền)
  and two free characters.
* *số hóa đơn* (``number``, XML ``SHDon``): consecutive from 1 per series and year.
* *mã của cơ quan thuế* (``authority_code``, XML ``MCCQT``): the code the authority gives.
* *mã tra cứu* (``lookup_code``): the secret code a buyer uses on our public lookup page.

Immutability (ARCHITECTURE.md invariant 3): an issued invoice, its lines and its history never
change. The guard is in three layers, the same on SQLite and PostgreSQL: services offer no path
that edits one; the models and their querysets raise :class:`ImmutableInvoice` on a delete, on an
update of a document field, of a line or of an event, and on a canceled invoice going back to
another status; and database triggers (migrations 0002, 0003) refuse the same in raw SQL. Only
the transmission columns (status, attempts…) may be written after issue, the authority's code and
document and the PDF once each (from empty). ``manage.py flush`` (einvoice's override) is the one
way to empty the tables, as TRUNCATE is on PostgreSQL.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from merchants.models import Merchant


class ImmutableInvoice(RuntimeError):
    """Raised when code tries to change or delete an issued invoice."""


class Form(models.TextChoices):
    VAT = "1", _("Hóa đơn giá trị gia tăng")
    SALES = "2", _("Hóa đơn bán hàng")


class Series(models.Model):
    """A merchant's invoice series: form + 6-character symbol, numbered from 1.

    The symbol carries its own year (characters 2-3): series ``C26MAB`` issues invoices dated in
    2026 (Vietnam time) only; for 2027 the trader registers ``C27MAB``, a series of its own. So the
    symbol printed on an invoice is always its series' symbol.
    """

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="invoice_series")
    form = models.CharField(_("ký hiệu mẫu số"), max_length=1, choices=Form.choices)
    symbol = models.CharField(_("ký hiệu hóa đơn"), max_length=6)
    # 5 characters the tax authority assigns to a registered cash register (máy tính tiền).
    register_prefix = models.CharField(
        _("tiền tố máy tính tiền"), max_length=5, null=True, blank=True
    )
    auto_issue = models.BooleanField(
        _("tự động lập hóa đơn cho mỗi đơn đã thanh toán"), default=False
    )
    is_active = models.BooleanField(_("đang dùng"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["merchant_id", "form", "symbol"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "form", "symbol"], name="einvoice_series_unique"
            ),
            # One register prefix, one series per form: cash-register codes cannot collide.
            models.UniqueConstraint(
                fields=["form", "register_prefix"],
                condition=Q(register_prefix__isnull=False),
                name="einvoice_series_register_prefix_unique",
            ),
        ]
        verbose_name = _("ký hiệu hóa đơn")
        verbose_name_plural = _("ký hiệu hóa đơn")

    def __str__(self) -> str:
        return f"{self.form}{self.symbol}"

    @property
    def kind_letter(self) -> str:
        return self.symbol[3:4]

    @property
    def is_cash_register(self) -> bool:
        return self.kind_letter == "M"

    @property
    def year(self) -> int:
        """The year of the symbol (characters 2-3): the only year its invoices may be dated."""
        return 2000 + int(self.symbol[1:3])

    @property
    def is_coded(self) -> bool:
        """C…: each invoice gets the tax authority's code (MCCQT); K…: no code."""
        return self.symbol[:1] == "C"


class SeriesCounter(models.Model):
    """The last number used in a series in a year; locked while an invoice is issued."""

    series = models.ForeignKey(Series, on_delete=models.PROTECT, related_name="counters")
    year = models.PositiveIntegerField()
    last_number = models.PositiveIntegerField(default=0)
    # issued_at of the invoice numbered last_number: a later one may not be dated before it.
    last_issued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["series", "year"], name="einvoice_counter_unique")
        ]

    def __str__(self) -> str:
        return f"{self.series} {self.year}: {self.last_number}"


class SigningCertificate(models.Model):
    """A merchant's signing certificate (chứng thư số). The private key is stored encrypted."""

    class Source(models.TextChoices):
        DEMO = "demo", _("Tự cấp (thử nghiệm)")
        UPLOADED = "uploaded", _("Tải lên (PKCS#12)")

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="signing_certificates"
    )
    source = models.CharField(_("nguồn"), max_length=16, choices=Source.choices)
    subject = models.CharField(_("chủ thể"), max_length=255)
    serial = models.CharField(_("số sê-ri"), max_length=64)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    certificate_pem = models.TextField()
    # Fernet token of the PKCS#8 PEM key; the Fernet key is derived from a settings secret.
    key_encrypted = models.TextField(editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant"], condition=Q(is_active=True), name="einvoice_one_active_cert"
            )
        ]
        verbose_name = _("chứng thư số")
        verbose_name_plural = _("chứng thư số")

    def __str__(self) -> str:
        return f"{self.subject} ({self.serial})"


class InvoiceQuerySet(models.QuerySet["Invoice"]):
    def delete(self) -> Any:
        raise ImmutableInvoice("issued invoices are never deleted")

    def update(self, **kwargs: Any) -> int:
        locked = set(kwargs) - Invoice.MUTABLE_FIELDS
        if locked:
            raise ImmutableInvoice(f"issued invoice fields cannot change: {sorted(locked)}")
        status = kwargs.get("status")
        if (
            status is not None
            and status != Invoice.Status.CANCELED
            and self.filter(status=Invoice.Status.CANCELED).exists()
        ):
            raise ImmutableInvoice("a canceled invoice stays canceled")
        return super().update(**kwargs)


class Invoice(models.Model):
    """One issued invoice. Everything shown on it is copied here at issue and never changes."""

    class Kind(models.TextChoices):
        ORIGINAL = "original", _("Hóa đơn gốc")
        ADJUSTMENT = "adjustment", _("Hóa đơn điều chỉnh")
        REPLACEMENT = "replacement", _("Hóa đơn thay thế")

    class Status(models.TextChoices):
        ISSUED = "issued", _("Đã lập")
        SENT = "sent", _("Đã gửi CQT")
        ACCEPTED = "accepted", _("CQT đã cấp mã / chấp nhận")
        REJECTED = "rejected", _("CQT từ chối")
        FAILED = "failed", _("Gửi lỗi")
        CANCELED = "canceled", _("Đã hủy")

    # Columns written after issue: transmission (einvoice/transmission.py) and the PDF, once.
    MUTABLE_FIELDS = frozenset(
        {
            "status",
            "authority_code",
            "rejection_reasons",
            "attempts",
            "next_attempt_at",
            "last_error",
            "sent_at",
            "answered_at",
            "pdf",
            "pdf_sha256",
            "authority_xml",
        }
    )

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="invoices")
    series = models.ForeignKey(Series, on_delete=models.PROTECT, related_name="invoices")
    year = models.PositiveIntegerField()
    number = models.PositiveIntegerField(_("số hóa đơn"))
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    form = models.CharField(_("ký hiệu mẫu số"), max_length=1, choices=Form.choices)
    series_symbol = models.CharField(_("ký hiệu"), max_length=6)
    register_code = models.CharField(_("mã máy tính tiền"), max_length=23, blank=True)
    is_cash_register = models.BooleanField(default=False)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ORIGINAL)
    related = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="corrections"
    )
    correction_reason = models.CharField(_("lý do"), max_length=255, blank=True)
    issued_at = models.DateTimeField(_("ngày lập"))
    # The day of the sale when the invoice is issued on a later day (a late request): printed as
    # "Ngày bán" and written in TTChung/TTKhac. The invoice itself is dated when it is issued.
    sold_on = models.DateField(_("ngày bán"), null=True, blank=True)

    seller_name = models.CharField(max_length=200)
    seller_tax_code = models.CharField(max_length=14)
    seller_address = models.CharField(max_length=255)
    seller_phone = models.CharField(max_length=16, blank=True)

    buyer_name = models.CharField(_("người mua"), max_length=200, blank=True)
    buyer_tax_code = models.CharField(_("mã số thuế người mua"), max_length=14, blank=True)
    buyer_citizen_id = models.CharField(_("số định danh người mua"), max_length=12, blank=True)
    buyer_email = models.EmailField(blank=True)
    buyer_address = models.CharField(max_length=255, blank=True)
    buyer_phone = models.CharField(max_length=16, blank=True)

    currency = models.CharField(max_length=3, default="VND")
    total_before_tax = models.BigIntegerField()
    total_tax = models.BigIntegerField()
    total_payable = models.BigIntegerField()
    amount_in_words = models.CharField(max_length=255)
    payment_method = models.CharField(_("hình thức thanh toán"), max_length=50)

    xml = models.TextField()
    xml_sha256 = models.CharField(max_length=64)
    is_signed = models.BooleanField(default=False)
    pdf = models.FileField(upload_to="einvoices/%Y/%m/", blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)
    lookup_code = models.CharField(_("mã tra cứu"), max_length=16, unique=True)
    source_ref = models.CharField(max_length=64, blank=True, db_index=True)

    status = models.CharField(
        _("trạng thái"), max_length=16, choices=Status.choices, default=Status.ISSUED
    )
    authority_code = models.CharField(_("mã của CQT"), max_length=34, blank=True)
    # The coded invoice as the authority returned it: our XML with MCCQT and the authority's
    # signature (DSCKS/CQT). Written once; it is the invoice's public XML.
    authority_xml = models.TextField(blank=True)
    rejection_reasons = models.JSONField(default=list, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)

    objects = InvoiceQuerySet.as_manager()
    _loaded_status: str | None = None  # the status read from the database (see ``save``)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "year", "number"], name="einvoice_invoice_number_unique"
            ),
            # The invoice's identity as printed: one seller, form, symbol (with its year), number.
            models.UniqueConstraint(
                fields=["merchant", "form", "series_symbol", "number"],
                name="einvoice_invoice_identity_unique",
            ),
            models.UniqueConstraint(
                fields=["register_code"],
                condition=~Q(register_code=""),
                name="einvoice_invoice_register_code_unique",
            ),
            models.UniqueConstraint(
                fields=["merchant", "source_ref"],
                condition=~Q(source_ref=""),
                name="einvoice_invoice_source_ref_unique",
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1) & Q(number__lte=99_999_999),
                name="einvoice_invoice_number_range",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="einvoice_inv_status_next"),
            models.Index(fields=["merchant", "-issued_at"], name="einvoice_inv_merchant_issued"),
        ]
        verbose_name = _("hóa đơn điện tử")
        verbose_name_plural = _("hóa đơn điện tử")

    def __str__(self) -> str:
        return f"{self.form}{self.series_symbol} số {self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if self.pk is not None and not self._state.adding:
            if update_fields is not None:
                locked = set(update_fields) - self.MUTABLE_FIELDS
                if locked:
                    raise ImmutableInvoice(f"issued invoice fields cannot change: {sorted(locked)}")
            loaded = getattr(self, "_loaded_status", None)
            if loaded == self.Status.CANCELED and self.status != self.Status.CANCELED:
                raise ImmutableInvoice("a canceled invoice stays canceled")
        # Without update_fields the database trigger refuses any change to a document column.
        super().save(*args, **kwargs)
        self._loaded_status = self.status

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableInvoice("issued invoices are never deleted")

    @classmethod
    def from_db(cls, db: Any, field_names: Any, values: Any) -> Invoice:
        instance = super().from_db(db, field_names, values)
        instance._loaded_status = instance.__dict__.get("status")
        return instance

    @property
    def full_symbol(self) -> str:
        return f"{self.form}{self.series_symbol}"

    @property
    def number_display(self) -> str:
        return f"{self.number:08d}" if self.number else ""

    @property
    def needs_authority_code(self) -> bool:
        """A coded (C…) invoice other than a cash register's (whose code is made locally)."""
        return self.series_symbol[:1] == "C" and not self.is_cash_register

    @property
    def awaits_authority_code(self) -> bool:
        """Coded, and the tax authority has not given its code yet: the buyer gets no link."""
        return self.needs_authority_code and not self.authority_code

    @property
    def public_xml(self) -> str:
        """The invoice as the buyer downloads it: the authority's document for a coded invoice
        (empty while it is awaited), our signed XML otherwise."""
        if self.needs_authority_code:
            return self.authority_xml
        return self.xml


class InvoiceLineQuerySet(models.QuerySet["InvoiceLine"]):
    def delete(self) -> Any:
        raise ImmutableInvoice("invoice lines are never deleted")

    def update(self, **kwargs: Any) -> int:
        raise ImmutableInvoice("invoice lines never change")


class InvoiceLine(models.Model):
    """One line (HHDVu) of an invoice: goods, a trade discount, or a note."""

    class Kind(models.TextChoices):
        # XML TChat: 1 goods/service, 3 trade discount, 4 note.
        GOODS = "goods", _("Hàng hóa, dịch vụ")
        DISCOUNT = "discount", _("Chiết khấu thương mại")
        NOTE = "note", _("Ghi chú, diễn giải")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.GOODS)
    name = models.CharField(_("tên hàng hóa, dịch vụ"), max_length=500)
    unit = models.CharField(_("đơn vị tính"), max_length=50, blank=True)
    quantity = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    unit_price = models.BigIntegerField(null=True, blank=True)
    amount = models.BigIntegerField(default=0)
    tax_rate = models.CharField(_("thuế suất"), max_length=8, blank=True)
    tax_amount = models.BigIntegerField(default=0)

    objects = InvoiceLineQuerySet.as_manager()

    class Meta:
        ordering = ["invoice_id", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "position"], name="einvoice_line_position_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise ImmutableInvoice("invoice lines never change")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableInvoice("invoice lines are never deleted")


class InvoiceEventQuerySet(models.QuerySet["InvoiceEvent"]):
    def delete(self) -> Any:
        raise ImmutableInvoice("invoice history is never deleted")

    def update(self, **kwargs: Any) -> int:
        raise ImmutableInvoice("invoice history never changes")


class InvoiceEvent(models.Model):
    """Append-only history of an invoice: issued, sent, accepted, rejected, canceled, notice…"""

    class Kind(models.TextChoices):
        ISSUED = "issued", _("Đã lập")
        SENT = "sent", _("Đã gửi CQT")
        ACCEPTED = "accepted", _("CQT chấp nhận")
        REJECTED = "rejected", _("CQT từ chối")
        FAILED = "failed", _("Gửi lỗi")
        CANCELED = "canceled", _("Đã hủy")
        ADJUSTED = "adjusted", _("Đã lập hóa đơn điều chỉnh")
        REPLACED = "replaced", _("Đã lập hóa đơn thay thế")
        NOTICE = "notice", _("Thông báo sai sót (04/SS-HĐĐT)")
        PDF_RENDERED = "pdf_rendered", _("Đã tạo bản PDF")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=32)
    payload = models.JSONField(default=dict, blank=True)
    actor_label = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = InvoiceEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.kind}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise ImmutableInvoice("invoice history never changes")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ImmutableInvoice("invoice history is never deleted")

    @property
    def kind_label(self) -> str:
        try:
            return str(self.Kind(self.kind).label)
        except ValueError:
            return self.kind


class PurchaseInvoice(models.Model):
    """An invoice the merchant received from a supplier (hóa đơn đầu vào): the input side of the
    household's books, imported from the supplier's XML (``einvoice.reader``).

    Amounts are whole đồng: an invoice in another currency is converted by its exchange rate
    (TGia) and rounded half up; the amounts as written are kept beside them. One row per
    (merchant, seller tax code, form, symbol, number): the same file uploaded twice is one row.
    """

    class Kind(models.TextChoices):
        ORIGINAL = "original", _("Hóa đơn gốc")
        ADJUSTMENT = "adjustment", _("Hóa đơn điều chỉnh")
        REPLACEMENT = "replacement", _("Hóa đơn thay thế")

    merchant = models.ForeignKey(
        Merchant, on_delete=models.PROTECT, related_name="purchase_invoices"
    )
    seller_tax_code = models.CharField(_("mã số thuế người bán"), max_length=14)
    seller_name = models.CharField(_("người bán"), max_length=400)
    buyer_tax_code = models.CharField(_("mã số thuế người mua"), max_length=14, blank=True)
    buyer_name = models.CharField(_("người mua"), max_length=400, blank=True)
    form = models.CharField(_("ký hiệu mẫu số"), max_length=1)
    symbol = models.CharField(_("ký hiệu"), max_length=6)
    number = models.PositiveIntegerField(_("số hóa đơn"))
    issued_on = models.DateField(_("ngày lập"))
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.ORIGINAL)
    authority_code = models.CharField(_("mã của CQT"), max_length=34, blank=True)

    currency = models.CharField(max_length=3, default="VND")
    exchange_rate = models.DecimalField(max_digits=21, decimal_places=6, null=True, blank=True)
    # In đồng (converted by the exchange rate for another currency).
    total_before_tax = models.BigIntegerField()
    total_tax = models.BigIntegerField()
    total_payable = models.BigIntegerField()
    # As written on the invoice, in its currency.
    original_before_tax = models.DecimalField(max_digits=27, decimal_places=6)
    original_tax = models.DecimalField(max_digits=27, decimal_places=6)
    original_payable = models.DecimalField(max_digits=27, decimal_places=6)
    lines_count = models.PositiveIntegerField(default=0)

    findings = models.JSONField(default=list, blank=True)
    xml = models.TextField()
    xml_sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issued_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "seller_tax_code", "form", "symbol", "number"],
                name="einvoice_purchase_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "-issued_on"], name="einvoice_purchase_issued"),
        ]
        verbose_name = _("hóa đơn đầu vào")
        verbose_name_plural = _("hóa đơn đầu vào")

    def __str__(self) -> str:
        return f"{self.form}{self.symbol} số {self.number} ({self.seller_tax_code})"

    @property
    def full_symbol(self) -> str:
        return f"{self.form}{self.symbol}"

    @property
    def number_display(self) -> str:
        return f"{self.number:08d}"
