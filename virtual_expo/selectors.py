"""Reads for exhibitions: what visitors may see, an exhibitor's own booths and leads, the staff
queues. Anything not public is "not found" to whoever may not see it."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import NotFound
from core.text import search_key
from market.models import Storefront
from merchants.models import Merchant, User

from .models import (
    CURATE_PERMISSION,
    Booth,
    BoothMedia,
    BoothProduct,
    Exhibition,
    ExhibitionCategory,
    Inquiry,
)


def is_curator(user: User | None) -> bool:
    return bool(user and user.is_authenticated and user.has_perm(CURATE_PERMISSION))


# --- public -----------------------------------------------------------------------------------


def visitable_exhibitions() -> list[Exhibition]:
    """Published exhibitions open to visitors now (live first, then those open after the fair)."""
    now = timezone.now()
    rows = Exhibition.objects.filter(is_published=True, opens_at__lte=now).filter(
        Q(closes_at__gte=now) | Q(stays_open_after=True)
    )
    return sorted(rows, key=lambda e: (e.phase(now) != "live", -e.opens_at.timestamp()))


def upcoming_exhibitions() -> QuerySet[Exhibition]:
    return Exhibition.objects.filter(is_published=True, opens_at__gt=timezone.now()).order_by(
        "opens_at"
    )


def exhibition_for_visitor(*, slug: str, user: User | None = None) -> Exhibition:
    """A visitable exhibition; curators also see unpublished or upcoming ones (preview)."""
    exhibition = Exhibition.objects.filter(slug=slug).first()
    if exhibition is None or not (exhibition.is_visitable() or is_curator(user)):
        raise NotFound(_("Không tìm thấy hội chợ."))
    return exhibition


def shown_products() -> Q:
    """Approved rows at the approved price, of products still on sale."""
    return Q(
        approved=True,
        product__is_active=True,
        approved_price__isnull=False,
    )


def _visible_products_qs() -> QuerySet[BoothProduct]:
    from django.db.models import F

    return (
        BoothProduct.objects.filter(shown_products(), approved_price=F("product__price"))
        .select_related("product")
        .order_by("position", "id")
    )


def public_booths(
    *, exhibition: Exhibition, query: str = "", category: str = ""
) -> QuerySet[Booth]:
    """Published booths in the curators' order (featured first). ``query`` matches booth text and
    showcased product names without diacritics ("gom" finds "Gốm"), on SQLite and PostgreSQL."""
    booths = Booth.objects.filter(exhibition=exhibition, is_published=True).select_related(
        "merchant", "category"
    )
    if category:
        booths = booths.filter(category__slug=category)
    key = search_key(query)
    if key:
        product_match = BoothProduct.objects.filter(
            booth=OuterRef("pk"), product__search_name__contains=key
        ).filter(shown_products())
        booths = booths.filter(Q(search_text__contains=key) | Exists(product_match))
    return booths.prefetch_related(
        Prefetch("products", queryset=_visible_products_qs(), to_attr="shown")
    ).order_by("-featured", "position", "id")


def matching_products(*, exhibition: Exhibition, query: str, limit: int = 24) -> list[BoothProduct]:
    key = search_key(query)
    if not key:
        return []
    return list(
        _visible_products_qs()
        .filter(
            booth__exhibition=exhibition,
            booth__is_published=True,
            product__search_name__contains=key,
        )
        .select_related("booth", "booth__merchant")[:limit]
    )


def categories_of(*, exhibition: Exhibition) -> QuerySet[ExhibitionCategory]:
    return exhibition.categories.order_by("position", "id")


@dataclass
class BoothPage:
    booth: Booth
    products: list[BoothProduct]
    photos: list[BoothMedia]
    documents: list[BoothMedia]
    # The merchant's web shop is open: its products go into the cart ("Mua").
    sells_online: bool


def booth_for_visitor(
    *, exhibition: Exhibition, booth_id: int, user: User | None = None
) -> BoothPage:
    booth = (
        Booth.objects.select_related("merchant", "category", "exhibition")
        .filter(exhibition=exhibition, pk=booth_id)
        .first()
    )
    if booth is None or not (booth.is_published or is_curator(user)):
        raise NotFound(_("Không tìm thấy gian hàng."))
    media = list(booth.media.all())
    return BoothPage(
        booth=booth,
        products=list(_visible_products_qs().filter(booth=booth)),
        photos=[m for m in media if m.kind == BoothMedia.Kind.PHOTO],
        documents=[m for m in media if m.kind == BoothMedia.Kind.DOCUMENT],
        sells_online=Storefront.objects.filter(
            merchant_id=booth.merchant_id, is_open=True
        ).exists(),
    )


def inquiry_by_token(*, token: str) -> Inquiry:
    inquiry = (
        Inquiry.objects.select_related("booth__merchant", "exhibition")
        .filter(token=token)
        .exclude(moderation=Inquiry.Moderation.HIDDEN)
        .first()
    )
    if inquiry is None:
        raise NotFound(_("Không tìm thấy câu hỏi."))
    return inquiry


# --- exhibitors -------------------------------------------------------------------------------


def open_for_applications() -> QuerySet[Exhibition]:
    now = timezone.now()
    return Exhibition.objects.filter(
        is_published=True, applications_open_at__lte=now, applications_close_at__gte=now
    ).order_by("applications_close_at")


def booths_of(*, merchant: Merchant) -> QuerySet[Booth]:
    return (
        Booth.objects.filter(merchant=merchant)
        .select_related("exhibition", "category")
        .prefetch_related("reviews")
        .order_by("-created_at")
    )


def booth_of(*, merchant: Merchant, booth_id: int) -> Booth:
    """The merchant's own booth; another merchant's is "not found"."""
    booth = (
        Booth.objects.select_related("exhibition", "category", "merchant")
        .filter(merchant=merchant, pk=booth_id)
        .first()
    )
    if booth is None:
        raise NotFound(_("Không tìm thấy gian hàng."))
    return booth


def leads_of(*, merchant: Merchant, status: str = "") -> QuerySet[Inquiry]:
    leads = (
        Inquiry.objects.filter(booth__merchant=merchant)
        .exclude(moderation=Inquiry.Moderation.HIDDEN)
        .select_related("booth", "exhibition", "product")
    )
    if status:
        leads = leads.filter(status=status)
    return leads.order_by("-created_at", "-id")


def lead_of(*, merchant: Merchant, inquiry_id: int) -> Inquiry:
    lead = (
        Inquiry.objects.filter(booth__merchant=merchant, pk=inquiry_id)
        .select_related("booth", "exhibition", "product")
        .first()
    )
    if lead is None:
        raise NotFound(_("Không tìm thấy câu hỏi."))
    return lead


@dataclass
class LeadStats:
    total: int
    new: int
    answered: int
    won: int
    median_response_minutes: int | None
    due_today: int


def lead_stats(*, merchant: Merchant) -> LeadStats:
    leads = list(leads_of(merchant=merchant))
    times = sorted(s for s in (lead.response_seconds for lead in leads) if s is not None)
    median = None
    if times:
        mid = len(times) // 2
        seconds = times[mid] if len(times) % 2 else (times[mid - 1] + times[mid]) // 2
        median = round(seconds / 60)
    today = timezone.localdate()
    return LeadStats(
        total=len(leads),
        new=sum(1 for lead in leads if lead.status == Inquiry.Status.NEW),
        answered=sum(1 for lead in leads if lead.first_answered_at is not None),
        won=sum(1 for lead in leads if lead.status == Inquiry.Status.WON),
        median_response_minutes=median,
        due_today=sum(
            1
            for lead in leads
            if lead.follow_up_on is not None
            and lead.follow_up_on <= today
            and lead.status not in (Inquiry.Status.WON, Inquiry.Status.LOST)
        ),
    )


# --- staff ------------------------------------------------------------------------------------


def exhibitions_for_staff() -> QuerySet[Exhibition]:
    return Exhibition.objects.order_by("-opens_at", "-id")


def exhibition_for_staff(*, exhibition_id: int) -> Exhibition:
    exhibition = Exhibition.objects.filter(pk=exhibition_id).first()
    if exhibition is None:
        raise NotFound(_("Không tìm thấy hội chợ."))
    return exhibition


def booths_for_staff(*, exhibition: Exhibition, status: str = "") -> QuerySet[Booth]:
    booths = Booth.objects.filter(exhibition=exhibition).select_related("merchant", "category")
    if status:
        booths = booths.filter(status=status)
    return booths.order_by("-featured", "position", "id")


def booth_for_staff(*, booth_id: int) -> Booth:
    booth = (
        Booth.objects.select_related("merchant", "category", "exhibition")
        .prefetch_related("media", "reviews__reviewer")
        .filter(pk=booth_id)
        .first()
    )
    if booth is None:
        raise NotFound(_("Không tìm thấy gian hàng."))
    return booth


def booth_rows_for_review(*, booth: Booth) -> list[BoothProduct]:
    return list(booth.products.select_related("product").order_by("position", "id"))


def reported_inquiries() -> QuerySet[Inquiry]:
    return (
        Inquiry.objects.filter(moderation=Inquiry.Moderation.REPORTED)
        .select_related("booth__merchant", "exhibition")
        .order_by("created_at")
    )
