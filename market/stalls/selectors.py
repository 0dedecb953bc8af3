from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from core.errors import NotFound
from merchants.models import Merchant, User

from ..models import Market, Order, Stall, StallApplication, StandeeJob

# Who may print the standees of any stall, one by one or a whole market at once: the market
# officers who already review applications and assign stalls (no separate role to grant).
STANDEE_PERMISSION = "market.review_stallapplication"


def markets_with_counts() -> QuerySet[Market]:
    return Market.objects.filter(is_active=True).annotate(
        stall_count=Count("stalls", distinct=True),
        occupied_count=Count("stalls", filter=Q(stalls__merchant__isnull=False), distinct=True),
        pending_count=Count(
            "applications", filter=Q(applications__status="pending"), distinct=True
        ),
    )


def market_by_slug(*, slug: str) -> Market:
    market = Market.objects.filter(slug=slug, is_active=True).first()
    if market is None:
        raise NotFound(_("Không tìm thấy chợ."))
    return market


def stall_directory(*, market: Market) -> QuerySet[Stall]:
    """Every stall of a market with who sells there: public information."""
    return (
        Stall.objects.filter(market=market)
        .select_related("merchant")
        .only("id", "code", "goods_category", "merchant__display_name", "merchant__slug")
        .order_by("code")
    )


def stalls_of_merchants(*, merchants: QuerySet[Merchant] | list[Merchant]) -> QuerySet[Stall]:
    return Stall.objects.filter(merchant__in=merchants).select_related("market", "merchant")


def goods_category_of(*, merchant: Merchant) -> str | None:
    """What the merchant sells: its first stall's kind of goods, else that of its latest stall
    application that was not refused (one query)."""
    stall = Stall.objects.filter(merchant=merchant).order_by("pk").values("goods_category")[:1]
    application = (
        StallApplication.objects.filter(merchant=merchant)
        .exclude(status=StallApplication.Status.REJECTED)
        .order_by("-created_at")
        .values("goods_category")[:1]
    )
    row = Merchant.objects.filter(pk=merchant.pk).values_list(
        Coalesce(Subquery(stall), Subquery(application)), flat=True
    )
    return row.first()


def first_day_facts() -> dict[str, Exists]:
    """The first-day checklist's facts market knows, as annotations on a Merchant query
    (``OuterRef("pk")`` is the merchant): a stall, an application not refused, one pending, a
    sale paid by bank or e-wallet. Registered with merchants.extensions at start-up."""
    applications = StallApplication.objects.filter(merchant=OuterRef("pk"))
    return {
        "has_stall": Exists(Stall.objects.filter(merchant=OuterRef("pk"))),
        "has_application": Exists(applications.exclude(status=StallApplication.Status.REJECTED)),
        "has_pending": Exists(applications.filter(status=StallApplication.Status.PENDING)),
        "has_sale": Exists(
            Order.objects.filter(
                merchant=OuterRef("pk"),
                paid_at__isnull=False,
                payment_method__in=[Order.PaymentMethod.BANK_QR, Order.PaymentMethod.EWALLET],
            )
        ),
    }


def markets_by_name() -> list[Market]:
    return list(Market.objects.order_by("name"))


def applications_of_merchants(
    *, merchants: QuerySet[Merchant] | list[Merchant]
) -> QuerySet[StallApplication]:
    return (
        StallApplication.objects.filter(merchant__in=merchants)
        .select_related("market", "merchant", "stall")
        .order_by("-created_at")
    )


def application_queue(*, status: str = "pending", market: Market | None = None):
    applications = StallApplication.objects.select_related("merchant", "market", "stall")
    if status:
        applications = applications.filter(status=status)
    if market is not None:
        applications = applications.filter(market=market)
    return applications.order_by("created_at", "id")


def application_for_reviewer(*, user: User, application_id: int) -> StallApplication:
    application = (
        StallApplication.objects.select_related("merchant", "market", "stall")
        .filter(pk=application_id)
        .first()
    )
    if application is None:
        raise NotFound(_("Không tìm thấy đơn đăng ký."))
    return application


def application_of_merchant(*, merchant: Merchant, application_id: int) -> StallApplication:
    application = (
        merchant.stall_applications.select_related("market", "stall")
        .filter(pk=application_id)
        .first()
    )
    if application is None:
        raise NotFound(_("Không tìm thấy đơn đăng ký."))
    return application


# --- stall standees (bảng QR) ---------------------------------------------------------------


def stall_for_standee(*, user: User, stall_id: int) -> Stall:
    """The stall if the user may print its standee: a member (owner or cashier) of the stall's
    merchant, or staff holding STANDEE_PERMISSION. Anyone else: "not found", never "forbidden"."""
    stalls = Stall.objects.select_related("market", "merchant")
    if not user.has_perm(STANDEE_PERMISSION):
        stalls = stalls.filter(merchant__memberships__user=user)
    stall = stalls.filter(pk=stall_id).first()
    if stall is None:
        raise NotFound(_("Không tìm thấy sạp."))
    return stall


def standee_stalls(market: Market) -> QuerySet[Stall]:
    """Every stall of the market in code order, with what a standee needs, in three queries."""
    return (
        market.stalls.select_related("market", "merchant")
        .prefetch_related("merchant__bank_accounts")
        .order_by("code")
    )


def standee_counts(*, market: Market) -> tuple[int, int]:
    """(stalls that get a standee, stalls skipped): a standee needs a trader whose merchant has
    a default bank account (at most one per merchant, so the join does not duplicate stalls)."""
    stalls = market.stalls.all()
    eligible = stalls.filter(merchant__bank_accounts__is_default=True).count()
    return eligible, stalls.count() - eligible


def standee_job_of_market(*, market: Market, job_id: int) -> StandeeJob:
    job = market.standee_jobs.select_related("market").filter(pk=job_id).first()
    if job is None:
        raise NotFound(_("Không tìm thấy lượt in bảng QR."))
    return job


def latest_standee_job(*, market: Market) -> StandeeJob | None:
    return market.standee_jobs.order_by("-created_at", "-id").first()


def decision_notices(*, user: User) -> list[StallApplication]:
    """Decided applications of the user's merchants whose notice nobody dismissed yet."""
    return list(
        StallApplication.objects.filter(
            merchant__memberships__user=user,
            status__in=[StallApplication.Status.APPROVED, StallApplication.Status.REJECTED],
            notice_dismissed_at__isnull=True,
        )
        .select_related("market", "merchant", "stall")
        .order_by("-decided_at", "-id")[:5]
    )


def decided_application_of_user(*, user: User, application_id: int) -> StallApplication:
    """A decided application of one of the user's merchants; anyone else's is 404."""
    application = (
        StallApplication.objects.filter(
            pk=application_id,
            merchant__memberships__user=user,
            status__in=[StallApplication.Status.APPROVED, StallApplication.Status.REJECTED],
        )
        .select_related("market", "merchant", "stall")
        .first()
    )
    if application is None:
        raise NotFound(_("Không tìm thấy đơn này."))
    return application
