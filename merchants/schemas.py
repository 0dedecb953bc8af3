from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import StrictInt

from core.schemas import InSchema


class MerchantIn(InSchema):
    kind: str
    legal_name: str
    display_name: str = ""
    tax_code: str
    address: str
    sector: str
    phone: str = ""


class MerchantOut(Schema):
    id: int
    kind: str
    legal_name: str
    display_name: str
    slug: str
    tax_code: str
    address: str
    sector: str
    phone: str
    created_at: datetime


class BankAccountIn(InSchema):
    bank_bin: str
    account_number: str
    holder_name: str
    is_default: bool = True


class BankAccountOut(Schema):
    id: int
    bank_bin: str
    bank_short_name: str
    account_number: str
    holder_name: str
    is_default: bool


class BankOut(Schema):
    bin: str
    short_name: str
    name: str


class ProductIn(InSchema):
    name: str
    unit: str
    price: StrictInt  # whole đồng: 1.5, 180000.0, "180000" and true are refused, not coerced
    sold_by_weight: bool = False
    tax_category: str = "KCT"
    is_active: bool = True


class ProductPatch(InSchema):
    name: str | None = None
    unit: str | None = None
    price: StrictInt | None = None
    sold_by_weight: bool | None = None
    tax_category: str | None = None
    is_active: bool | None = None


class ProductOut(Schema):
    id: int
    name: str
    unit: str
    price: int
    sold_by_weight: bool
    tax_category: str
    is_active: bool
    photo_url: str | None

    @staticmethod
    def resolve_photo_url(obj) -> str | None:
        return obj.photo.url if obj.photo else None


class ApiKeyIn(InSchema):
    name: str


class ApiKeyOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreatedOut(ApiKeyOut):
    key: str
