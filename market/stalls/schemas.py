from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from ninja import Schema

from core.schemas import Id, InSchema


class MarketOut(Schema):
    id: int
    name: str
    slug: str
    district: str
    address: str
    stall_count: int
    occupied_count: int


class StallOut(Schema):
    code: str
    goods_category: str
    merchant_name: str | None
    merchant_slug: str | None

    @staticmethod
    def resolve_merchant_name(obj) -> str | None:
        return obj.merchant.display_name if obj.merchant_id else None

    @staticmethod
    def resolve_merchant_slug(obj) -> str | None:
        return obj.merchant.slug if obj.merchant_id else None


class StallApplicationIn(InSchema):
    multiline_fields: ClassVar = frozenset({"note"})

    merchant_id: Id
    market: str  # the market's slug, e.g. "cho-han"
    goods_category: str
    requested_code: str = ""
    note: str = ""


class StallApplicationOut(Schema):
    id: int
    merchant_id: int
    merchant_name: str
    market: str
    requested_code: str
    goods_category: str
    note: str
    status: str
    stall_code: str | None
    decision_reason: str
    decided_at: datetime | None
    created_at: datetime

    # Resolvers also see dicts: the Idempotency-Key path returns the saved, already resolved body.
    @staticmethod
    def resolve_merchant_name(obj) -> str:
        return obj["merchant_name"] if isinstance(obj, dict) else obj.merchant.display_name

    @staticmethod
    def resolve_market(obj) -> str:
        return obj["market"] if isinstance(obj, dict) else obj.market.slug

    @staticmethod
    def resolve_stall_code(obj) -> str | None:
        if isinstance(obj, dict):
            return obj["stall_code"]
        return obj.stall.code if obj.stall_id else None


class ApproveIn(InSchema):
    multiline_fields: ClassVar = frozenset({"reason"})

    stall_code: str = ""
    reason: str = ""


class RejectIn(InSchema):
    multiline_fields: ClassVar = frozenset({"reason"})

    reason: str
