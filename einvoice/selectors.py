"""Reads for e-invoices. Every read by id also takes the merchant (already authorised)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext_lazy as _

from core.errors import NotFound
from merchants.models import Merchant

from .models import Invoice, InvoiceEvent, PurchaseInvoice, Series, SigningCertificate


def series_of(*, merchant: Merchant, active_only: bool = False) -> QuerySet[Series]:
    rows = Series.objects.filter(merchant=merchant)
    if active_only:
        rows = rows.filter(is_active=True)
    return rows.order_by("form", "symbol")


def series_one(*, merchant: Merchant, series_id: int) -> Series:
    series = Series.objects.filter(merchant=merchant, pk=series_id).first()
    if series is None:
        raise NotFound(_("Không tìm thấy ký hiệu hóa đơn."))
    return series


def auto_issue_series(*, merchant: Merchant) -> Series | None:
    """The series every paid sale is invoiced in, if the merchant turned that on."""
    return (
        Series.objects.filter(merchant=merchant, is_active=True, auto_issue=True)
        .order_by("form", "id")
        .first()
    )


def invoices_of(*, merchant: Merchant, status: str = "", kind: str = "") -> QuerySet[Invoice]:
    rows = Invoice.objects.filter(merchant=merchant)
    if status:
        rows = rows.filter(status=status)
    if kind:
        rows = rows.filter(kind=kind)
    return rows.select_related("related").order_by("-issued_at", "-id")


def invoice_of(*, merchant: Merchant, invoice_id: int) -> Invoice:
    invoice = (
        Invoice.objects.filter(merchant=merchant, pk=invoice_id).select_related("related").first()
    )
    if invoice is None:
        raise NotFound(_("Không tìm thấy hóa đơn."))
    return invoice


def invoice_by_source_ref(*, merchant: Merchant, source_ref: str) -> Invoice | None:
    if not source_ref:
        return None
    return Invoice.objects.filter(merchant=merchant, source_ref=source_ref).first()


def invoice_by_lookup_code(*, code: str) -> Invoice | None:
    """The invoice a buyer may see with this code (case-insensitive, spaces ignored)."""
    cleaned = "".join(code.split()).upper()
    if not cleaned or len(cleaned) > 16:
        return None
    return Invoice.objects.filter(lookup_code=cleaned).select_related("related", "merchant").first()


def events_of(*, invoice: Invoice) -> QuerySet[InvoiceEvent]:
    return invoice.events.order_by("created_at", "id")


def corrections_of(*, invoice: Invoice) -> QuerySet[Invoice]:
    return invoice.corrections.order_by("issued_at", "id")


def replacement_of(*, invoice: Invoice) -> Invoice | None:
    """The invoice that replaced this one, if any."""
    return invoice.corrections.filter(kind=Invoice.Kind.REPLACEMENT).order_by("id").first()


def certificate_of(*, invoice: Invoice) -> SigningCertificate | None:
    """The certificate that signed the invoice: the one whose PEM is in the XML."""
    if not invoice.is_signed:
        return None
    for cert in SigningCertificate.objects.filter(merchant_id=invoice.merchant_id):
        body = "".join(cert.certificate_pem.strip().splitlines()[1:-1])
        if body and body in "".join(invoice.xml.split()):
            return cert
    return None


def signature_valid(*, invoice: Invoice) -> bool | None:
    """None for an unsigned invoice; else whether the stored XML's signature verifies."""
    from .signing import verify

    cert = certificate_of(invoice=invoice)
    if cert is None:
        return None if not invoice.is_signed else False
    return verify(invoice.xml, cert.certificate_pem) and (
        not invoice.authority_xml or verify(invoice.authority_xml, cert.certificate_pem)
    )


# --- purchases (hóa đơn đầu vào) --------------------------------------------------------------


def purchases_of(*, merchant: Merchant, month: date | None = None) -> QuerySet[PurchaseInvoice]:
    rows = PurchaseInvoice.objects.filter(merchant=merchant)
    if month is not None:
        rows = rows.filter(issued_on__year=month.year, issued_on__month=month.month)
    return rows.order_by("-issued_on", "-id")


def purchase_of(*, merchant: Merchant, purchase_id: int) -> PurchaseInvoice:
    purchase = PurchaseInvoice.objects.filter(merchant=merchant, pk=purchase_id).first()
    if purchase is None:
        raise NotFound(_("Không tìm thấy hóa đơn đầu vào."))
    return purchase


def purchase_months(*, merchant: Merchant) -> list[dict[str, Any]]:
    """Per month of issue, newest first: count and totals in đồng."""
    rows = (
        PurchaseInvoice.objects.filter(merchant=merchant)
        .annotate(month=TruncMonth("issued_on"))
        .values("month")
        .annotate(
            count=Count("id"),
            before_tax=Sum("total_before_tax"),
            tax=Sum("total_tax"),
            payable=Sum("total_payable"),
        )
        .order_by("-month")
    )
    return list(rows)
