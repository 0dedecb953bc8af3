"""Pages for markets: stall applications (traders), the review queue (staff), directories."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import ApplicationError, NotFound
from core.forms import apply_error
from merchants import selectors as merchant_selectors
from merchants.auth import AuthedRequest
from merchants.first_day import first_day_next
from merchants.models import Membership
from merchants.selectors import Principal

from ..models import StallApplication, StandeeJob
from . import selectors, services, standee
from .forms import DecisionForm, StallApplicationForm
from .selectors import STANDEE_PERMISSION


@login_required
def stall_apply(request: AuthedRequest) -> HttpResponse:
    owned = [
        m.merchant
        for m in merchant_selectors.memberships_for_user(user=request.user)
        if m.role == Membership.Role.OWNER
    ]
    if not owned:
        messages.info(request, _("Hãy tạo cửa hàng trước khi đăng ký sạp."))
        return redirect("merchant_create")
    form = StallApplicationForm(
        request.POST or None,
        request.FILES or None,
        merchants=owned,
        initial={"merchant": owned[0].pk},
    )
    status = 200
    if request.method == "POST":
        status = 422  # a refused form (a document that is not a photo, …) is answered 4xx
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        merchant = merchant_selectors.merchant_for(
            principal=Principal(user=request.user),
            merchant_id=data["merchant"],
            owner=True,
        )
        try:
            services.stall_application_submit(
                actor=request.user,
                merchant=merchant,
                market=data["market"],
                goods_category=data["goods_category"],
                requested_code=data["requested_code"],
                note=data["note"],
                document=data.get("document"),
            )
        except ApplicationError as exc:
            apply_error(form, exc)
            status = exc.status
        else:
            messages.success(request, _("Đã gửi đơn đăng ký sạp. Ban quản lý chợ sẽ xem xét."))
            return first_day_next(request, merchant, after="stall", default=reverse("trader_home"))
    return render(request, "market/stall_apply.html", {"form": form}, status=status)


def market_list(request: HttpRequest) -> HttpResponse:
    return render(request, "market/market_list.html", {"markets": selectors.markets_with_counts()})


def stall_directory(request: HttpRequest, slug: str) -> HttpResponse:
    market = selectors.market_by_slug(slug=slug)
    page = Paginator(selectors.stall_directory(market=market), 60).get_page(
        request.GET.get("trang")
    )
    return render(request, "market/stall_directory.html", {"market": market, "page": page})


@login_required
@require_POST
def decision_notice_dismiss(request: AuthedRequest, application_id: int) -> HttpResponse:
    """Hide a stall decision's notice on home (another merchant's application is 404)."""
    services.stall_application_notice_dismiss(actor=request.user, application_id=application_id)
    return redirect("home")


@login_required  # anonymous: to the sign-in page; signed in without the perm: 403
@permission_required("market.review_stallapplication", raise_exception=True)
def review_queue(request: AuthedRequest) -> HttpResponse:
    status = request.GET.get("trang-thai", StallApplication.Status.PENDING)
    if status not in StallApplication.Status.values:
        status = StallApplication.Status.PENDING
    applications = selectors.application_queue(status=status)
    return render(
        request,
        "market/review_queue.html",
        {
            "applications": applications,
            "status": status,
            "statuses": StallApplication.Status.choices,
        },
    )


@login_required
@permission_required("market.review_stallapplication", raise_exception=True)
def review_detail(request: AuthedRequest, application_id: int) -> HttpResponse:
    application = selectors.application_for_reviewer(
        user=request.user,
        application_id=application_id,
    )
    free_stalls = application.market.stalls.filter(merchant__isnull=True).order_by("code")
    return render(
        request,
        "market/review_detail.html",
        {"application": application, "free_stalls": free_stalls, "form": DecisionForm()},
    )


@login_required
@permission_required("market.review_stallapplication", raise_exception=True)
@require_POST
def review_decide(request: AuthedRequest, application_id: int) -> HttpResponse:
    application = selectors.application_for_reviewer(
        user=request.user,
        application_id=application_id,
    )
    form = DecisionForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["decision"] == "approve":
                decided = services.stall_application_approve(
                    actor=request.user,
                    application_id=application.pk,
                    stall_code=data["stall_code"],
                    reason=data["reason"],
                )
                messages.success(
                    request,
                    _("Đã duyệt: %(merchant)s nhận sạp %(stall)s.")
                    % {
                        "merchant": decided.merchant.display_name,
                        "stall": decided.stall.code if decided.stall else "",
                    },
                )
            else:
                services.stall_application_reject(
                    actor=request.user,
                    application_id=application.pk,
                    reason=data["reason"],
                )
                messages.success(request, _("Đã từ chối đơn và gửi lý do cho thương nhân."))
            return redirect("review_queue")
        except ApplicationError as exc:
            apply_error(form, exc)
    free_stalls = application.market.stalls.filter(merchant__isnull=True).order_by("code")
    return render(
        request,
        "market/review_detail.html",
        {"application": application, "free_stalls": free_stalls, "form": form},
        status=422,
    )


# --- stall standees (bảng QR) ---------------------------------------------------------------


@login_required
@require_GET
def stall_standee(request: AuthedRequest, stall_id: int) -> HttpResponse:
    """The A6 QR standee of one stall, for its trader (owner or cashier) or market staff."""
    stall = selectors.stall_for_standee(user=request.user, stall_id=stall_id)
    try:
        pdf = standee.render_stall_standee(stall)
    except standee.StandeeUnavailable as exc:
        is_member = stall.merchant is not None and bool(
            merchant_selectors.role_in(user=request.user, merchant=stall.merchant)
        )
        return render(
            request,
            "market/standee_unavailable.html",
            {"stall": stall, "message": str(exc.message), "is_member": is_member},
            status=exc.status,
        )
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = f"bang-qr-{stall.market.slug}-{stall.code}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@permission_required(STANDEE_PERMISSION, raise_exception=True)
@require_http_methods(["GET", "POST"])
def market_standees(request: AuthedRequest, slug: str) -> HttpResponse:
    """Staff: print the standees of every stall of a market as one PDF, built by a task."""
    market = selectors.market_by_slug(slug=slug)
    if request.method == "POST":
        services.standee_job_start(actor=request.user, market=market)
        return redirect("market_standees", slug=market.slug)
    eligible, skipped = selectors.standee_counts(market=market)
    return render(
        request,
        "market/market_standees.html",
        {
            "market": market,
            "eligible": eligible,
            "skipped": skipped,
            "job": selectors.latest_standee_job(market=market),
        },
    )


def _job_status(job: StandeeJob) -> dict[str, object]:
    done = job.status == StandeeJob.Status.DONE
    return {
        "id": job.pk,
        "status": job.status,
        "status_display": job.get_status_display(),
        "finished": job.is_finished,
        "done": job.done,
        "total": job.total,
        "skipped": job.skipped,
        "progress_text": _("%(done)s/%(total)s sạp") % {"done": job.done, "total": job.total},
        "error": job.error,
        "pdf_url": reverse("standee_job_pdf", args=[job.market.slug, job.pk]) if done else None,
    }


@login_required
@permission_required(STANDEE_PERMISSION, raise_exception=True)
@require_GET
def standee_job_status(request: AuthedRequest, slug: str, job_id: int) -> JsonResponse:
    market = selectors.market_by_slug(slug=slug)
    job = selectors.standee_job_of_market(market=market, job_id=job_id)
    return JsonResponse(_job_status(job))


@login_required
@permission_required(STANDEE_PERMISSION, raise_exception=True)
@require_GET
def standee_job_pdf(request: AuthedRequest, slug: str, job_id: int) -> FileResponse:
    market = selectors.market_by_slug(slug=slug)
    job = selectors.standee_job_of_market(market=market, job_id=job_id)
    if job.status != StandeeJob.Status.DONE or not job.pdf:
        raise NotFound(_("File PDF của lượt in này chưa có."))
    return FileResponse(
        job.pdf.open("rb"),
        as_attachment=True,
        filename=f"bang-qr-{market.slug}-{job.pk}.pdf",
        content_type="application/pdf",
    )
