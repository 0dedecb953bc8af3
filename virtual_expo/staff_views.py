"""Pages for trade-department curators: exhibitions, application review, booth order,
moderation, outcome report (table, chart, CSV). Every page needs the curate permission."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.csvexport import csv_response
from core.errors import ApplicationError
from core.forms import apply_error
from core.text import parse_digits
from merchants.auth import AuthedRequest

from . import curation, leads, reports, selectors
from .forms import ExhibitionForm, ReviewForm
from .models import CURATE_PERMISSION, Booth
from .services import CHECKLIST

curator = permission_required(CURATE_PERMISSION, raise_exception=True)


@login_required
@curator
def exhibitions(request: AuthedRequest) -> HttpResponse:
    rows = list(selectors.exhibitions_for_staff())
    pending = {e.pk: e.booths.filter(status=Booth.Status.PENDING).count() for e in rows}
    return render(
        request,
        "virtual_expo/staff/exhibitions.html",
        {
            "exhibitions": [(e, pending[e.pk]) for e in rows],
            "reported": selectors.reported_inquiries().count(),
        },
    )


def _exhibition_input(form: ExhibitionForm, request: AuthedRequest) -> curation.ExhibitionInput:
    data = form.cleaned_data
    return curation.ExhibitionInput(
        title_vi=data["title_vi"],
        title_en=data["title_en"],
        theme=data["theme"],
        description_vi=data["description_vi"],
        description_en=data["description_en"],
        categories=curation.parse_categories(data["categories"]),
        applications_open_at=data["applications_open_at"],
        applications_close_at=data["applications_close_at"],
        opens_at=data["opens_at"],
        closes_at=data["closes_at"],
        stays_open_after=data["stays_open_after"],
        is_published=data["is_published"],
        banner=request.FILES.get("banner"),
    )


@login_required
@curator
def exhibition_form(request: AuthedRequest, exhibition_id: int | None = None) -> HttpResponse:
    exhibition = (
        selectors.exhibition_for_staff(exhibition_id=exhibition_id) if exhibition_id else None
    )
    initial = ExhibitionForm.initial_for(exhibition) if exhibition else {"stays_open_after": True}
    form = ExhibitionForm(request.POST or None, request.FILES or None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                data = _exhibition_input(form, request)
                if exhibition is None:
                    exhibition = curation.exhibition_create(actor=request.user, data=data)
                    messages.success(request, _("Đã tạo hội chợ."))
                else:
                    exhibition = curation.exhibition_update(
                        actor=request.user, exhibition_id=exhibition.pk, data=data
                    )
                    messages.success(request, _("Đã lưu hội chợ."))
            except ApplicationError as exc:
                apply_error(form, exc)
                status = exc.status
            else:
                return redirect("expo_staff_exhibition", exhibition_id=exhibition.pk)
        else:
            status = 422
    return render(
        request,
        "virtual_expo/staff/exhibition_form.html",
        {"form": form, "exhibition": exhibition},
        status=status,
    )


@login_required
@curator
def exhibition_detail(request: AuthedRequest, exhibition_id: int) -> HttpResponse:
    exhibition = selectors.exhibition_for_staff(exhibition_id=exhibition_id)
    status = request.GET.get("trang-thai", "")
    if status not in Booth.Status.values:
        status = ""
    booths = list(selectors.booths_for_staff(exhibition=exhibition, status=status))
    return render(
        request,
        "virtual_expo/staff/exhibition.html",
        {
            "exhibition": exhibition,
            "booths": booths,
            "status": status,
            "statuses": Booth.Status.choices,
            "pending": exhibition.booths.filter(status=Booth.Status.PENDING).count(),
        },
    )


@login_required
@curator
def booth_review(request: AuthedRequest, booth_id: int) -> HttpResponse:
    booth = selectors.booth_for_staff(booth_id=booth_id)
    form = ReviewForm(request.POST or None, initial={"publish": not booth.was_approved})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                decided = curation.booth_review(
                    actor=request.user,
                    booth_id=booth.pk,
                    decision=form.cleaned_data["decision"],
                    checklist=form.checklist(),
                    comment=form.cleaned_data["comment"],
                    publish=form.cleaned_data["publish"],
                )
            except ApplicationError as exc:
                apply_error(form, exc)
                status = exc.status
            else:
                messages.success(
                    request,
                    _("Đã ghi quyết định: %(status)s.") % {"status": decided.get_status_display()},
                )
                return redirect("expo_staff_exhibition", exhibition_id=booth.exhibition_id)
        else:
            status = 422
    return render(
        request,
        "virtual_expo/staff/booth_review.html",
        {
            "booth": booth,
            "rows": selectors.booth_rows_for_review(booth=booth),
            "form": form,
            "checklist": [(f"check_{k}", label, req) for k, label, req in CHECKLIST],
            "reviews": booth.reviews.all(),
        },
        status=status,
    )


@login_required
@curator
@require_POST
def booth_action(request: AuthedRequest, booth_id: int) -> HttpResponse:
    booth = selectors.booth_for_staff(booth_id=booth_id)
    action = request.POST.get("action", "")
    try:
        if action in ("publish", "unpublish"):
            curation.booth_publish(
                actor=request.user, booth_id=booth.pk, published=action == "publish"
            )
        elif action in ("feature", "unfeature"):
            curation.booth_feature(
                actor=request.user, booth_id=booth.pk, featured=action == "feature"
            )
        elif action in ("up", "down"):
            curation.booth_move(
                actor=request.user, booth_id=booth.pk, direction=-1 if action == "up" else 1
            )
        else:
            messages.error(request, _("Thao tác không hợp lệ."))
    except ApplicationError as exc:
        messages.error(request, str(exc.message))
    return redirect("expo_staff_exhibition", exhibition_id=booth.exhibition_id)


@login_required
@curator
def moderation(request: AuthedRequest) -> HttpResponse:
    if request.method == "POST":
        inquiry_id = parse_digits(request.POST.get("inquiry", ""))
        if inquiry_id is not None:
            try:
                leads.inquiry_moderate(
                    actor=request.user,
                    inquiry_id=inquiry_id,
                    hide=request.POST.get("action") == "hide",
                    reason=request.POST.get("reason", ""),
                )
                messages.success(request, _("Đã xử lý."))
            except ApplicationError as exc:
                messages.error(request, str(exc.message))
        return redirect("expo_staff_moderation")
    return render(
        request,
        "virtual_expo/staff/moderation.html",
        {"inquiries": selectors.reported_inquiries()},
    )


@login_required
@curator
def report(request: AuthedRequest, exhibition_id: int) -> HttpResponse:
    exhibition = selectors.exhibition_for_staff(exhibition_id=exhibition_id)
    result = reports.exhibition_report(exhibition=exhibition)
    # Revenue per booth as labelled horizontal bars: a booth's name needs the phone's whole
    # width, which the columns of a vertical chart do not have.
    rows = result.booths[:12]
    top = max([r.revenue for r in rows] + [0])
    chart = [
        {
            "label": r.label,
            "revenue": r.revenue,
            "orders": r.orders,
            "inquiries": r.inquiries,
            "share": round(100 * r.revenue / top, 1) if top else 0,
        }
        for r in rows
    ]
    return render(
        request,
        "virtual_expo/staff/report.html",
        {"exhibition": exhibition, "report": result, "chart": chart},
    )


@login_required
@curator
def report_csv(request: AuthedRequest, exhibition_id: int) -> HttpResponse:
    exhibition = selectors.exhibition_for_staff(exhibition_id=exhibition_id)
    rows = reports.report_csv_rows(reports.exhibition_report(exhibition=exhibition))
    return csv_response(f"bao-cao-{exhibition.slug}.csv", rows)
