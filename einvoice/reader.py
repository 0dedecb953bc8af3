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

A file that is not XML, or XML that is neither ``HDon`` nor ``TDiep``, raises :class:`Unreadable`.
Parsing never resolves entities, loads a DTD or touches the network. Text is NFC-normalised.
"""

from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lxml import etree

READ_SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "hdon_read.xsd"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
MAX_BYTES = 2 * 1024 * 1024


class Unreadable(Exception):
    """Not XML, or not a GDT invoice or message. Carries the reason in both languages."""

    def __init__(self, message_vi: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_vi = message_vi
        self.message_en = message_en


@dataclass(frozen=True)
class Finding:
    """One broken rule: a stable code, the message in Vietnamese and English, and where."""

    code: str
    message_vi: str
    message_en: str
    where: str = ""
    line: int | None = None

    def message(self, language: str = "vi") -> str:
        return self.message_en if language.startswith("en") else self.message_vi

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message_vi": self.message_vi,
            "message_en": self.message_en,
            "where": self.where,
            "line": self.line,
        }


@dataclass(frozen=True)
class Party:
    """NBan (seller, người bán) or NMua (buyer, người mua)."""

    name: str = ""
    tax_code: str = ""
    address: str = ""
    phone: str = ""
    email: str = ""
    bank_account: str = ""
    bank_name: str = ""
    fax: str = ""
    website: str = ""
    store_code: str = ""  # MCHang
    store_name: str = ""  # TCHang
    buyer_person: str = ""  # HVTNMHang: the person who bought
    customer_code: str = ""  # MKHang
    budget_unit_code: str = ""  # MDVQHNSach: state-budget relation code
    citizen_id: str = ""  # CCCDan
    passport: str = ""  # SHChieu
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Line:
    """HHDVu. ``nature`` (TChat): 1 goods/service, 2 promotion, 3 trade discount, 4 note,
    5 special goods."""

    nature: str
    position: str
    code: str
    name: str
    unit: str
    quantity: Decimal | None
    unit_price: Decimal | None
    discount_rate: Decimal | None
    discount_amount: Decimal | None
    amount: Decimal | None
    tax_rate: str
    tax: Decimal | None
    where: str
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def signed_amount(self) -> Decimal:
        """What the line adds to its tax-rate group: discounts subtract (written positive or
        negative), promotions and notes add nothing."""
        if self.amount is None or self.nature in ("2", "4"):
            return Decimal(0)
        return -abs(self.amount) if self.nature == "3" else self.amount


@dataclass(frozen=True)
class RateTotal:
    tax_rate: str
    amount: Decimal | None
    tax: Decimal | None
    where: str


@dataclass(frozen=True)
class Totals:
    """TToan."""

    by_rate: list[RateTotal]
    before_tax: Decimal | None  # TgTCThue
    tax: Decimal | None  # TgTThue
    discount: Decimal | None  # TTCKTMai
    fees: Decimal  # Σ DSLPhi/LPhi/TPhi
    untaxed_deductions: Decimal | None  # TGTKCThue
    other_deductions: Decimal | None  # TGTKhac
    payable: Decimal | None  # TgTTTBSo
    in_words: str  # TgTTTBChu
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Related:
    """TTHDLQuan: the invoice this one replaces (TCHDon 1) or adjusts (TCHDon 2)."""

    nature: str
    kind: str  # LHDCLQuan: 1 e-invoice (Decree 123), 2 coded under Decree 51, 3 other, 4 paper
    form: str
    symbol: str
    number: str
    issued_on: date | None
    note: str

    @property
    def nature_label(self) -> str:
        return {"1": "replacement", "2": "adjustment"}.get(self.nature, "")


@dataclass(frozen=True)
class Signatures:
    """Which slots of DSCKS hold an XMLDSig signature (presence only, not verified)."""

    seller: bool = False
    buyer: bool = False
    authority: bool = False
    other: int = 0

    def names(self) -> list[str]:
        found = [n for n, on in (("NBan", self.seller), ("NMua", self.buyer)) if on]
        if self.authority:
            found.append("CQT")
        if self.other:
            found.append(f"CCKSKhac×{self.other}")
        return found


@dataclass
class ReadInvoice:
    where: str
    version: str = ""
    title: str = ""
    form: str = ""
    symbol: str = ""
    number_text: str = ""
    issued_on: date | None = None
    currency: str = ""
    exchange_rate: Decimal | None = None
    payment_method: str = ""
    provider_tax_code: str = ""
    related: Related | None = None
    seller: Party = field(default_factory=Party)
    buyer: Party = field(default_factory=Party)
    lines: list[Line] = field(default_factory=list)
    totals: Totals | None = None
    authority_code: str = ""
    authority_code_id: str = ""
    qr_data: str = ""
    signatures: Signatures = field(default_factory=Signatures)
    general: dict[str, str] = field(default_factory=dict)  # other TTChung fields, by tag
    extra: dict[str, str] = field(default_factory=dict)  # TTKhac of TTChung and NDHDon
    findings: list[Finding] = field(default_factory=list)

    @property
    def number(self) -> int | None:
        text = self.number_text
        return int(text) if text.isascii() and text.isdigit() and len(text) <= 8 else None

    @property
    def is_vnd(self) -> bool:
        return self.currency in ("", "VND")

    @property
    def full_symbol(self) -> str:
        return f"{self.form}{self.symbol}"

    def summary(self) -> dict[str, Any]:
        totals = self.totals
        return {
            "form": self.form,
            "symbol": self.symbol,
            "number": self.number_text,
            "issued_on": self.issued_on.isoformat() if self.issued_on else None,
            "kind": self.related.nature_label if self.related else "original",
            "currency": self.currency or "VND",
            "exchange_rate": _num(self.exchange_rate),
            "seller": {"name": self.seller.name, "tax_code": self.seller.tax_code},
            "buyer": {"name": self.buyer.name, "tax_code": self.buyer.tax_code},
            "lines": len(self.lines),
            "total_before_tax": _num(totals.before_tax) if totals else None,
            "total_tax": _num(totals.tax) if totals else None,
            "total_payable": _num(totals.payable) if totals else None,
            "authority_code": self.authority_code,
            "signatures": self.signatures.names(),
            "findings": [f.as_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class Envelope:
    """TDiep/TTChung: who sent the message to whom, its type (MLTDiep) and id (MTDiep)."""

    version: str
    sender: str
    receiver: str
    message_type: str
    message_id: str
    reply_to: str
    tax_code: str
    count: str


@dataclass
class ReadResult:
    kind: str  # "invoice" or "message"
    envelope: Envelope | None
    invoices: list[ReadInvoice]
    findings: list[Finding]  # everything: schema, envelope and every invoice's

    def summary(self) -> dict[str, Any]:
        envelope = self.envelope
        return {
            "kind": self.kind,
            "message": None
            if envelope is None
            else {
                "type": envelope.message_type,
                "id": envelope.message_id,
                "sender": envelope.sender,
                "receiver": envelope.receiver,
                "tax_code": envelope.tax_code,
                "count": envelope.count,
            },
            "invoices": [inv.summary() for inv in self.invoices],
            "findings": [f.as_dict() for f in self.findings],
        }


def _num(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


# --------------------------------------------------------------------------- parsing


def _parser() -> etree.XMLParser:
    # Outside input: no entities, no DTD, no network, no huge trees.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


_local = threading.local()


def read_schema() -> etree.XMLSchema:
    """The reading XSD, one per thread (an XMLSchema keeps its error log per object)."""
    xsd = getattr(_local, "schema", None)
    if xsd is None:
        xsd = _local.schema = etree.XMLSchema(etree.parse(str(READ_SCHEMA_PATH)))
    return xsd


def localname(element: Any) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def parse_document(data: bytes | str) -> etree._Element:
    """The root element, namespaces dropped outside signatures; :class:`Unreadable` otherwise."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > MAX_BYTES:
        raise Unreadable(
            f"Tệp quá lớn (trên {MAX_BYTES // (1024 * 1024)} MB).",
            f"The file is too large (over {MAX_BYTES // (1024 * 1024)} MB).",
        )
    if not data.strip():
        raise Unreadable("Tệp rỗng.", "The file is empty.")
    try:
        root = etree.fromstring(data, _parser())
    except (etree.XMLSyntaxError, ValueError) as error:
        detail = getattr(error, "msg", None) or str(error)  # lxml's message without "(<string>)"
        raise Unreadable(
            f"Không phải tệp XML hợp lệ: {detail}", f"Not a well-formed XML file: {detail}"
        ) from None
    if root is None or localname(root) not in ("HDon", "TDiep"):
        name = localname(root) if root is not None else ""
        raise Unreadable(
            f"Không phải hóa đơn điện tử (HDon) hay thông điệp (TDiep) của Tổng cục Thuế: "
            f"phần tử gốc là <{name}>.",
            f"Not a GDT e-invoice (HDon) or message (TDiep): the root element is <{name}>.",
        )
    if root.getroottree().docinfo.doctype:
        raise Unreadable(
            "Tệp có khai báo DOCTYPE; hóa đơn điện tử không dùng DOCTYPE.",
            "The file declares a DOCTYPE; e-invoices do not use one.",
        )
    _drop_namespaces(root)
    return root


