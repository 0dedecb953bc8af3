"""JSON API for figures: takings, the household-tax estimate, daily closes (chốt sổ), and the
staff dashboard per market. Mounted at /api/v1/reports/. Money is int VND; percentages are
decimals with one place (e.g. "66.7"), null when there is nothing to divide by.

Merchant endpoints are owner-only (an owner's session or the merchant's API key): a cashier gets
403, another merchant's caller 404. The market dashboard needs a signed-in user holding the
``market.view_market_dashboard`` permission.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Header, Query, Router

from core.errors import ValidationFailed
from core.idempotency import idempotent_post
from core.schemas import errors
from merchants.auth import merchant_auth, principal, session_auth
from merchants.selectors import merchant_for

from ..models import DailyClose
from . import closing, dashboard, day_close, takings_figures, tax_estimator, tax_figures, tax_rules
from .schemas import (
    CloseFiguresOut,
    CloseIn,
    CloseOut,
    DashboardOut,
    TakingsOut,
    TaxEstimateOut,
)

router = Router(tags=["reports"])


# --- schemas -----------------------------------------------------------------------------------


# Years with household-tax rules are 2026 on; older ones are answered "no rules" by the service.
MIN_TAX_YEAR, MAX_TAX_YEAR = 2000, 2100


# --- helpers -----------------------------------------------------------------------------------


def _owner_merchant(request: HttpRequest, merchant_id: int):
    return merchant_for(principal=principal(request), merchant_id=merchant_id, owner=True)


def close_out(close: DailyClose) -> dict[str, Any]:
    return {
        "id": close.pk,
        "merchant_id": close.merchant_id,
        "business_date": close.business_date,
        "period_start": close.period_start,
        "period_end": close.period_end,
        "sales_total": close.sales_total,
        "cash_expected": close.cash_expected,
        "cash_counted": close.cash_counted,
        "cash_difference": close.cash_difference,
        "note": close.note,
        "closed_by_id": close.closed_by_id,
        "created_at": close.created_at,
        "figures": close.figures,
    }


# --- merchant endpoints ------------------------------------------------------------------------


@router.get(
    "/merchants/{merchant_id}/takings",
    response={200: TakingsOut, **errors(403, 404)},
    auth=merchant_auth,
)
def takings(request: HttpRequest, merchant_id: int):
    """Today, this week (Monday first) and this month net of refunds; the last 30 days; best
    sellers of the last 30 days."""
    return takings_figures.takings(merchant=_owner_merchant(request, merchant_id))


@router.get(
    "/merchants/{merchant_id}/tax-estimate",
    response={200: TaxEstimateOut, **errors(403, 404)},
    auth=merchant_auth,
)
def tax_estimate(
    request: HttpRequest,
    merchant_id: int,
    year: int | None = Query(None, ge=MIN_TAX_YEAR, le=MAX_TAX_YEAR),
):
    """ƯỚC TÍNH (estimate) of a household business's VAT and PIT for the year, with the rule
    set's version and each rule's legal source and confidence."""
    merchant = _owner_merchant(request, merchant_id)
    page = tax_figures.tax_estimate(merchant=merchant, year=year)
    est = page.estimate
    rule_set = tax_rules.rule_set_for_year(page.year)
    return {
        "label": tax_estimator.ESTIMATE_LABEL,
        "applies": page.applies,
        "note": ""
        if page.applies
        else "Ước tính này dành cho hộ kinh doanh; doanh nghiệp tính thuế theo sổ sách kế toán.",
        "year": page.year,
        "sector": merchant.sector,
        "revenue_by_month": page.revenue_by_month,
        "revenue_ytd": sum(page.revenue_by_month),
        "rule_set_version": rule_set.version,
        "threshold": rule_set.exemption_threshold.value,
        "vat_rate": est.vat_rate if est else None,
        "pit_rate": est.pit_rate if est else None,
        "threshold_crossed": est.threshold_crossed if est else None,
        "threshold_crossed_month": est.threshold_crossed_month if est else None,
        "vat_ytd": est.vat_ytd if est else None,
        "pit_ytd": est.pit_ytd if est else None,
        "projected_revenue": est.projected_revenue if est else None,
        "projected_vat": est.projected_vat if est else None,
        "projected_pit": est.projected_pit if est else None,
        "quarters": [
            {
                "quarter": q.quarter,
                "status": str(q.status),
                "revenue": q.revenue,
                "vat": q.vat,
                "pit": q.pit,
                "projected_revenue": q.projected_revenue,
                "projected_vat": q.projected_vat,
                "projected_pit": q.projected_pit,
            }
            for q in (est.quarters if est else ())
        ],
        "explanation": list(est.explanation) if est else [],
        "rules": page.rules,
    }


@router.get(
    "/merchants/{merchant_id}/closes",
    response={200: list[CloseOut], **errors(403, 404)},
    auth=merchant_auth,
)
def list_closes(request: HttpRequest, merchant_id: int, limit: int = Query(31, ge=1, le=366)):
    merchant = _owner_merchant(request, merchant_id)
    return [close_out(c) for c in day_close.closes_of(merchant=merchant)[:limit]]


@router.get(
    "/merchants/{merchant_id}/closes/preview",
    response={200: CloseFiguresOut, **errors(403, 404)},
    auth=merchant_auth,
)
def preview_close(request: HttpRequest, merchant_id: int):
    """What a close made now would record (nothing is written)."""
    merchant = _owner_merchant(request, merchant_id)
    return day_close.close_preview(merchant=merchant).as_json()


@router.post(
    "/merchants/{merchant_id}/closes",
    response={201: CloseOut, 200: CloseOut, **errors(403, 404, 409)},
    auth=merchant_auth,
    summary="Close today's books (chốt sổ); one per local day (409 after); honours Idempotency-Key",
)
def create_close(
    request: HttpRequest,
    merchant_id: int,
    payload: CloseIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    who = principal(request)
    merchant = _owner_merchant(request, merchant_id)

    def handler():
        close = closing.daily_close_create(
            merchant=merchant,
            cash_counted=payload.cash_counted,
            note=payload.note,
            actor=who.user,
            actor_label=who.label,
        )
        return 201, CloseOut.model_validate(close_out(close)).model_dump(mode="json")

    return idempotent_post(
        request,
        scope=who.label,
        key=idempotency_key,
        payload={"merchant_id": merchant_id, **payload.dict()},
        handler=handler,
    )


@router.get(
    "/merchants/{merchant_id}/closes/{close_id}",
    response={200: CloseOut, **errors(403, 404)},
    auth=merchant_auth,
)
def get_close(request: HttpRequest, merchant_id: int, close_id: int):
    merchant = _owner_merchant(request, merchant_id)
    return close_out(day_close.close_of(merchant=merchant, close_id=close_id))


# --- staff -------------------------------------------------------------------------------------


@router.get(
    "/markets/{slug}/dashboard", response={200: DashboardOut, **errors(403, 404)}, auth=session_auth
)
def market_dashboard(request: HttpRequest, slug: str, days: int = 30):
    """Active stalls, cashless share by count and value, 8-week trend, stalls needing help."""
    if days not in (7, 30, 90):
        raise ValidationFailed(fields={"days": ["Chọn 7, 30 hoặc 90 ngày."]}, code="bad_period")
    market = dashboard.market_for_dashboard(user=request.user, slug=slug)  # type: ignore[arg-type]
    data = dashboard.market_dashboard(market=market, days=days, today=timezone.localdate())
    return {
        "market": market.slug,
        "first": data.first,
        "last": data.last,
        "days": data.days,
        "stall_count": data.stall_count,
        "occupied_count": data.occupied_count,
        "active_count": data.active_count,
        "sales_count": data.sales_count,
        "cashless_count": data.cashless_count,
        "sales_total": data.sales_total,
        "cashless_total": data.cashless_total,
        "share_by_count": data.share_by_count,
        "share_by_value": data.share_by_value,
        "stalls": [{**s.__dict__, "cashless_share": s.cashless_share} for s in data.stalls],
        "needs_help": [s.code for s in data.needs_help],
        "weeks": [
            {
                **w.__dict__,
                "share_by_count": w.share_by_count,
                "share_by_value": w.share_by_value,
            }
            for w in data.weeks
        ],
    }
