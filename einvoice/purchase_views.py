"""Pages for purchases (hóa đơn đầu vào): upload a supplier's XML, the list with totals per
month, one invoice with what the reader found. Any member of the merchant may use them; another
merchant's purchases are 404."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError
from merchants.auth import AuthedRequest
from merchants.selectors import Principal, merchant_for

from . import purchases, selectors


def _merchant(request: AuthedRequest, merchant_id: int):
    return merchant_for(principal=Principal(user=request.user), merchant_id=merchant_id)


def _month(text: str) -> date | None:
    """``2025-11`` → 1 Nov 2025; anything else → None (all months)."""
    try:
        year, month = (int(part) for part in text.split("-"))
        return date(year, month, 1)
    except ValueError:
        return None


@login_required
@require_http_methods(["GET", "POST"])
def purchase_list(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id)
    error, status = "", 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        try:
            if upload is None:
                raise purchases.UnreadableInvoice(_("Chọn một tệp hóa đơn XML để tải lên."))
            if upload.size is not None and upload.size > purchases.MAX_PURCHASE_BYTES:
                raise purchases.FileTooLarge()
            outcome = purchases.purchase_import(
                merchant=merchant,
                data=upload.read(),
                actor=request.user,
                actor_label=f"user:{request.user.pk}",
            )
        except ApplicationError as exc:
            error, status = str(exc.message), exc.status
        else:
            if outcome.created:
                messages.success(
                    request,
                    _("Đã lưu %(count)s hóa đơn đầu vào.") % {"count": len(outcome.created)},
                )
            if outcome.existing:
                messages.info(
                    request,
                    _("%(count)s hóa đơn đã có, không lưu lại.") % {"count": len(outcome.existing)},
                )
            invoices = outcome.invoices
            if len(invoices) == 1:
                return redirect("einvoice_purchase_detail", merchant.pk, invoices[0].pk)
            return redirect("einvoice_purchases", merchant.pk)
    month = _month(request.GET.get("thang", ""))
    page = Paginator(selectors.purchases_of(merchant=merchant, month=month), 30).get_page(
        request.GET.get("trang")
    )
    return render(
        request,
        "einvoice/purchase_list.html",
        {
            "merchant": merchant,
            "page": page,
            "month": month,
            "months": selectors.purchase_months(merchant=merchant),
            "error": error,
            "max_mb": purchases.MAX_PURCHASE_BYTES // (1024 * 1024),
        },
        status=status,
    )


@login_required
def purchase_detail(request: AuthedRequest, merchant_id: int, purchase_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id)
    purchase = selectors.purchase_of(merchant=merchant, purchase_id=purchase_id)
    english = (get_language() or "vi").startswith("en")
    findings = [
        {
            "code": f.get("code", ""),
            "message": f.get("message_en" if english else "message_vi", ""),
            "where": f.get("where", ""),
            "line": f.get("line"),
        }
        for f in purchase.findings
    ]
    return render(
        request,
        "einvoice/purchase_detail.html",
        {
            "merchant": merchant,
            "purchase": purchase,
            "findings": findings,
            "addressed_elsewhere": bool(
                purchase.buyer_tax_code and purchase.buyer_tax_code != merchant.tax_code
            ),
        },
    )


@login_required
def purchase_xml(request: AuthedRequest, merchant_id: int, purchase_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id)
    purchase = selectors.purchase_of(merchant=merchant, purchase_id=purchase_id)
    response = HttpResponse(purchase.xml.encode("utf-8"), content_type="application/xml")
    name = f"hoa-don-dau-vao-{purchase.seller_tax_code}-{purchase.full_symbol}-{purchase.number}"
    response["Content-Disposition"] = f'attachment; filename="{name}.xml"'
    return response
