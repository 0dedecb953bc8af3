"""Purchases (hóa đơn đầu vào): invoices a merchant received from suppliers, imported from their
XML, the input side of the household's books.

``purchase_import`` reads one file (one ``HDon``, or a ``TDiep`` message holding several) with
``einvoice.reader`` and files each invoice once per (merchant, seller tax code, form, symbol,
number): a second upload of the same invoice changes nothing and is reported as already there.
Rule findings do not stop an import (the trader should see them next to the invoice); a file that
is not a GDT invoice, or an invoice without the identity it is filed under, is refused.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from lxml import etree

from core.audit import audit_record
from core.errors import ApplicationError, ValidationFailed
from merchants.models import Merchant

from . import reader
from .models import PurchaseInvoice

MAX_PURCHASE_BYTES = reader.MAX_BYTES  # 2 MB: a real invoice is a few kB
# Amounts above this many đồng are not an invoice a market stall receives (and stay far inside
# a BigIntegerField after conversion).
MAX_VND = 10**15


class UnreadableInvoice(ApplicationError):
    status = 400
    code = "unreadable_invoice"
    default_message = _("Tệp không phải hóa đơn điện tử XML của Tổng cục Thuế.")


class FileTooLarge(ApplicationError):
    status = 413
    code = "file_too_large"
    default_message = _("Tệp quá lớn: tối đa 2 MB.")


@dataclass
class ImportOutcome:
    created: list[PurchaseInvoice] = field(default_factory=list)
    existing: list[PurchaseInvoice] = field(default_factory=list)

    @property
    def invoices(self) -> list[PurchaseInvoice]:
        return self.created + self.existing


def _in_language(vi: str, en: str) -> str:
    return en if (get_language() or "vi").startswith("en") else vi


def _vnd(amount: Decimal, rate: Decimal) -> int:
    return int((amount * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _fits(value: Decimal) -> bool:
    """Storable as written: below 10^15 with at most 6 decimals (the format's 21,6 has room for
    more digits than any market invoice needs)."""
    exponent = value.as_tuple().exponent
    return isinstance(exponent, int) and exponent >= -6 and abs(value) < MAX_VND


def _identity_problems(invoice: reader.ReadInvoice) -> list[str]:
    """What an invoice lacks to be filed (its findings may say more)."""
    missing = []
    if not invoice.seller.tax_code or len(invoice.seller.tax_code) > 14:
        missing.append("NBan/MST")
    if len(invoice.form) != 1:
        missing.append("KHMSHDon")
    if not invoice.symbol or len(invoice.symbol) > 6:
        missing.append("KHHDon")
    if invoice.number is None or invoice.number < 1:
        missing.append("SHDon")
    if invoice.issued_on is None:
        missing.append("NLap")
    if invoice.totals is None or invoice.totals.payable is None:
        missing.append("TgTTTBSo")
    if not invoice.is_vnd and (invoice.exchange_rate is None or invoice.exchange_rate <= 0):
        missing.append("TGia")
    return missing


def _row(
    *, merchant: Merchant, invoice: reader.ReadInvoice, xml: str, findings: list[dict[str, Any]]
) -> dict[str, Any]:
    totals = invoice.totals
    assert totals is not None and totals.payable is not None and invoice.number is not None
    before_tax = totals.before_tax
    if before_tax is None:  # a sales invoice (form 2): the lines, fees and tax are the payable
        before_tax = totals.payable - (totals.tax or Decimal(0))
    tax = totals.tax or Decimal(0)
    rate = Decimal(1) if invoice.is_vnd else invoice.exchange_rate or Decimal(1)
    if not all(_fits(v) for v in (before_tax, tax, totals.payable, rate)):
        raise ValidationFailed(
            _in_language(
                "Số tiền hoặc tỷ giá trên hóa đơn quá lớn hoặc quá nhiều chữ số thập phân.",
                "An amount or the exchange rate is too large or has too many decimals.",
            ),
            fields={"file": ["TToan/TGia"]},
        )
    vnd = {
        "total_before_tax": _vnd(before_tax, rate),
        "total_tax": _vnd(tax, rate),
        "total_payable": _vnd(totals.payable, rate),
    }
    if any(abs(v) > MAX_VND for v in vnd.values()):
        raise ValidationFailed(
            _("Số tiền trên hóa đơn quá lớn."), fields={"file": [_("Số tiền quá lớn.")]}
        )
    return {
        "merchant": merchant,
        "seller_tax_code": invoice.seller.tax_code,
        "seller_name": invoice.seller.name[:400],
        "buyer_tax_code": invoice.buyer.tax_code[:14],
        "buyer_name": invoice.buyer.name[:400],
        "form": invoice.form,
        "symbol": invoice.symbol,
        "number": invoice.number,
        "issued_on": invoice.issued_on,
        "kind": invoice.related.nature_label if invoice.related else "original",
        "authority_code": invoice.authority_code[:34],
        "currency": (invoice.currency or "VND")[:3],
        "exchange_rate": None if invoice.is_vnd else invoice.exchange_rate,
        **vnd,
        "original_before_tax": before_tax,
        "original_tax": tax,
        "original_payable": totals.payable,
        "lines_count": len(invoice.lines),
        "findings": findings,
        "xml": xml,
        "xml_sha256": hashlib.sha256(xml.encode("utf-8")).hexdigest(),
    }


def _file_text(data: bytes) -> str:
    """One uploaded invoice as text: the file as it came when UTF-8, else re-serialised."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return etree.tostring(reader.parse_document(data), encoding="unicode")


