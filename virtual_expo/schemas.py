"""In/Out schemas of the exhibition API. Money is integer VND; times are ISO 8601 with offset."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from ninja import Schema
from pydantic import Field

from core.schemas import Id, InSchema


class CategoryOut(Schema):
    slug: str
    name_vi: str
    name_en: str


class ExhibitionOut(Schema):
    id: int
    slug: str
    title_vi: str
    title_en: str
    theme: str
    opens_at: datetime
    closes_at: datetime
    stays_open_after: bool
    phase: str = Field(description="upcoming, live, after (open after the fair) or closed")
    banner_url: str | None


class ExhibitionDetailOut(ExhibitionOut):
    description_vi: str
    description_en: str
    categories: list[CategoryOut]


class ShowcasedProductOut(Schema):
    product_id: int
    booth_id: int
    name: str
    unit: str
    price: int = Field(description="Approved price, integer VND")
    in_stock: bool
    description: str
    photo_url: str | None
    source_ref: str = Field(description='Attribution for the cart: "expo:<exhibition>:<booth>"')


class BoothOut(Schema):
    id: int
    merchant_name: str
    category: str | None
    featured: bool
    tagline_vi: str
    tagline_en: str
    logo_url: str | None


class BoothDetailOut(BoothOut):
    story_vi: str
    story_en: str
    video_url: str
    panorama_url: str | None
    contact_name: str
    contact_phone: str
    contact_email: str
    photos: list[str]
    documents: list[str]
    products: list[ShowcasedProductOut]


class InquiryIn(InSchema):
    multiline_fields: ClassVar = frozenset({"message"})

    name: str
    message: str
    phone: str = ""
    email: str = ""
    company: str = ""
    quantity: str = ""
    product_id: Id | None = None
    website: str = Field("", description="Honeypot: leave empty")


class InquiryCreatedOut(Schema):
    ok: bool
    token: str | None = Field(None, description="Private token of the inquiry's answers page")


class MyBoothOut(Schema):
    id: int
    exhibition_id: int
    exhibition_slug: str
    status: str
    is_published: bool
    pending_changes: list[str]
    category_id: int | None
    tagline_vi: str
    tagline_en: str
    story_vi: str
    story_en: str
    video_url: str
    contact_name: str
    contact_phone: str
    contact_email: str
    product_ids: list[int]
    last_review_comment: str


class BoothPatch(InSchema):
    multiline_fields: ClassVar = frozenset({"story_vi", "story_en"})

    category_id: Id | None = None
    tagline_vi: str | None = None
    tagline_en: str | None = None
    story_vi: str | None = None
    story_en: str | None = None
    video_url: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    contact_email: str | None = None
    product_ids: list[Id] | None = Field(
        None, description="Catalogue product ids in display order; a change goes to review"
    )


class LeadOut(Schema):
    id: int
    booth_id: int
    exhibition_id: int
    name: str
    company: str
    phone: str
    email: str
    message: str
    quantity: str
    product_id: int | None
    status: str
    follow_up_on: date | None
    moderation: str
    created_at: datetime
    first_answered_at: datetime | None
    response_seconds: int | None


class LeadPatch(InSchema):
    status: str | None = None
    follow_up_on: date | None = Field(None, description="Reminder date; null clears it")
    clear_follow_up: bool = False


class AnswerIn(InSchema):
    multiline_fields: ClassVar = frozenset({"text"})

    text: str


class AnswerOut(Schema):
    id: int
    text: str
    created_at: datetime


class ApplicationOut(Schema):
    id: int
    merchant_id: int
    merchant_name: str
    status: str
    is_published: bool
    featured: bool
    position: int
    pending_changes: list[str]
    submitted_at: datetime | None


class DecisionIn(InSchema):
    multiline_fields: ClassVar = frozenset({"comment"})

    decision: str = Field(description="approve, request_changes or reject")
    checklist: dict[str, bool] = Field(
        default_factory=dict,
        description="business_verified, photos_real, prices_shown, descriptions_vi (required "
        "to approve), descriptions_en (optional)",
    )
    comment: str = ""
    publish: bool = False


class PublishIn(InSchema):
    published: bool | None = None
    featured: bool | None = None


class ReportRowOut(Schema):
    key: str
    label: str
    visits: int
    visitors: int
    inquiries: int
    answered: int
    median_answer_minutes: int | None
    orders: int
    revenue: int


class ReportOut(Schema):
    exhibition_id: int
    total: ReportRowOut
    booths: list[ReportRowOut]
    categories: list[ReportRowOut]
