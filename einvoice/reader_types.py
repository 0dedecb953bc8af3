"""What the reader of GDT e-invoice XML returns: plain dataclasses, and :class:`Finding` for each
rule a file breaks (``einvoice/reader.py`` reads, ``einvoice/reader_rules.py`` checks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any


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
