"""/api/v1/expo/: public reads of exhibitions, booths and showcased products; inquiries without
an account; exhibitor endpoints for their booths and leads; staff endpoints for review, booth
publishing and the outcome report (the curate permission is checked in the services)."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import get_language
from ninja import Query, Router, Status

from core.clientip import client_ip
from core.errors import NotFound
from core.schemas import errors
from merchants.auth import merchant_auth, principal, session_auth
from merchants.selectors import merchant_for

from . import curation, leads, reports, selectors, services
from .models import Booth, BoothProduct, Exhibition, Inquiry
from .schemas import (
    AnswerIn,
    AnswerOut,
    ApplicationOut,
    BoothDetailOut,
    BoothOut,
    BoothPatch,
    DecisionIn,
    ExhibitionDetailOut,
    ExhibitionOut,
    InquiryCreatedOut,
    InquiryIn,
    LeadOut,
    LeadPatch,
    MyBoothOut,
    PublishIn,
    ReportOut,
    ShowcasedProductOut,
)

router = Router(tags=["expo"])


def _url(field) -> str | None:
    return field.url if field else None


def _exhibition(e: Exhibition, detail: bool = False) -> dict:
    data = {
        "id": e.pk,
        "slug": e.slug,
        "title_vi": e.title_vi,
        "title_en": e.title_en,
        "theme": e.theme,
        "opens_at": e.opens_at,
        "closes_at": e.closes_at,
        "stays_open_after": e.stays_open_after,
        "phase": e.phase(),
        "banner_url": _url(e.banner),
    }
    if detail:
        data["description_vi"] = e.description_vi
        data["description_en"] = e.description_en
        data["categories"] = list(selectors.categories_of(exhibition=e))
    return data


def _product(bp: BoothProduct, booth: Booth) -> dict:
    return {
        "product_id": bp.product_id,
        "booth_id": booth.pk,
        "name": bp.product.name,
        "unit": bp.product.unit,
        "price": bp.approved_price,
        "in_stock": bp.product.in_stock,
        "description": bp.product.description,
        "photo_url": _url(bp.thumb),
        "source_ref": booth.source_ref,
    }


def _booth(b: Booth) -> dict:
    return {
        "id": b.pk,
        "merchant_name": b.merchant.display_name,
        "category": b.category.slug if b.category else None,
        "featured": b.featured,
        "tagline_vi": b.tagline_vi,
        "tagline_en": b.tagline_en,
        "logo_url": _url(b.logo),
    }


# --- public -----------------------------------------------------------------------------------


@router.get("/exhibitions", response=list[ExhibitionOut], auth=None, summary="Open exhibitions")
def list_exhibitions(request: HttpRequest):
    return [_exhibition(e) for e in selectors.visitable_exhibitions()]


@router.get("/exhibitions/{slug}", response={200: ExhibitionDetailOut, **errors(404)}, auth=None)
def get_exhibition(request: HttpRequest, slug: str):
    return _exhibition(selectors.exhibition_for_visitor(slug=slug), detail=True)


@router.get(
    "/exhibitions/{slug}/booths",
    response={200: list[BoothOut], **errors(404)},
    auth=None,
    summary="Published booths, featured first; q ignores diacritics (gom = gốm)",
)
def list_booths(request: HttpRequest, slug: str, q: str = "", category: str = ""):
    exhibition = selectors.exhibition_for_visitor(slug=slug)
    booths = selectors.public_booths(exhibition=exhibition, query=q[:80], category=category)
    return [_booth(b) for b in booths[:200]]


@router.get(
    "/exhibitions/{slug}/booths/{booth_id}",
    response={200: BoothDetailOut, **errors(404)},
    auth=None,
)
def get_booth(request: HttpRequest, slug: str, booth_id: int):
    exhibition = selectors.exhibition_for_visitor(slug=slug)
    page = selectors.booth_for_visitor(exhibition=exhibition, booth_id=booth_id)
    b = page.booth
    return {
        **_booth(b),
        "story_vi": b.story_vi,
        "story_en": b.story_en,
        "video_url": b.video_url,
        "panorama_url": _url(b.panorama),
        "contact_name": b.contact_name,
        "contact_phone": b.contact_phone,
        "contact_email": b.contact_email,
        "photos": [m.file.url for m in page.photos],
        "documents": [m.file.url for m in page.documents],
        "products": [_product(bp, b) for bp in page.products],
    }


@router.get(
    "/exhibitions/{slug}/products",
    response={200: list[ShowcasedProductOut], **errors(404)},
    auth=None,
    summary="Showcased products matching q (diacritics ignored)",
)
def search_products(request: HttpRequest, slug: str, q: str):
    exhibition = selectors.exhibition_for_visitor(slug=slug)
    rows = selectors.matching_products(exhibition=exhibition, query=q[:80], limit=50)
    return [_product(bp, bp.booth) for bp in rows]


@router.post(
    "/exhibitions/{slug}/booths/{booth_id}/inquiries",
    response={201: InquiryCreatedOut, **errors(404)},
    auth=None,
    summary="Send an inquiry without an account (rate-limited per IP; honeypot `website`)",
)
def send_inquiry(request: HttpRequest, slug: str, booth_id: int, payload: InquiryIn):
    exhibition = selectors.exhibition_for_visitor(slug=slug)
    page = selectors.booth_for_visitor(exhibition=exhibition, booth_id=booth_id)
    inquiry = leads.inquiry_submit(
        booth=page.booth,
        name=payload.name,
        message=payload.message,
        phone=payload.phone,
        email=payload.email,
        company=payload.company,
        quantity=payload.quantity,
        product_id=payload.product_id,
        ip=client_ip(request),
        honeypot=payload.website,
        language=get_language() or "vi",
    )
    return Status(201, {"ok": True, "token": inquiry.token if inquiry else None})


# --- exhibitors -------------------------------------------------------------------------------


def _my_booth(b: Booth) -> dict:
    review = b.reviews.first()
    return {
        "id": b.pk,
        "exhibition_id": b.exhibition_id,
        "exhibition_slug": b.exhibition.slug,
        "status": b.status,
        "is_published": b.is_published,
        "pending_changes": b.pending_changes,
        "category_id": b.category_id,
        **{name: getattr(b, name) for name in services.TEXT_FIELDS},
        "product_ids": list(
            b.products.filter(remove_requested=False).values_list("product_id", flat=True)
        ),
        "last_review_comment": review.comment if review else "",
    }


def _owner(request: HttpRequest, merchant_id: int):
    return merchant_for(principal=principal(request), merchant_id=merchant_id, owner=True)


@router.get(
    "/merchants/{merchant_id}/booths",
    response={200: list[MyBoothOut], **errors(403, 404)},
    auth=merchant_auth,
)
def my_booths(request: HttpRequest, merchant_id: int):
    merchant = _owner(request, merchant_id)
    return [_my_booth(b) for b in selectors.booths_of(merchant=merchant)]


@router.patch(
    "/merchants/{merchant_id}/booths/{booth_id}",
    response={200: MyBoothOut, **errors(403, 404, 409)},
    auth=merchant_auth,
    summary="Edit a booth: text applies at once; products (or moved prices) go back to review",
)
def edit_booth(request: HttpRequest, merchant_id: int, booth_id: int, payload: BoothPatch):
    merchant = _owner(request, merchant_id)
    booth = selectors.booth_of(merchant=merchant, booth_id=booth_id)
    given = payload.dict(exclude_unset=True)
    text = {
        name: (given.get(name) or "") if name in given else getattr(booth, name)
        for name in services.TEXT_FIELDS
    }
    data = services.BoothInput(
        category_id=given.get("category_id", booth.category_id),
        product_ids=given.get("product_ids"),
        **text,  # type: ignore[arg-type]
    )
    who = principal(request)
    booth = services.booth_update(actor=who.user, booth=booth, data=data, actor_label=who.label)
    return _my_booth(booth)


@router.post(
    "/merchants/{merchant_id}/booths/{booth_id}/submit",
    response={200: MyBoothOut, **errors(403, 404, 409)},
    auth=merchant_auth,
)
def submit_booth(request: HttpRequest, merchant_id: int, booth_id: int):
    merchant = _owner(request, merchant_id)
    booth = selectors.booth_of(merchant=merchant, booth_id=booth_id)
    who = principal(request)
    return _my_booth(services.booth_submit(actor=who.user, booth=booth, actor_label=who.label))


@router.get(
    "/merchants/{merchant_id}/leads",
    response={200: list[LeadOut], **errors(403, 404)},
    auth=merchant_auth,
)
def my_leads(request: HttpRequest, merchant_id: int, status: str = ""):
    merchant = _owner(request, merchant_id)
    return list(selectors.leads_of(merchant=merchant, status=status)[:500])


@router.patch(
    "/merchants/{merchant_id}/leads/{inquiry_id}",
    response={200: LeadOut, **errors(403, 404)},
    auth=merchant_auth,
)
def edit_lead(request: HttpRequest, merchant_id: int, inquiry_id: int, payload: LeadPatch):
    merchant = _owner(request, merchant_id)
    lead = selectors.lead_of(merchant=merchant, inquiry_id=inquiry_id)
    who = principal(request)
    follow: object = ""
    if payload.clear_follow_up:
        follow = None
    elif payload.follow_up_on is not None:
        follow = payload.follow_up_on
    return leads.inquiry_update(
        actor=who.user,
        inquiry=lead,
        status=payload.status,
        follow_up_on=follow,  # type: ignore[arg-type]
        actor_label=who.label,
    )


@router.post(
    "/merchants/{merchant_id}/leads/{inquiry_id}/answers",
    response={201: AnswerOut, **errors(403, 404, 409)},
    auth=merchant_auth,
)
def answer_lead(request: HttpRequest, merchant_id: int, inquiry_id: int, payload: AnswerIn):
    merchant = _owner(request, merchant_id)
    lead = selectors.lead_of(merchant=merchant, inquiry_id=inquiry_id)
    who = principal(request)
    reply = leads.inquiry_answer(
        actor=who.user, inquiry=lead, text=payload.text, actor_label=who.label
    )
    return Status(201, reply)


# --- staff ------------------------------------------------------------------------------------


def _curator(request: HttpRequest):
    services.require_curator(request.user if request.user.is_authenticated else None)  # type: ignore[arg-type]
    return request.user


@router.get(
    "/staff/exhibitions/{exhibition_id}/applications",
    response={200: list[ApplicationOut], **errors(403, 404)},
    auth=session_auth,
    summary="Booths and applications of an exhibition (curators)",
)
def applications(request: HttpRequest, exhibition_id: int, status: str = Query("")):  # type: ignore[type-arg]
    _curator(request)
    exhibition = selectors.exhibition_for_staff(exhibition_id=exhibition_id)
    return [
        {
            "id": b.pk,
            "merchant_id": b.merchant_id,
            "merchant_name": b.merchant.display_name,
            "status": b.status,
            "is_published": b.is_published,
            "featured": b.featured,
            "position": b.position,
            "pending_changes": b.pending_changes,
            "submitted_at": b.submitted_at,
        }
        for b in selectors.booths_for_staff(exhibition=exhibition, status=status)
    ]


@router.post(
    "/staff/booths/{booth_id}/decision",
    response={200: ApplicationOut, **errors(403, 404, 409)},
    auth=session_auth,
)
def decide(request: HttpRequest, booth_id: int, payload: DecisionIn):
    booth = curation.booth_review(
        actor=request.user,  # type: ignore[arg-type]
        booth_id=booth_id,
        decision=payload.decision,
        checklist=payload.checklist,
        comment=payload.comment,
        publish=payload.publish,
    )
    return {**_application(booth)}


@router.post(
    "/staff/booths/{booth_id}/publish",
    response={200: ApplicationOut, **errors(403, 404, 409)},
    auth=session_auth,
    summary="Publish / unpublish and feature / unfeature a booth",
)
def publish(request: HttpRequest, booth_id: int, payload: PublishIn):
    user = _curator(request)
    if not Booth.objects.filter(pk=booth_id).exists():
        raise NotFound()
    booth = Booth.objects.get(pk=booth_id)
    if payload.published is not None:
        booth = curation.booth_publish(actor=user, booth_id=booth_id, published=payload.published)  # type: ignore[arg-type]
    if payload.featured is not None:
        booth = curation.booth_feature(actor=user, booth_id=booth_id, featured=payload.featured)  # type: ignore[arg-type]
    return _application(booth)


def _application(b: Booth) -> dict:
    return {
        "id": b.pk,
        "merchant_id": b.merchant_id,
        "merchant_name": b.merchant.display_name,
        "status": b.status,
        "is_published": b.is_published,
        "featured": b.featured,
        "position": b.position,
        "pending_changes": b.pending_changes,
        "submitted_at": b.submitted_at,
    }


@router.get(
    "/staff/exhibitions/{exhibition_id}/report",
    response={200: ReportOut, **errors(403, 404)},
    auth=session_auth,
)
def report(request: HttpRequest, exhibition_id: int):
    _curator(request)
    exhibition = selectors.exhibition_for_staff(exhibition_id=exhibition_id)
    result = reports.exhibition_report(exhibition=exhibition)

    def row(r: reports.Row) -> dict:
        return {
            "key": r.key,
            "label": r.label,
            "visits": r.visits,
            "visitors": r.visitors,
            "inquiries": r.inquiries,
            "answered": r.answered,
            "median_answer_minutes": r.median_answer_minutes,
            "orders": r.orders,
            "revenue": r.revenue,
        }

    return {
        "exhibition_id": exhibition.pk,
        "total": row(result.total),
        "booths": [row(r) for r in result.booths],
        "categories": [row(r) for r in result.categories],
    }


__all__ = ["Inquiry", "router"]
