"""The two halves of issuing an invoice, fed by one :class:`Draft`.

Once the number is allocated, everything the invoice says is known: ``document_build`` turns the
draft into the XML document (:class:`~einvoice.xmlbuild.InvoiceDocument`), ``rows_store`` stores
the same draft as the ``Invoice`` row, its ``InvoiceLine`` rows and its events. Both take the
lines from one place, the draft's :class:`~einvoice.totals.Line` rows, so the XML and the database
cannot disagree. ``services._issue`` allocates the number, signs, and calls them in its
transaction; nothing here commits or sends anything.
"""

from __future__ import annotations

import hashlib
import uuid as uuid_lib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import ValidationFailed
from core.taxcode import is_personal_id, normalize_tax_code
from core.text import nfc
from merchants.models import Merchant

from . import xmlbuild
from .models import Invoice, InvoiceEvent, InvoiceLine, Series
from .totals import Line, Totals
from .types import Buyer

__all__ = ["BuyerData", "Correction", "Draft", "buyer_clean", "document_build", "rows_store"]


@dataclass(frozen=True)
class BuyerData:
    """The buyer as written on the invoice: checked, normalised; a 12-digit personal id (CCCD)
    goes to ``citizen_id``, a tax code (MST) to ``tax_code``."""

    name: str = ""
    tax_code: str = ""
    citizen_id: str = ""
    email: str = ""
    address: str = ""
    phone: str = ""


def buyer_clean(buyer: Buyer | None) -> BuyerData:
    """Check and normalise the caller's buyer; every problem is named by its field."""
    if buyer is None:
        return BuyerData()
    errors: dict[str, Any] = {}
    name = nfc(buyer.name)
    address = nfc(buyer.address)
    email = (buyer.email or "").strip()
    phone = "".join(ch for ch in (buyer.phone or "") if ch.isdigit() or ch == "+")
    tax_code = citizen_id = ""
    raw_code = (buyer.tax_code or "").strip()
    if raw_code:
        try:
            code = normalize_tax_code(raw_code)
        except DjangoValidationError as exc:
            errors["buyer.tax_code"] = exc.messages
        else:
            if len(code) == 12 and is_personal_id(code):
                citizen_id = code
            else:
                tax_code = code
    if len(name) > 400:
        errors["buyer.name"] = _("Tên người mua tối đa 400 ký tự.")
    if len(address) > 400:
        errors["buyer.address"] = _("Địa chỉ người mua tối đa 400 ký tự.")
    if email:
        try:
            validate_email(email)
        except DjangoValidationError:
            errors["buyer.email"] = _("Địa chỉ email không hợp lệ.")
        if len(email) > 50:
            errors["buyer.email"] = _("Email tối đa 50 ký tự.")
    if len(phone) > 16:
        errors["buyer.phone"] = _("Số điện thoại không hợp lệ.")
    if tax_code and not name:
        errors["buyer.name"] = _("Người mua có mã số thuế cần ghi tên đơn vị.")
    if errors:
        raise ValidationFailed(fields=errors)
    return BuyerData(name, tax_code, citizen_id, email, address, phone)


@dataclass(frozen=True)
class Correction:
    """The invoice a correction refers to, how (adjustment or replacement) and why."""

    original: Invoice
    kind: str  # Invoice.Kind.ADJUSTMENT / REPLACEMENT
    reason: str


@dataclass(frozen=True)
class Draft:
    """An invoice with its number: what both the XML document and the stored rows say."""

    merchant: Merchant
    series: Series
    year: int
    number: int
    issued_at: datetime
    sold_on: date | None
    payment_method: str
    seller_name: str
    seller_address: str
    buyer: BuyerData
    totals: Totals
    lookup_code: str
    register_code: str
    correction: Correction | None


def _xml_line(line: Line) -> xmlbuild.XmlLine:
    return xmlbuild.XmlLine(
        position=line.position,
        kind=line.kind,
        name=line.name,
        unit=line.unit,
        quantity=line.quantity,
        unit_price=line.unit_price,
        amount=line.shown_amount,
        tax_rate=line.tax_rate,
    )


def _line_row(invoice: Invoice, line: Line) -> InvoiceLine:
    return InvoiceLine(
        invoice=invoice,
        position=line.position,
        kind=line.kind,
        name=line.name,
        unit=line.unit,
        quantity=line.quantity,
        unit_price=line.unit_price,
        amount=line.shown_amount,
        tax_rate=line.tax_rate,
        tax_amount=line.tax_amount,
    )


