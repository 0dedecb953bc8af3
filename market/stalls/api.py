from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Header, Router
from ninja.pagination import paginate

from core.errors import PermissionDenied
from core.idempotency import idempotent_post
from core.schemas import errors
from merchants import selectors as merchant_selectors
from merchants.auth import merchant_auth, principal, session_auth

from . import selectors, services
from .schemas import (
    ApproveIn,
    MarketOut,
    RejectIn,
    StallApplicationIn,
    StallApplicationOut,
    StallOut,
)

router = Router()  # tagged "market" where market/api.py mounts it


@router.get("/markets", response=list[MarketOut], auth=None)
def list_markets(request: HttpRequest):
    return list(selectors.markets_with_counts())


@router.get("/markets/{slug}/stalls", response={200: list[StallOut], **errors(404)}, auth=None)
@paginate
def stall_directory(request: HttpRequest, slug: str):
    return selectors.stall_directory(market=selectors.market_by_slug(slug=slug))


@router.post(
    "/applications",
    response={201: StallApplicationOut, 200: StallApplicationOut, **errors(403, 404, 409)},
    auth=merchant_auth,
    summary="Apply for a stall (honours Idempotency-Key)",
)
def submit_application(
    request: HttpRequest,
    payload: StallApplicationIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    who = principal(request)
    merchant = merchant_selectors.merchant_for(
        principal=who, merchant_id=payload.merchant_id, owner=True
    )
    market = selectors.market_by_slug(slug=payload.market)

    def handler():
        application = services.stall_application_submit(
            actor=who.user,
            actor_label=who.label,
            merchant=merchant,
            market=market,
            goods_category=payload.goods_category,
            requested_code=payload.requested_code,
            note=payload.note,
        )
        return 201, StallApplicationOut.from_orm(application).model_dump(mode="json")

    return idempotent_post(
        request, scope=who.label, key=idempotency_key, payload=payload.dict(), handler=handler
    )


@router.get(
    "/applications", response={200: list[StallApplicationOut], **errors(404)}, auth=merchant_auth
)
def my_applications(request: HttpRequest, merchant_id: int):
    merchant = merchant_selectors.merchant_for(
        principal=principal(request), merchant_id=merchant_id
    )
    return list(selectors.applications_of_merchants(merchants=[merchant]))


def _reviewer(request: HttpRequest):
    if not request.user.has_perm(services.REVIEW_PERMISSION):
        raise PermissionDenied(_("Bạn không có quyền duyệt đơn đăng ký sạp."))
    return request.user


@router.get(
    "/review/applications",
    response={200: list[StallApplicationOut], **errors(403)},
    auth=session_auth,
)
@paginate
def review_queue(request: HttpRequest, status: str = "pending"):
    _reviewer(request)
    return selectors.application_queue(status=status)


@router.post(
    "/review/applications/{application_id}/approve",
    response={200: StallApplicationOut, **errors(403, 404, 409)},
    auth=session_auth,
)
def approve_application(request: HttpRequest, application_id: int, payload: ApproveIn):
    user = _reviewer(request)
    selectors.application_for_reviewer(user=user, application_id=application_id)
    return services.stall_application_approve(
        actor=user,
        application_id=application_id,
        stall_code=payload.stall_code,
        reason=payload.reason,
    )


@router.post(
    "/review/applications/{application_id}/reject",
    response={200: StallApplicationOut, **errors(403, 404, 409)},
    auth=session_auth,
)
def reject_application(request: HttpRequest, application_id: int, payload: RejectIn):
    user = _reviewer(request)
    selectors.application_for_reviewer(user=user, application_id=application_id)
    return services.stall_application_reject(
        actor=user, application_id=application_id, reason=payload.reason
    )
