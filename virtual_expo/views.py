"""Exhibition pages for visitors (no account) and exhibitors (a merchant's owner)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.clientip import client_ip
from core.errors import ApplicationError, RateLimited
from core.forms import apply_error
from core.text import parse_digits
from market.shop import storefront
from merchants.auth import AuthedRequest
from merchants.models import Merchant
from merchants.selectors import Principal, merchant_for

from . import leads, reports, selectors, services
from .forms import AnswerForm, BoothForm, InquiryForm, LeadForm, MediaForm
from .models import Booth, Exhibition, ExhibitionCategory, Inquiry
from .templatetags.expo import buy_url

VISITOR_COOKIE = "expo_v"


# --- visitors ---------------------------------------------------------------------------------


def _count_visit(
    request: HttpRequest, response: HttpResponse, exhibition: Exhibition, booth: Booth | None
) -> None:
    """One visit, counted server-side under a salted hash of a first-party cookie."""
    token = request.COOKIES.get(VISITOR_COOKIE, "")
    if not (8 <= len(token) <= 64 and token.isascii()):
        # First page (or cookies refused): a token from the IP and browser of the day, kept in
        # the cookie, so the next page is the same visitor whether the cookie comes back or not.
        seed = (
            f"{client_ip(request)}|{request.headers.get('user-agent', '')}|{timezone.localdate()}"
        )
        token = reports.visitor_hash(seed)[:24]
        response.set_cookie(
            VISITOR_COOKIE, token, max_age=365 * 24 * 3600, httponly=True, samesite="Lax"
        )
    reports.visit_record(exhibition=exhibition, booth=booth, visitor=reports.visitor_hash(token))


def expo_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "virtual_expo/expo_list.html",
        {
            "exhibitions": selectors.visitable_exhibitions(),
            "upcoming": selectors.upcoming_exhibitions(),
            "open_for_applications": selectors.open_for_applications(),
        },
    )


def exhibition_home(request: HttpRequest, slug: str) -> HttpResponse:
    user = request.user if request.user.is_authenticated else None
    exhibition = selectors.exhibition_for_visitor(slug=slug, user=user)  # type: ignore[arg-type]
    query = request.GET.get("q", "")[:80]
    category = request.GET.get("nganh", "")[:60]
    booths = list(selectors.public_booths(exhibition=exhibition, query=query, category=category))
    featured = [b for b in booths if b.featured] if not (query or category) else []
    categories = list(selectors.categories_of(exhibition=exhibition))
    by_category: list[tuple[ExhibitionCategory | None, list[Booth]]] = []
    for c in categories:
        in_category = [b for b in booths if b.category_id == c.pk and b not in featured]
        if in_category:
            by_category.append((c, in_category))
    others = [b for b in booths if b.category_id is None and b not in featured]
    if others:
        by_category.append((None, others))
    response = render(
        request,
        "virtual_expo/exhibition_home.html",
        {
            "exhibition": exhibition,
            "query": query,
            "category": category,
            "categories": categories,
            "featured": featured,
            "by_category": by_category,
            "count": len(booths),
            "products": selectors.matching_products(exhibition=exhibition, query=query),
            "phase": exhibition.phase(),
        },
    )
    _count_visit(request, response, exhibition, None)
    return response


def _booth_context(request: HttpRequest, exhibition: Exhibition, page, form=None) -> dict:
    booth = page.booth
    return {
        "exhibition": exhibition,
        "booth": booth,
        "products": page.products,
        "photos": page.photos,
        "documents": page.documents,
        "form": form or InquiryForm(products=page.products),
        "buy_url": buy_url() if page.sells_online else "",
        "cart_count": storefront.cart_count(request.session),
        "source": booth.source_ref,
        "here": request.get_full_path(),
        "video_embed": _video_embed(booth.video_url),
    }


def _video_embed(url: str) -> str:
    """YouTube/Vimeo link -> its privacy-friendly embed URL, loaded only when tapped."""
    if not url:
        return ""
    from urllib.parse import parse_qs, urlparse

    parts = urlparse(url)
    host = parts.netloc.lower()
    if host.endswith("youtu.be"):
        vid = parts.path.strip("/")
    elif "youtube.com" in host:
        vid = parse_qs(parts.query).get("v", [""])[0] or parts.path.rsplit("/", 1)[-1]
    elif host.endswith("vimeo.com"):
        vid = parts.path.strip("/").split("/")[0]
        return f"https://player.vimeo.com/video/{vid}" if vid.isdigit() else ""
    else:
        return ""
    ok = vid.replace("-", "").replace("_", "").isalnum()
    return f"https://www.youtube-nocookie.com/embed/{vid}" if vid and ok else ""


def booth_page(request: HttpRequest, slug: str, booth_id: int) -> HttpResponse:
    user = request.user if request.user.is_authenticated else None
    exhibition = selectors.exhibition_for_visitor(slug=slug, user=user)  # type: ignore[arg-type]
    page = selectors.booth_for_visitor(exhibition=exhibition, booth_id=booth_id, user=user)  # type: ignore[arg-type]
    response = render(request, "virtual_expo/booth.html", _booth_context(request, exhibition, page))
    if page.booth.is_published:
        _count_visit(request, response, exhibition, page.booth)
    return response


@require_POST
def inquiry_send(request: HttpRequest, slug: str, booth_id: int) -> HttpResponse:
    exhibition = selectors.exhibition_for_visitor(slug=slug)
    page = selectors.booth_for_visitor(exhibition=exhibition, booth_id=booth_id)
    form = InquiryForm(request.POST, products=page.products)
    status = 422
    retry_after = None
    if form.is_valid():
        data = form.cleaned_data
        try:
            inquiry = leads.inquiry_submit(
                booth=page.booth,
                name=data["name"],
                company=data["company"],
                phone=data["phone"],
                email=data["email"],
                quantity=data["quantity"],
                message=data["message"],
                product_id=data["product"],
                ip=client_ip(request),
                honeypot=data["website"],
                language=get_language() or "vi",
            )
        except RateLimited as exc:
            form.add_error(None, str(exc.message))
            status = exc.status
            retry_after = getattr(exc, "retry_after", None)
        except ApplicationError as exc:
            apply_error(form, exc)
            status = exc.status
        else:
            messages.success(
                request,
                _("Đã gửi câu hỏi tới %(name)s. Gian hàng sẽ trả lời bạn sớm.")
                % {"name": page.booth.merchant.display_name},
            )
            url = reverse("expo_booth", args=[exhibition.slug, page.booth.pk])
            if inquiry is not None:
                url = reverse("expo_inquiry_thread", args=[inquiry.token])
            return redirect(url)
    context = _booth_context(request, exhibition, page, form)
    response = render(request, "virtual_expo/booth.html", context, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def inquiry_thread(request: HttpRequest, token: str) -> HttpResponse:
    """The visitor's private page for one inquiry: their question and the booth's answers."""
    inquiry = selectors.inquiry_by_token(token=token)
    response = render(
        request,
        "virtual_expo/inquiry_thread.html",
        {"inquiry": inquiry, "replies": inquiry.replies.all()},
    )
    response["Referrer-Policy"] = "no-referrer"
    return response


# --- exhibitors -------------------------------------------------------------------------------


def _owned(request: AuthedRequest, merchant_id: int) -> Merchant:
    return merchant_for(principal=Principal(user=request.user), merchant_id=merchant_id, owner=True)


@login_required
def my_booths(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    merchant = _owned(request, merchant_id)
    booths = list(selectors.booths_of(merchant=merchant))
    applied = {b.exhibition_id for b in booths}
    return render(
        request,
        "virtual_expo/my_booths.html",
        {
            "merchant": merchant,
            "booths": booths,
            "can_apply": [e for e in selectors.open_for_applications() if e.pk not in applied],
            "stats": selectors.lead_stats(merchant=merchant),
        },
    )


def _booth_input(form: BoothForm, request: HttpRequest) -> services.BoothInput:
    data = form.cleaned_data
    return services.BoothInput(
        category_id=data["category"],
        tagline_vi=data["tagline_vi"],
        tagline_en=data["tagline_en"],
        story_vi=data["story_vi"],
        story_en=data["story_en"],
        video_url=data["video_url"],
        contact_name=data["contact_name"],
        contact_phone=data["contact_phone"],
        contact_email=data["contact_email"],
        product_ids=data["products"],
        logo=request.FILES.get("logo"),
        panorama=request.FILES.get("panorama"),
    )


@login_required
def booth_apply(request: AuthedRequest, merchant_id: int, slug: str) -> HttpResponse:
    merchant = _owned(request, merchant_id)
    exhibition = selectors.open_for_applications().filter(slug=slug).first()
    if exhibition is None:
        messages.error(request, _("Hội chợ này hiện không nhận đăng ký."))
        return redirect("expo_my_booths", merchant_id=merchant.pk)
    existing = Booth.objects.filter(exhibition=exhibition, merchant=merchant).first()
    if existing is not None:
        return redirect("expo_booth_edit", merchant_id=merchant.pk, booth_id=existing.pk)
    form = BoothForm(
        request.POST or None,
        request.FILES or None,
        exhibition=exhibition,
        merchant=merchant,
        initial={"contact_name": request.user.full_name, "contact_phone": merchant.phone},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                booth = services.booth_apply(
                    actor=request.user,
                    merchant=merchant,
                    exhibition=exhibition,
                    data=_booth_input(form, request),
                    submit=request.POST.get("action") == "submit",
                )
            except ApplicationError as exc:
                apply_error(form, exc)
                status = exc.status
            else:
                if booth.status == Booth.Status.PENDING:
                    messages.success(request, _("Đã gửi đơn. Cán bộ hội chợ sẽ xem xét."))
                else:
                    messages.success(request, _("Đã lưu bản nháp gian hàng."))
                return redirect("expo_booth_edit", merchant_id=merchant.pk, booth_id=booth.pk)
        else:
            status = 422
    return render(
        request,
        "virtual_expo/booth_form.html",
        {"merchant": merchant, "exhibition": exhibition, "form": form, "booth": None},
        status=status,
    )


@login_required
def booth_edit(request: AuthedRequest, merchant_id: int, booth_id: int) -> HttpResponse:
    merchant = _owned(request, merchant_id)
    booth = selectors.booth_of(merchant=merchant, booth_id=booth_id)
    form = BoothForm(
        request.POST or None,
        request.FILES or None,
        exhibition=booth.exhibition,
        merchant=merchant,
        initial=BoothForm.initial_for(booth),
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                booth = services.booth_update(
                    actor=request.user, booth=booth, data=_booth_input(form, request)
                )
                if request.POST.get("action") == "submit" and booth.status != Booth.Status.PENDING:
                    booth = services.booth_submit(actor=request.user, booth=booth)
            except ApplicationError as exc:
                apply_error(form, exc)
                status = exc.status
            else:
                if booth.status == Booth.Status.PENDING:
                    messages.success(request, _("Đã lưu và gửi duyệt."))
                else:
                    messages.success(request, _("Đã lưu gian hàng."))
                return redirect("expo_booth_edit", merchant_id=merchant.pk, booth_id=booth.pk)
        else:
            status = 422
    return _booth_edit_page(request, merchant, booth, form, status=status)


def _booth_edit_page(
    request: AuthedRequest,
    merchant: Merchant,
    booth: Booth,
    form: BoothForm,
    *,
    status: int = 200,
    media_form: MediaForm | None = None,
) -> HttpResponse:
    rows = list(booth.products.select_related("product"))
    return render(
        request,
        "virtual_expo/booth_form.html",
        {
            "merchant": merchant,
            "exhibition": booth.exhibition,
            "form": form,
            "booth": booth,
            "rows": rows,
            "price_drift": [r for r in rows if r.approved and r.approved_price != r.product.price],
            "reviews": booth.reviews.all(),
            "media": booth.media.all(),
            "media_form": media_form or MediaForm(),
        },
        status=status,
    )


@login_required
@require_POST
def booth_media(request: AuthedRequest, merchant_id: int, booth_id: int) -> HttpResponse:
    merchant = _owned(request, merchant_id)
    booth = selectors.booth_of(merchant=merchant, booth_id=booth_id)
    remove = parse_digits(request.POST.get("remove", ""))
    if remove is not None:
        try:
            services.booth_media_remove(actor=request.user, booth=booth, media_id=remove)
            messages.success(request, _("Đã xóa tệp."))
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        return redirect("expo_booth_edit", merchant_id=merchant.pk, booth_id=booth.pk)
    form = MediaForm(request.POST, request.FILES)
    status = 422
    if not form.is_valid():
        messages.error(request, _("Chọn ảnh hoặc tệp PDF để tải lên."))
    else:
        try:
            services.booth_media_add(
                actor=request.user,
                booth=booth,
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
                caption=form.cleaned_data["caption"],
            )
        except ApplicationError as exc:
            # A refused file (too large, not what it claims, a PDF that runs code…): the page
            # again with the reason next to the file, answered 4xx; nothing was stored.
            text = "; ".join(str(m) for msgs in exc.fields.values() for m in msgs)
            form.add_error("file", text or str(exc.message))
            status = exc.status
        else:
            messages.success(request, _("Đã tải lên."))
            return redirect("expo_booth_edit", merchant_id=merchant.pk, booth_id=booth.pk)
    booth_form = BoothForm(
        exhibition=booth.exhibition, merchant=merchant, initial=BoothForm.initial_for(booth)
    )
    return _booth_edit_page(request, merchant, booth, booth_form, status=status, media_form=form)


@login_required
@require_POST
def booth_recheck(request: AuthedRequest, merchant_id: int, booth_id: int) -> HttpResponse:
    """After catalogue price changes: send the booth's new prices to review."""
    merchant = _owned(request, merchant_id)
    booth = selectors.booth_of(merchant=merchant, booth_id=booth_id)
    services.booth_recheck_prices(actor=request.user, booth=booth)
    messages.success(request, _("Đã gửi giá mới để duyệt lại."))
    return redirect("expo_booth_edit", merchant_id=merchant.pk, booth_id=booth.pk)


