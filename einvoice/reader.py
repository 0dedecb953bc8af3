"""Reading GDT e-invoice XML as real providers write it (hóa đơn điện tử đầu vào).

``read(data)`` takes the bytes of one invoice (``HDon``) or of one T-VAN message (``TDiep``:
``TTChung`` header + ``DLieu`` holding invoices, message types 200 sent for a code, 202 coded
invoice returned, 203 uncoded data, 204 data-check result) and returns what it says, as plain
dataclasses, with every rule it breaks as a :class:`Finding`.

Two layers:

1. The reading schema ``schema/hdon_read.xsd``: element names and value types, in any order (real
   files differ), with the extension blocks (``TTKhac``) the format allows. Our writer keeps its
   own strict ``schema/hdon.xsd``.
2. Rules (``reader_rules``): required elements, tax codes (MST) with their check digit, form and
   symbol consistency, number ranges, dates, authority codes (MCCQT), and totals that add up.
   Money is compared with a tolerance below one unit (1 đồng for VND), since providers round
   differently: 348655 against 348655.2 is not a finding.

Safe parsing and reading one value at a time are in ``reader_xml``; the dataclasses returned
(and :class:`Finding`) in ``reader_types``, re-exported here.

A file that is not XML, or XML that is neither ``HDon`` nor ``TDiep``, raises :class:`Unreadable`.
Parsing never resolves entities, loads a DTD or touches the network. Text is NFC-normalised.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from . import reader_rules
from .reader_types import (
    Envelope,
    Finding,
    Line,
    Party,
    RateTotal,
    ReadInvoice,
    ReadResult,
    Related,
    Signatures,
    Totals,
    Unreadable,
)
from .reader_xml import (
    MAX_BYTES,
    Block,
    date_of,
    localname,
    parse_document,
    path_of,
    read_schema,
    text_of,
)

__all__ = [
    "MAX_BYTES",
    "Envelope",
    "Finding",
    "Line",
    "Party",
    "RateTotal",
    "ReadInvoice",
    "ReadResult",
    "Related",
    "Signatures",
    "Totals",
    "Unreadable",
    "localname",
    "parse_document",
    "read",
    "read_invoice",
]


def _party(block: Block) -> Party:
    t = block.text
    return Party(
        name=t("Ten"),
        tax_code=t("MST"),
        address=t("DChi"),
        phone=t("SDThoai"),
        email=t("DCTDTu"),
        bank_account=t("STKNHang"),
        bank_name=t("TNHang"),
        fax=t("Fax"),
        website=t("Website"),
        store_code=t("MCHang"),
        store_name=t("TCHang"),
        buyer_person=t("HVTNMHang"),
        customer_code=t("MKHang"),
        budget_unit_code=t("MDVQHNSach"),
        citizen_id=t("CCCDan"),
        passport=t("SHChieu"),
        extra=block.extra(),
    )


def _line(element: Any, findings: list[Finding]) -> Line:
    b = Block(element, findings)
    return Line(
        nature=b.text("TChat") or "1",
        position=b.text("STT"),
        code=b.text("MHHDVu"),
        name=b.text("THHDVu"),
        unit=b.text("DVTinh"),
        quantity=b.decimal("SLuong"),
        unit_price=b.decimal("DGia"),
        discount_rate=b.decimal("TLCKhau"),
        discount_amount=b.decimal("STCKhau"),
        amount=b.decimal("ThTien"),
        tax_rate=b.text("TSuat"),
        tax=b.decimal("TThue"),
        where=b.where,
        extra=b.extra(),
    )


def _totals(block: Block) -> Totals:
    rates: list[RateTotal] = []
    for group in block.all("THTTLTSuat"):
        for entry in group:
            if localname(entry) != "LTSuat":
                continue
            rate = Block(entry, block.findings)
            rates.append(
                RateTotal(
                    tax_rate=rate.text("TSuat"),
                    amount=rate.decimal("ThTien"),
                    tax=rate.decimal("TThue"),
                    where=rate.where,
                )
            )
    fees = Decimal(0)
    for group in block.all("DSLPhi"):
        for fee in group:
            if localname(fee) == "LPhi":
                fees += Block(fee, block.findings).decimal("TPhi") or Decimal(0)
    return Totals(
        by_rate=rates,
        before_tax=block.decimal("TgTCThue"),
        tax=block.decimal("TgTThue"),
        discount=block.decimal("TTCKTMai"),
        fees=fees,
        untaxed_deductions=block.decimal("TGTKCThue"),
        other_deductions=block.decimal("TGTKhac"),
        payable=block.decimal("TgTTTBSo"),
        in_words=block.text("TgTTTBChu"),
        extra=block.extra(),
    )


def _signatures(block: Block) -> Signatures:
    def signed(slot: Any) -> int:
        return sum(1 for el in slot.iter() if localname(el) == "Signature")

    return Signatures(
        seller=any(signed(s) for s in block.all("NBan")),
        buyer=any(signed(s) for s in block.all("NMua")),
        authority=any(signed(s) for s in block.all("CQT")),
        other=sum(signed(s) for s in block.all("CCKSKhac")),
    )


_GENERAL_READ = {
    "PBan",
    "THDon",
    "KHMSHDon",
    "KHHDon",
    "SHDon",
    "NLap",
    "DVTTe",
    "TGia",
    "HTTToan",
    "MSTTCGP",
    "TTHDLQuan",
    "TTKhac",
}


def read_invoice(hdon: Any, *, today: date | None = None) -> ReadInvoice:
    """One ``HDon``, with the findings of every rule (schema findings are the caller's)."""
    findings: list[Finding] = []
    invoice = ReadInvoice(where=path_of(hdon), findings=findings)
    top = Block(hdon, findings)
    data = Block(top.one("DLHDon"), findings)
    general = Block(data.one("TTChung"), findings)
    content = Block(data.one("NDHDon"), findings)

    invoice.version = general.text("PBan")
    invoice.title = general.text("THDon")
    invoice.form = general.text("KHMSHDon")
    invoice.symbol = general.text("KHHDon")
    invoice.number_text = general.text("SHDon")
    invoice.issued_on = date_of(general.one("NLap"))
    invoice.currency = general.text("DVTTe")
    invoice.exchange_rate = general.decimal("TGia")
    invoice.payment_method = general.text("HTTToan")
    invoice.provider_tax_code = general.text("MSTTCGP")
    invoice.general = {
        name: text_of(elements[0])
        for name, elements in general.children.items()
        if name not in _GENERAL_READ and len(elements[0]) == 0
    }
    invoice.extra = {**general.extra(), **data.extra(), **content.extra()}
    related = general.one("TTHDLQuan")
    if related is not None:
        r = Block(related, findings)
        invoice.related = Related(
            nature=r.text("TCHDon"),
            kind=r.text("LHDCLQuan"),
            form=r.text("KHMSHDCLQuan"),
            symbol=r.text("KHHDCLQuan"),
            number=r.text("SHDCLQuan"),
            issued_on=date_of(r.one("NLHDCLQuan")),
            note=r.text("GChu"),
        )
    invoice.seller = _party(Block(content.one("NBan"), findings))
    invoice.buyer = _party(Block(content.one("NMua"), findings))
    for items in content.all("DSHHDVu"):
        invoice.lines.extend(_line(el, findings) for el in items if localname(el) == "HHDVu")
    totals = content.one("TToan")
    invoice.totals = _totals(Block(totals, findings)) if totals is not None else None
    code = top.one("MCCQT")
    invoice.authority_code = text_of(code)
    invoice.authority_code_id = code.get("Id", "") if code is not None else ""
    invoice.qr_data = top.text("DLQRCode")
    signatures = top.one("DSCKS")
    if signatures is not None:
        invoice.signatures = _signatures(Block(signatures, []))

    reader_rules.check_invoice(
        invoice,
        blocks={"HDon": top, "DLHDon": data, "TTChung": general, "NDHDon": content},
        today=today,
    )
    return invoice


def read(data: bytes | str, *, today: date | None = None) -> ReadResult:
    """Read one ``HDon`` or ``TDiep``; :class:`Unreadable` when it is neither."""
    root = parse_document(data)
    xsd = read_schema()
    findings: list[Finding] = []
    if not xsd.validate(root):
        for entry in xsd.error_log:  # type: ignore[attr-defined]
            findings.append(
                Finding(
                    "schema",
                    f"Sai cấu trúc theo lược đồ: {entry.message}",
                    f"Does not match the schema: {entry.message}",
                    (entry.path or "").lstrip("/"),
                    entry.line,
                )
            )
    if localname(root) == "HDon":
        invoice = read_invoice(root, today=today)
        return ReadResult("invoice", None, [invoice], findings + invoice.findings)

    header = Block(Block(root, findings).one("TTChung"), findings)
    envelope = Envelope(
        version=header.text("PBan"),
        sender=header.text("MNGui"),
        receiver=header.text("MNNhan"),
        message_type=header.text("MLTDiep"),
        message_id=header.text("MTDiep"),
        reply_to=header.text("MTDTChieu"),
        tax_code=header.text("MST"),
        count=header.text("SLuong"),
    )
    invoices = [
        read_invoice(el, today=today)
        for block in root
        if localname(block) == "DLieu"
        for el in block
        if localname(el) == "HDon"
    ]
    findings.extend(reader_rules.check_envelope(envelope, invoices, header))
    for invoice in invoices:
        findings.extend(invoice.findings)
    return ReadResult("message", envelope, invoices, findings)
