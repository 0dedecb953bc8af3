"""Request and response schemas of the sales API (``sales/api.py``: orders, their payment and
refunds, receipts)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from ninja import Field, Schema
from pydantic import StrictInt

from core.schemas import Amount, Id, InSchema

from . import orders


class OrderLineIn(InSchema):
    product_id: Id | None = None
    # A decimal as a string ("0.35" or "0,35") or a whole number: weight sells in fractions.
    quantity: str | StrictInt = "1"
    # A free amount (no product): its price in whole đồng (at most 500.000.000), and a label.
    unit_price: Amount | None = None
    name: str = ""


class OrderBuyerIn(InSchema):
    name: str = ""
    phone: str = ""
    email: str = ""
    tax_code: str = ""
    citizen_id: str = ""
    address: str = ""


class OrderIn(InSchema):
    merchant_id: Id
    lines: list[OrderLineIn] = Field(..., max_length=orders.MAX_LINES)
    payment_method: str = "bank_qr"
    buyer: OrderBuyerIn | None = None


class OrderLineOut(Schema):
    id: int
    position: int
    product_id: int | None
    name: str
    unit: str
    unit_price: int
    quantity: Decimal
    amount: int
    tax_category: str


class PaymentOut(Schema):
    intent_id: int
    method: str
    status: str
    reference_code: str
    qr_payload: str
    expires_at: datetime


class RefundOut(Schema):
    id: int
    amount: int
    reason: str
    line_id: int | None
    status: str
    created_at: datetime
    confirmed_at: datetime | None


class OrderOut(Schema):
    id: int
    merchant_id: int
    number: str
    channel: str
    status: str
    payment_method: str
    total: int
    amount_paid: int
    amount_refunded: int
    bank_reference: str
    receipt_token: str
    lines: list[OrderLineOut]
    payment: PaymentOut | None
    refunds: list[RefundOut]
    created_at: datetime
    paid_at: datetime | None
    canceled_at: datetime | None


class PayIn(InSchema):
    payment_method: str = ""


class OrderRefundIn(InSchema):
    multiline_fields: ClassVar = frozenset({"reason"})

    amount: Amount | None = None
    line_id: Id | None = None
    reason: str


class ReceiptLineOut(Schema):
    name: str
    unit: str
    unit_price: int
    quantity: Decimal
    amount: int


class ReceiptOut(Schema):
    number: str
    merchant: str
    merchant_tax_code: str
    status: str
    payment_method: str
    total: int
    amount_refunded: int
    bank_reference: str
    paid_at: datetime | None
    lines: list[ReceiptLineOut]


class OrderPage(Schema):
    count: int
    items: list[OrderOut]