def purchase_import(
    *, merchant: Merchant, data: bytes, actor: Any = None, actor_label: str = ""
) -> ImportOutcome:
    """File every invoice of one uploaded XML for ``merchant``; each at most once."""
    if len(data) > MAX_PURCHASE_BYTES:
        raise FileTooLarge()
    try:
        result = reader.read(data)
    except reader.Unreadable as error:
        raise UnreadableInvoice(
            _in_language(error.message_vi, error.message_en), fields={"file": [error.message_vi]}
        ) from None
    if not result.invoices:
        raise UnreadableInvoice(
            _in_language(
                "Thông điệp không chứa hóa đơn nào (DLieu/HDon).",
                "The message holds no invoice (DLieu/HDon).",
            )
        )
    # Findings of the message itself (schema, envelope) go with each of its invoices.
    own = {id(f) for inv in result.invoices for f in inv.findings}
    shared = [f.as_dict() for f in result.findings if id(f) not in own]
    # A message's invoices are stored one by one, each as its own HDon element.
    hdons = _invoice_elements(data) if result.kind == "message" else []
    planned = []
    for index, invoice in enumerate(result.invoices):
        missing = _identity_problems(invoice)
        if missing:
            listed = ", ".join(missing)
            raise ValidationFailed(
                _in_language(
                    f"Không lưu được hóa đơn: thiếu hoặc sai {listed}.",
                    f"The invoice cannot be filed: {listed} missing or wrong.",
                ),
                fields={"file": [listed]},
            )
        xml = (
            _file_text(data)
            if result.kind == "invoice"
            else etree.tostring(hdons[index], encoding="unicode")
        )
        findings = shared + [f.as_dict() for f in invoice.findings]
        planned.append(_row(merchant=merchant, invoice=invoice, xml=xml, findings=findings))

    outcome = ImportOutcome()
    for row in planned:
        key = {k: row[k] for k in ("merchant", "seller_tax_code", "form", "symbol", "number")}
        existing = PurchaseInvoice.objects.filter(**key).first()
        if existing is not None:
            outcome.existing.append(existing)
            continue
        try:
            with transaction.atomic(durable=True):
                purchase = PurchaseInvoice.objects.create(**row, uploaded_by=_user(actor))
                audit_record(
                    actor=actor,
                    actor_label=actor_label,
                    action="einvoice.purchase_import",
                    target=purchase,
                    data={"findings": len(row["findings"]), "sha256": row["xml_sha256"]},
                )
        except IntegrityError:  # the same invoice, filed by a concurrent upload
            outcome.existing.append(PurchaseInvoice.objects.get(**key))
            continue
        outcome.created.append(purchase)
    return outcome


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def _invoice_elements(data: bytes) -> list[Any]:
    root = reader.parse_document(data)
    return [
        el
        for block in root
        if reader.localname(block) == "DLieu"
        for el in block
        if reader.localname(el) == "HDon"
    ]
