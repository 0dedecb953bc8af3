"""Request and response schemas of the shop API (``shop/api.py``, /api/v1/shop/)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from ninja import Field, Schema
from pydantic import StrictBool, StrictInt

from core.schemas import (
    Amount,
    ErrorDetail,
    ErrorOut,
    Id,
    InSchema,
    LocalTime,
)

from ..sales.schemas import PaymentOut
from . import storefront as shop


class PageOut(Schema):
    count: int
    page: int
    pages: int


class ShopMarketOut(Schema):
    slug: str
    name: str
    district: str
    address: str
    open_merchants: int


class ShopMarketPage(PageOut):
    items: list[ShopMarketOut]


class ShopMerchantOut(Schema):
    id: int
    slug: str
    name: str
    tagline: str
    photo_url: str | None
    market: str | None
    market_name: str | None
    stall: str | None
    opens_at: LocalTime
    closes_at: LocalTime
    delivers: bool
    delivery_fee: int
    delivery_area: str
    rating: float | None
    review_count: int


class ShopMerchantPage(PageOut):
    items: list[ShopMerchantOut]


class ShopProductOut(Schema):
    id: int
    merchant_id: int
    merchant_slug: str
    merchant_name: str
    name: str
    unit: str
    price: int
    sold_by_weight: bool
    in_stock: bool
    description: str
    photo_url: str | None


class ShopMerchantDetailOut(ShopMerchantOut):
    address: str
    phone: str
    pickup_slots: list[datetime]
    products: list[ShopProductOut]


class ShopProductPage(PageOut):
    query: str
    fuzzy: bool
    more: bool = Field(
        description="More results than `count`: searches count up to 200 (10 pages); "
        "add a word to narrow them down"
    )
    items: list[ShopProductOut]


class CheckoutLineIn(InSchema):
    product_id: Id
    # A decimal as a string ("0,5" or "0.5") or a whole number: weight sells in fractions.
    quantity: str | StrictInt = "1"


class CheckoutIn(InSchema):
    multiline_fields: ClassVar = frozenset({"address", "note"})

    merchant_id: Id
    lines: list[CheckoutLineIn] = Field(..., min_length=1, max_length=shop.MAX_CART_LINES)
    name: str = Field(..., max_length=120)
    phone: str = Field(..., max_length=20)
    fulfilment: str
    pickup_at: datetime | None = None
    address: str = Field("", max_length=255)
    note: str = Field("", max_length=255)
    payment_method: str = "bank_qr"
    # The total the shopper saw: if prices changed since, nothing is placed (409 with the new).
    expected_total: Amount | None = None
    tax_code: str = Field("", max_length=20)
    email: str = Field("", max_length=254)
    # Where the shopper came from, e.g. "expo:<exhibition>:<booth>" for a virtual fair's booth.
    source: str = Field("", max_length=64)


class ShopLineOut(Schema):
    product_id: int | None
    name: str
    unit: str
    unit_price: int
    quantity: Decimal
    amount: int


class TimelineOut(Schema):
    kind: str
    label: str
    note: str
    at: datetime


class ShopOrderOut(Schema):
    id: int
    number: str
    merchant_id: int
    merchant_name: str
    channel: str
    status: str
    payment_method: str
    fulfilment: str
    fulfilment_status: str
    pickup_at: datetime | None
    delivery_address: str
    shopper_note: str
    buyer_name: str
    buyer_phone: str
    total: int
    amount_refunded: int
    receipt_token: str
    lines: list[ShopLineOut]
    payment: PaymentOut | None
    timeline: list[TimelineOut]
    created_at: datetime
    paid_at: datetime | None


class PriceChangedDetail(ErrorDetail):
    total: int | None = Field(None, description="`price_changed` only: the total at today's prices")


class CheckoutConflictOut(ErrorOut):
    """409: `price_changed` (with `error.total`), `out_of_stock`, `storefront_closed`..."""

    error: PriceChangedDetail


class ReviewIn(InSchema):
    multiline_fields: ClassVar = frozenset({"text"})

    rating: StrictInt
    text: str = Field("", max_length=2000)
    product_id: Id | None = None


class ReviewOut(Schema):
    id: int
    merchant_id: int
    product_id: int | None
    rating: int
    text: str
    author_name: str
    reply: str
    created_at: datetime


class OnlineOrderPage(Schema):
    count: int
    items: list[ShopOrderOut]


class AdvanceIn(InSchema):
    multiline_fields: ClassVar = frozenset({"reason"})

    to: str
    reason: str = Field("", max_length=255)


class ProductPatchIn(InSchema):
    multiline_fields: ClassVar = frozenset({"description"})

    in_stock: StrictBool | None = None
    price: StrictInt | None = None
    name: str | None = Field(None, max_length=120)
    description: str | None = Field(None, max_length=2000)
    is_active: StrictBool | None = None