def document_build(
    draft: Draft, *, provider_tax_code: str, qr_data: str
) -> xmlbuild.InvoiceDocument:
    """The XML document of ``draft`` (not yet serialised, validated or signed)."""
    series, merchant, party, totals = draft.series, draft.merchant, draft.buyer, draft.totals
    related = None
    if draft.correction is not None:
        original = draft.correction.original
        related = xmlbuild.XmlRelated(
            nature=draft.correction.kind,
            form=original.form,
            symbol=original.series_symbol,
            number=original.number,
            issued_on=timezone.localtime(original.issued_at).date(),
            note=draft.correction.reason,
        )
    return xmlbuild.InvoiceDocument(
        form=series.form,
        symbol=series.symbol,
        number=draft.number,
        issued_on=timezone.localtime(draft.issued_at).date(),
        payment_method=draft.payment_method,
        provider_tax_code=provider_tax_code,
        sold_on=draft.sold_on,
        seller_name=draft.seller_name,
        seller_tax_code=merchant.tax_code,
        seller_address=draft.seller_address,
        seller_phone=merchant.phone,
        buyer_name=party.name,
        buyer_tax_code=party.tax_code,
        buyer_citizen_id=party.citizen_id,
        buyer_address=party.address,
        buyer_phone=party.phone,
        buyer_email=party.email,
        lines=[_xml_line(line) for line in totals.lines],
        rate_totals=totals.rate_totals,
        total_before_tax=totals.before_tax,
        total_tax=totals.tax,
        total_discount=totals.discount,
        total_payable=totals.payable,
        amount_in_words=totals.words,
        qr_data=qr_data,
        register_code=draft.register_code,
        related=related,
    )


def rows_store(
    draft: Draft,
    *,
    uuid: uuid_lib.UUID,
    xml: str,
    signed: bool,
    source_ref: str,
    actor_label: str,
) -> Invoice:
    """Store ``draft`` with its final ``xml``: the invoice, its lines and its events (the
    original's too, for a correction), one INSERT each. Runs inside the issuing transaction."""
    series, merchant, party, totals = draft.series, draft.merchant, draft.buyer, draft.totals
    correction = draft.correction
    invoice = Invoice.objects.create(
        merchant=merchant,
        series=series,
        year=draft.year,
        number=draft.number,
        uuid=uuid,
        form=series.form,
        series_symbol=series.symbol,
        register_code=draft.register_code,
        is_cash_register=series.is_cash_register,
        kind=correction.kind if correction else Invoice.Kind.ORIGINAL,
        related=correction.original if correction else None,
        correction_reason=correction.reason if correction else "",
        issued_at=draft.issued_at,
        sold_on=draft.sold_on,
        seller_name=draft.seller_name,
        seller_tax_code=merchant.tax_code,
        seller_address=draft.seller_address,
        seller_phone=merchant.phone,
        buyer_name=party.name,
        buyer_tax_code=party.tax_code,
        buyer_citizen_id=party.citizen_id,
        buyer_email=party.email,
        buyer_address=party.address,
        buyer_phone=party.phone,
        total_before_tax=totals.before_tax,
        total_tax=totals.tax,
        total_payable=totals.payable,
        amount_in_words=totals.words,
        payment_method=draft.payment_method,
        xml=xml,
        xml_sha256=hashlib.sha256(xml.encode("utf-8")).hexdigest(),
        is_signed=signed,
        lookup_code=draft.lookup_code,
        source_ref=source_ref,
    )
    InvoiceLine.objects.bulk_create([_line_row(invoice, line) for line in totals.lines])
    events = [
        InvoiceEvent(
            invoice=invoice,
            kind=InvoiceEvent.Kind.ISSUED,
            actor_label=actor_label[:80],
            payload={
                "number": draft.number,
                "symbol": f"{series.form}{series.symbol}",
                "total_payable": totals.payable,
                "signed": signed,
            },
        )
    ]
    if correction is not None:
        events.append(
            InvoiceEvent(
                invoice=correction.original,
                kind=(
                    InvoiceEvent.Kind.REPLACED
                    if correction.kind == Invoice.Kind.REPLACEMENT
                    else InvoiceEvent.Kind.ADJUSTED
                ),
                actor_label=actor_label[:80],
                payload={
                    "by_invoice": invoice.pk,
                    "by_number": draft.number,
                    "reason": correction.reason,
                },
            )
        )
    InvoiceEvent.objects.bulk_create(events)  # one INSERT
    return invoice