def _drop_namespaces(root: etree._Element) -> None:
    """A provider that puts the invoice in a default namespace: read it by local names. The
    XMLDSig signatures keep theirs."""
    if not any(
        isinstance(el.tag, str) and el.tag.startswith("{") and not el.tag.startswith(f"{{{DS_NS}}}")
        for el in root.iter()
    ):
        return
    for el in root.iter():
        if (
            isinstance(el.tag, str)
            and el.tag.startswith("{")
            and not el.tag.startswith(f"{{{DS_NS}}}")
        ):
            el.tag = etree.QName(el).localname
    etree.cleanup_namespaces(root)


def text_of(element: Any) -> str:
    if element is None or element.text is None:
        return ""
    return unicodedata.normalize("NFC", element.text.strip())


def decimal_of(element: Any) -> Decimal | None:
    text = text_of(element)
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None  # the schema already reported it
    return value if value.is_finite() else None


def date_of(element: Any) -> date | None:
    try:
        return date.fromisoformat(text_of(element)[:10])
    except ValueError:
        return None


def path_of(element: Any) -> str:
    """HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[3]: a short path, with positions among namesakes."""
    parts: list[str] = []
    while element is not None:
        name = localname(element)
        parent = element.getparent()
        if parent is not None:
            same = [c for c in parent if localname(c) == name]
            if len(same) > 1:
                name = f"{name}[{same.index(element) + 1}]"
        parts.append(name)
        element = parent
    return "/".join(reversed(parts))