@login_required
def lead_list(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    merchant = _owned(request, merchant_id)
    status = request.GET.get("trang-thai", "")
    if status not in Inquiry.Status.values:
        status = ""
    return render(
        request,
        "virtual_expo/leads.html",
        {
            "merchant": merchant,
            "leads": selectors.leads_of(merchant=merchant, status=status)[:200],
            "stats": selectors.lead_stats(merchant=merchant),
            "status": status,
            "statuses": Inquiry.Status.choices,
            "today": timezone.localdate(),
        },
    )


@login_required
def lead_detail(request: AuthedRequest, merchant_id: int, inquiry_id: int) -> HttpResponse:
    merchant = _owned(request, merchant_id)
    lead = selectors.lead_of(merchant=merchant, inquiry_id=inquiry_id)
    answer_form = AnswerForm()
    lead_form = LeadForm(initial={"status": lead.status, "follow_up_on": lead.follow_up_on})
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "answer":
                answer_form = AnswerForm(request.POST)
                if answer_form.is_valid():
                    leads.inquiry_answer(
                        actor=request.user, inquiry=lead, text=answer_form.cleaned_data["text"]
                    )
                    messages.success(request, _("Đã gửi câu trả lời."))
                    return redirect("expo_lead", merchant_id=merchant.pk, inquiry_id=lead.pk)
            elif action == "update":
                lead_form = LeadForm(request.POST)
                if lead_form.is_valid():
                    leads.inquiry_update(
                        actor=request.user,
                        inquiry=lead,
                        status=lead_form.cleaned_data["status"],
                        follow_up_on=lead_form.cleaned_data["follow_up_on"],
                    )
                    messages.success(request, _("Đã cập nhật."))
                    return redirect("expo_lead", merchant_id=merchant.pk, inquiry_id=lead.pk)
            elif action == "report":
                leads.inquiry_report(
                    actor=request.user, inquiry=lead, reason=request.POST.get("reason", "")
                )
                messages.success(request, _("Đã báo cáo spam cho ban tổ chức."))
                return redirect("expo_leads", merchant_id=merchant.pk)
        except ApplicationError as exc:
            target = answer_form if action == "answer" else lead_form
            apply_error(target, exc)
            status = exc.status
        else:
            status = 422
    return render(
        request,
        "virtual_expo/lead_detail.html",
        {
            "merchant": merchant,
            "lead": lead,
            "replies": lead.replies.all(),
            "answer_form": answer_form,
            "lead_form": lead_form,
        },
        status=status,
    )
