from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from ninja import Schema

from core.schemas import Amount, Id, InSchema


class IntentIn(InSchema):
    merchant_id: Id
    # Strict: whole đồng as a JSON integer; "150000", 150000.0 and true are refused, not coerced.
    amount: Amount
    method: str = "bank_qr"  # or "ewallet"
    reference: str = ""
    description: str = ""


class IntentOut(Schema):
    id: int
    merchant_id: int
    amount: int
    status: str
    method: str
    reference_code: str
    reference: str
    description: str
    qr_payload: str
    provider_payment_id: str | None
    failure_reason: str
    bank_bin: str
    account_number: str
    account_holder: str
    amount_received: int
    amount_refunded: int
    overpaid_amount: int
    bank_reference: str
    expires_at: datetime
    succeeded_at: datetime | None
    canceled_at: datetime | None
    created_at: datetime


class RefundIn(InSchema):
    multiline_fields: ClassVar = frozenset({"reason"})

    amount: Amount
    reason: str


class WebhookAck(Schema):
    success: bool
    outcome: str | None = None