class Block:
    """The children of one element by local name; the rules ask it for one value at a time."""

    def __init__(self, element: Any, findings: list[Finding]) -> None:
        self.element = element
        self.findings = findings
        self.children: dict[str, list[Any]] = {}
        if element is not None:
            for child in element:
                self.children.setdefault(localname(child), []).append(child)

    @property
    def where(self) -> str:
        return path_of(self.element) if self.element is not None else ""

    def one(self, name: str) -> Any:
        found = self.children.get(name, [])
        if len(found) > 1:
            self.findings.append(
                Finding(
                    "element_repeated",
                    f"Phần tử {name} xuất hiện {len(found)} lần, chỉ được có một.",
                    f"Element {name} appears {len(found)} times; only one is allowed.",
                    path_of(found[1]),
                    found[1].sourceline,
                )
            )
        return found[0] if found else None

    def all(self, name: str) -> list[Any]:
        return self.children.get(name, [])

    def text(self, name: str) -> str:
        return text_of(self.one(name))

    def decimal(self, name: str) -> Decimal | None:
        return decimal_of(self.one(name))

    def has(self, name: str) -> bool:
        return name in self.children

    def extra(self) -> dict[str, str]:
        """TTKhac/TTin: {TTruong: DLieu}."""
        fields: dict[str, str] = {}
        for block in self.all("TTKhac"):
            for info in block:
                if localname(info) != "TTin":
                    continue
                entry = Block(info, [])
                name = entry.text("TTruong")
                if name:
                    fields[name] = entry.text("DLieu")
        return fields


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
    from . import reader_rules

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
    from . import reader_rules

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
