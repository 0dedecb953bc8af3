"""The invoice XML (hóa đơn điện tử) in the GDT tree, format version 2.1.0.

Pure functions: an :class:`InvoiceDocument` in, an lxml element out, always the same bytes for the
same document. The tree and tag names follow shared/reference/einvoice.md §3; the project's XSD
(``schema/hdon.xsd``) describes exactly what is written here.

Tag names are the GDT's Vietnamese abbreviations, e.g. ``TTChung`` (thông tin chung, general
information), ``NDHDon`` (nội dung hóa đơn), ``NBan``/``NMua`` (seller/buyer), ``HHDVu`` (one
line), ``TToan`` (totals), ``DSCKS`` (signatures).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

from lxml import etree

FORMAT_VERSION = "2.1.0"
DATA_ID = "data"  # the Id of DLHDon, referenced by the signature
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "hdon.xsd"

TITLES = {"1": "HÓA ĐƠN GIÁ TRỊ GIA TĂNG", "2": "HÓA ĐƠN BÁN HÀNG"}
# XML TChat: 1 goods/service, 3 trade discount, 4 note.
LINE_NATURE = {"goods": "1", "discount": "3", "note": "4"}
# TTHDLQuan/TCHDon: 1 replacement, 2 adjustment.
CORRECTION_NATURE = {"replacement": "1", "adjustment": "2"}


@dataclass(frozen=True)
class XmlLine:
    position: int
    kind: str
    name: str
    unit: str
    quantity: Decimal | None
    unit_price: int | None
    amount: int
    tax_rate: str


@dataclass(frozen=True)
class XmlRateTotal:
    tax_rate: str
    amount: int
    tax: int


@dataclass(frozen=True)
class XmlRelated:
    """The invoice a correction refers to (TTHDLQuan)."""

    nature: str  # "replacement" or "adjustment"
    form: str
    symbol: str
    number: int
    issued_on: date
    note: str


@dataclass(frozen=True)
class InvoiceDocument:
    form: str
    symbol: str
    number: int
    issued_on: date
    payment_method: str
    provider_tax_code: str
    seller_name: str
    seller_tax_code: str
    seller_address: str
    seller_phone: str
    buyer_name: str
    buyer_tax_code: str
    buyer_citizen_id: str
    buyer_address: str
    buyer_phone: str
    buyer_email: str
    lines: list[XmlLine]
    rate_totals: list[XmlRateTotal]
    total_before_tax: int
    total_tax: int
    total_discount: int
    total_payable: int
    amount_in_words: str
    qr_data: str
    register_code: str = ""
    related: XmlRelated | None = None
    sold_on: date | None = None  # the sale's day when the invoice is issued later
    currency: str = "VND"
    extra: dict[str, str] = field(default_factory=dict)


def _sub(parent: etree._Element, tag: str, text: str | int | None = None) -> etree._Element:
    el = etree.SubElement(parent, tag)
    if text is not None:
        el.text = str(text)
    return el


def _opt(parent: etree._Element, tag: str, text: str) -> None:
    if text:
        _sub(parent, tag, text)


def format_quantity(quantity: Decimal) -> str:
    """0.3500 -> "0.35", 2.0000 -> "2", 100 -> "100" (never an exponent)."""
    text = format(quantity.normalize(), "f")
    return text


def build_xml(doc: InvoiceDocument) -> etree._Element:
    """The unsigned invoice; ``DSCKS/NBan`` is left empty for the signature."""
    root = etree.Element("HDon")
    data = _sub(root, "DLHDon")
    data.set("Id", DATA_ID)

    general = _sub(data, "TTChung")
    _sub(general, "PBan", FORMAT_VERSION)
    _sub(general, "THDon", TITLES[doc.form])
    _sub(general, "KHMSHDon", doc.form)
    _sub(general, "KHHDon", doc.symbol)
    _sub(general, "SHDon", doc.number)
    _sub(general, "NLap", doc.issued_on.isoformat())
    _sub(general, "DVTTe", doc.currency)
    _sub(general, "TGia", "1")
    _sub(general, "HTTToan", doc.payment_method)
    _opt(general, "MSTTCGP", doc.provider_tax_code)
    if doc.related is not None:
        rel = _sub(general, "TTHDLQuan")
        _sub(rel, "TCHDon", CORRECTION_NATURE[doc.related.nature])
        _sub(rel, "LHDCLQuan", "1")  # 1: an e-invoice under Decree 123
        _sub(rel, "KHMSHDCLQuan", doc.related.form)
        _sub(rel, "KHHDCLQuan", doc.related.symbol)
        _sub(rel, "SHDCLQuan", doc.related.number)
        _sub(rel, "NLHDCLQuan", doc.related.issued_on.isoformat())
        _opt(rel, "GChu", doc.related.note)
    if doc.sold_on is not None:
        # A late invoice is dated the day it is issued; the sale's day goes here (TTKhac/TTin:
        # field name, data type, value) and on the PDF as "Ngày bán".
        other = _sub(general, "TTKhac")
        field_ = _sub(other, "TTin")
        _sub(field_, "TTruong", "NgayBan")
        _sub(field_, "KDLieu", "date")
        _sub(field_, "DLieu", doc.sold_on.isoformat())

    content = _sub(data, "NDHDon")
    seller = _sub(content, "NBan")
    _sub(seller, "Ten", doc.seller_name)
    _sub(seller, "MST", doc.seller_tax_code)
    _sub(seller, "DChi", doc.seller_address)
    _opt(seller, "SDThoai", doc.seller_phone)

    buyer = _sub(content, "NMua")
    _opt(buyer, "Ten", doc.buyer_name)
    _opt(buyer, "MST", doc.buyer_tax_code)
    _opt(buyer, "CCCDan", doc.buyer_citizen_id)
    _opt(buyer, "DChi", doc.buyer_address)
    _opt(buyer, "SDThoai", doc.buyer_phone)
    _opt(buyer, "DCTDTu", doc.buyer_email)

    with_rates = doc.form == "1"
    items = _sub(content, "DSHHDVu")
    for line in doc.lines:
        item = _sub(items, "HHDVu")
        _sub(item, "TChat", LINE_NATURE[line.kind])
        _sub(item, "STT", line.position)
        _sub(item, "THHDVu", line.name)
        if line.kind == "note":
            _sub(item, "ThTien", 0)  # as real invoices write it
            continue
        _opt(item, "DVTinh", line.unit)
        if line.quantity is not None:
            _sub(item, "SLuong", format_quantity(line.quantity))
        if line.unit_price is not None:
            _sub(item, "DGia", line.unit_price)
        _sub(item, "ThTien", line.amount)
        if with_rates:
            _sub(item, "TSuat", line.tax_rate)

    totals = _sub(content, "TToan")
    if with_rates:
        by_rate = _sub(totals, "THTTLTSuat")
        for rate in doc.rate_totals:
            row = _sub(by_rate, "LTSuat")
            _sub(row, "TSuat", rate.tax_rate)
            _sub(row, "ThTien", rate.amount)
            _sub(row, "TThue", rate.tax)
    _sub(totals, "TgTCThue", doc.total_before_tax)
    if with_rates:
        _sub(totals, "TgTThue", doc.total_tax)
    if doc.total_discount:
        _sub(totals, "TTCKTMai", doc.total_discount)
    _sub(totals, "TgTTTBSo", doc.total_payable)
    _sub(totals, "TgTTTBChu", doc.amount_in_words)

    _opt(root, "DLQRCode", doc.qr_data)
    _sub(root, "MCCQT", doc.register_code)
    signatures = _sub(root, "DSCKS")
    _sub(signatures, "NBan")
    _sub(signatures, "NMua")
    _sub(signatures, "CQT")
    _sub(signatures, "CCKSKhac")
    return root


def serialize(root: etree._Element) -> str:
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True).decode("utf-8")


_local = threading.local()


def schema() -> etree.XMLSchema:
    """The parsed XSD, one per thread (an lxml XMLSchema keeps its error log per object)."""
    xsd = getattr(_local, "schema", None)
    if xsd is None:
        xsd = _local.schema = etree.XMLSchema(etree.parse(str(SCHEMA_PATH)))
    return xsd


def schema_errors(root: etree._Element) -> list[str]:
    """Messages of every XSD violation; empty when the invoice is valid."""
    xsd = schema()
    if xsd.validate(root):
        return []
    return [f"line {e.line}: {e.message}" for e in xsd.error_log]  # type: ignore[attr-defined]
