from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar
from uuid import UUID

from ninja import Field, Schema
from pydantic import StrictInt

from core.schemas import Id, InSchema

from .types import Buyer, LineInput


class InvoiceBuyerIn(InSchema):
    name: str = ""
    tax_code: str = Field("", description="MST (10 or 10-3 digits) or 12-digit personal ID")
    email: str = ""
    address: str = ""
    phone: str = ""

    def to_buyer(self) -> Buyer:
        return Buyer(**self.dict())


class InvoiceLineIn(InSchema):
    name: str
    kind: str = Field("goods", description="goods | discount | note")
    unit: str = ""
    quantity: Decimal | None = Field(None, description='e.g. "0.350" (up to 4 decimals)')
    unit_price: StrictInt | None = None
    # Whole đồng as a JSON integer; must equal round(quantity × unit_price) for goods.
    amount: StrictInt = 0
    tax_rate: str = Field("KCT", description="KCT | KKKNT | 0% | 5% | 8% | 10%")

    def to_line(self) -> LineInput:
        return LineInput(
            name=self.name,
            kind=self.kind,
            unit=self.unit,
            quantity=self.quantity,
            unit_price=self.unit_price,
            amount=self.amount,
            tax_rate=self.tax_rate,
        )


class InvoiceIn(InSchema):
    merchant_id: Id
    series_id: Id | None = None
    buyer: InvoiceBuyerIn | None = None
    lines: list[InvoiceLineIn]
    payment_method: str = "TM/CK"
    source_ref: str = Field("", description="Your reference (e.g. order number): issued once")


class AdjustIn(InSchema):
    multiline_fields: ClassVar = frozenset({"reason"})

    lines: list[InvoiceLineIn]
    reason: str


class ReplaceIn(InSchema):
    multiline_fields: ClassVar = frozenset({"reason"})

    buyer: InvoiceBuyerIn | None = None
    lines: list[InvoiceLineIn]
    reason: str


class CancelIn(InSchema):
    multiline_fields: ClassVar = frozenset({"reason"})

    reason: str


class InvoiceLineOut(Schema):
    position: int
    kind: str
    name: str
    unit: str
    quantity: Decimal | None
    unit_price: int | None
    amount: int
    tax_rate: str
    tax_amount: int


class InvoiceOut(Schema):
    id: int
    uuid: UUID
    merchant_id: int
    series_id: int
    form: str
    series_symbol: str
    number: int
    year: int
    register_code: str
    kind: str
    related_id: int | None
    issued_at: datetime
    sold_on: date | None = Field(None, description="The sale's day when earlier than the issue")
    buyer_name: str
    buyer_tax_code: str
    buyer_citizen_id: str
    total_before_tax: int
    total_tax: int
    total_payable: int
    amount_in_words: str
    payment_method: str
    currency: str
    status: str
    authority_code: str
    rejection_reasons: list
    lookup_code: str
    awaits_authority_code: bool = Field(
        False,
        description="A coded (C…) invoice without the tax authority's code yet: do not give the "
        "buyer its lookup code or link until this is false",
    )
    source_ref: str
    is_signed: bool
    xml_sha256: str
    pdf_sha256: str
    lines: list[InvoiceLineOut]

    @staticmethod
    def resolve_lines(obj) -> list:
        if isinstance(obj, dict):  # a replayed idempotent answer
            return obj["lines"]
        return list(obj.lines.all())


class SeriesIn(InSchema):
    merchant_id: Id
    form: str
    symbol: str
    register_prefix: str | None = None
    auto_issue: bool = False


class SeriesOut(Schema):
    id: int
    merchant_id: int
    form: str
    symbol: str
    register_prefix: str | None
    auto_issue: bool
    is_active: bool


class PurchaseFindingOut(Schema):
    code: str
    message_vi: str
    message_en: str
    where: str
    line: int | None = None


class PurchaseInvoiceOut(Schema):
    id: int
    merchant_id: int
    seller_tax_code: str
    seller_name: str
    buyer_tax_code: str
    buyer_name: str
    form: str
    symbol: str
    number: int
    issued_on: date
    kind: str
    authority_code: str
    currency: str
    exchange_rate: Decimal | None
    total_before_tax: int = Field(description="whole đồng (converted by exchange_rate)")
    total_tax: int
    total_payable: int
    original_before_tax: Decimal = Field(description="as written, in the invoice's currency")
    original_tax: Decimal
    original_payable: Decimal
    lines_count: int
    findings: list[PurchaseFindingOut]
    xml_sha256: str
    created_at: datetime


class PurchaseImportOut(Schema):
    created: list[PurchaseInvoiceOut] = Field(description="invoices filed by this upload")
    existing: list[PurchaseInvoiceOut] = Field(description="invoices that were already there")
