"""Pages: the public lookup (tra cứu hóa đơn) and the trader's invoice list and detail.

The lookup reveals an invoice only to someone holding its lookup code. Counted per client
(``core.clientip``: behind the load balancer each visitor has their own counters): unknown codes,
past ``EINVOICE_LOOKUP_MAX_MISSES`` in ``EINVOICE_LOOKUP_WINDOW`` seconds, refuse every lookup
(429) until the window ends; and lookups of any kind are limited to ``RATE_INVOICE_LOOKUP``.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core import ratelimits
from core.errors import ApplicationError, ValidationFailed
from merchants.auth import AuthedRequest
from merchants.models import Membership
from merchants.selectors import Principal, merchant_for, role_in

from . import selectors, services
from .models import Invoice
from .types import Buyer, LineInput

# ---------------------------------------------------------------------------------------------
# Rate limits for the public lookup


def _misses_rate() -> tuple[int, int]:
    return (
        getattr(settings, "EINVOICE_LOOKUP_MAX_MISSES", 10),
        getattr(settings, "EINVOICE_LOOKUP_WINDOW", 15 * 60),
    )


def _limited(request: HttpRequest) -> HttpResponse | None:
    """A 429 when this client guessed too many wrong codes or looked up too much, else None
    (and this lookup is counted)."""
    misses = ratelimits.peek(request, group="einvoice:lookup-misses", rate=_misses_rate)
    if misses.limited:
        message = _("Bạn tra cứu sai quá nhiều lần. Vui lòng thử lại sau %(wait)s.")
        return _too_many(request, message, misses.retry_after)
    lookups = ratelimits.hit(request, group="einvoice:lookup", rate="RATE_INVOICE_LOOKUP")
    if lookups.limited:
        message = _("Bạn tra cứu quá nhiều lần liên tiếp. Vui lòng thử lại sau %(wait)s.")
        return _too_many(request, message, lookups.retry_after)
    return None


def _count_miss(request: HttpRequest) -> None:
    ratelimits.hit(request, group="einvoice:lookup-misses", rate=_misses_rate)


def _too_many(request: HttpRequest, message: str, retry_after: int) -> HttpResponse:
    response = render(
        request,
        "einvoice/lookup.html",
        {"error": message % {"wait": ratelimits.wait_text(retry_after)}, "code": ""},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def _public_invoice(request: HttpRequest, code: str) -> Invoice:
    invoice = selectors.invoice_by_lookup_code(code=code)
    if invoice is None:
        _count_miss(request)
        raise Http404
    return invoice


def lookup_form(request: HttpRequest) -> HttpResponse:
    code = request.GET.get("ma", "").strip()
    if not code:
        return render(request, "einvoice/lookup.html", {"code": "", "error": ""})
    if (limited := _limited(request)) is not None:
        return limited
    invoice = selectors.invoice_by_lookup_code(code=code)
    if invoice is None:
        _count_miss(request)
        return render(
            request,
            "einvoice/lookup.html",
            {"code": code, "error": _("Không tìm thấy hóa đơn với mã tra cứu này.")},
            status=404,
        )
    return redirect("einvoice_lookup_detail", code=invoice.lookup_code)


def lookup_detail(request: HttpRequest, code: str) -> HttpResponse:
    if (limited := _limited(request)) is not None:
        return limited
    invoice = _public_invoice(request, code)
    return render(
        request,
        "einvoice/lookup_detail.html",
        {
            "invoice": invoice,
            "lines": invoice.lines.all(),
            "signature_valid": selectors.signature_valid(invoice=invoice),
            "events": selectors.events_of(invoice=invoice),
            "pdf_url": "einvoice_lookup_pdf",
            "replaced_by": selectors.replacement_of(invoice=invoice),
        },
    )


def _pdf_response(invoice: Invoice) -> HttpResponseBase:
    name = f"hoa-don-{invoice.form}{invoice.series_symbol}-{invoice.number:08d}.pdf"
    if not invoice.pdf_sha256:
        from .pdf import invoice_pdf_bytes, invoice_pdf_render

        invoice = invoice_pdf_render(invoice_id=invoice.pk)
        if not invoice.pdf_sha256:  # waiting for the authority's code: made, not stored
            response = HttpResponse(invoice_pdf_bytes(invoice), content_type="application/pdf")
            response["Content-Disposition"] = f'inline; filename="{name}"'
            return response
    return FileResponse(
        invoice.pdf.open("rb"), content_type="application/pdf", filename=name, as_attachment=False
    )


def _xml_response(invoice: Invoice, *, public: bool) -> HttpResponse:
    """The trader downloads what they issued, or the authority's document once there; the
    public gets the invoice the buyer holds (for a coded one, the authority's document)."""
    name = f"hoa-don-{invoice.form}{invoice.series_symbol}-{invoice.number:08d}.xml"
    xml = invoice.public_xml if public else (invoice.authority_xml or invoice.xml)
    if not xml:
        return HttpResponse(
            _("Đang chờ mã của cơ quan thuế: hóa đơn XML sẽ có khi cơ quan thuế cấp mã."),
            status=409,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(xml.encode("utf-8"), content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def lookup_pdf(request: HttpRequest, code: str) -> HttpResponseBase:
    if (limited := _limited(request)) is not None:
        return limited
    return _pdf_response(_public_invoice(request, code))


def lookup_xml(request: HttpRequest, code: str) -> HttpResponse:
    if (limited := _limited(request)) is not None:
        return limited
    return _xml_response(_public_invoice(request, code), public=True)


# ---------------------------------------------------------------------------------------------
# Trader pages


def _merchant(request: AuthedRequest, merchant_id: int, owner: bool = False):
    return merchant_for(
        principal=Principal(user=request.user), merchant_id=merchant_id, owner=owner
    )


@login_required
def invoice_list(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id)
    status = request.GET.get("trang-thai", "")
    if status not in Invoice.Status.values:
        status = ""
    page = Paginator(selectors.invoices_of(merchant=merchant, status=status), 30).get_page(
        request.GET.get("trang")
    )
    return render(
        request,
        "einvoice/invoice_list.html",
        {
            "merchant": merchant,
            "page": page,
            "status": status,
            "statuses": Invoice.Status.choices,
            "series": selectors.series_of(merchant=merchant),
        },
    )


@login_required
def invoice_detail(
    request: AuthedRequest, merchant_id: int, invoice_id: int, form_error: str = ""
) -> HttpResponse:
    merchant = _merchant(request, merchant_id)
    invoice = selectors.invoice_of(merchant=merchant, invoice_id=invoice_id)
    return render(
        request,
        "einvoice/invoice_detail.html",
        {
            "merchant": merchant,
            "invoice": invoice,
            "lines": invoice.lines.all(),
            "events": selectors.events_of(invoice=invoice),
            "corrections": selectors.corrections_of(invoice=invoice),
            "signature_valid": selectors.signature_valid(invoice=invoice),
            "is_owner": role_in(user=request.user, merchant=merchant) == Membership.Role.OWNER,
            "form_error": form_error,
        },
        status=422 if form_error else 200,
    )


@login_required
def invoice_pdf(request: AuthedRequest, merchant_id: int, invoice_id: int) -> HttpResponseBase:
    merchant = _merchant(request, merchant_id)
    return _pdf_response(selectors.invoice_of(merchant=merchant, invoice_id=invoice_id))


@login_required
def invoice_xml(request: AuthedRequest, merchant_id: int, invoice_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id)
    return _xml_response(
        selectors.invoice_of(merchant=merchant, invoice_id=invoice_id), public=False
    )


def _error_text(exc: ApplicationError) -> str:
    fields = "; ".join(str(m) for msgs in exc.fields.values() for m in msgs)
    return fields or str(exc.message)


@login_required
@require_POST
def invoice_replace(request: AuthedRequest, merchant_id: int, invoice_id: int) -> HttpResponse:
    """The fix path for a wrong invoice (e.g. rejected for the buyer's tax code): a replacement
    with the corrected buyer and the original's lines."""
    merchant = _merchant(request, merchant_id, owner=True)
    original = selectors.invoice_of(merchant=merchant, invoice_id=invoice_id)
    lines = [
        LineInput(
            name=line.name,
            amount=line.amount,
            quantity=line.quantity,
            unit_price=line.unit_price,
            unit=line.unit,
            tax_rate=line.tax_rate or "KCT",
            kind=line.kind,
        )
        for line in original.lines.all()
    ]
    post = request.POST
    try:
        replacement = services.invoice_replace(
            original=original,
            buyer=Buyer(
                name=post.get("buyer_name", ""),
                tax_code=post.get("buyer_tax_code", ""),
                email=post.get("buyer_email", ""),
                address=post.get("buyer_address", ""),
                phone=post.get("buyer_phone", ""),
            ),
            lines=lines,
            reason=post.get("reason", ""),
            actor_label=f"user:{request.user.pk}",
        )
    except ApplicationError as exc:
        return invoice_detail(request, merchant_id, invoice_id, form_error=_error_text(exc))
    messages.success(request, _("Đã lập hóa đơn thay thế."))
    return redirect("einvoice_detail", merchant_id=merchant.pk, invoice_id=replacement.pk)


@login_required
@require_POST
def invoice_cancel(request: AuthedRequest, merchant_id: int, invoice_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id, owner=True)
    invoice = selectors.invoice_of(merchant=merchant, invoice_id=invoice_id)
    try:
        services.invoice_cancel(
            invoice=invoice,
            reason=request.POST.get("reason", ""),
            actor_label=f"user:{request.user.pk}",
        )
    except ApplicationError as exc:
        return invoice_detail(request, merchant_id, invoice_id, form_error=_error_text(exc))
    messages.success(request, _("Đã hủy hóa đơn."))
    return redirect("einvoice_detail", merchant_id=merchant.pk, invoice_id=invoice.pk)


# ---------------------------------------------------------------------------------------------
# The trader's series ("ký hiệu hóa đơn"): register one, switch automatic invoicing


SERIES_KINDS = {
    # what the trader picks → (form, kind letter)
    "register": ("2", "M"),  # hóa đơn bán hàng khởi tạo từ máy tính tiền (households ≥ 1 bn)
    "sales": ("2", "T"),  # hóa đơn bán hàng (households below the threshold, optional)
    "vat": ("1", "T"),  # hóa đơn GTGT (enterprises)
}


def _register_with_gateway(request: HttpRequest, series) -> None:
    from . import gateway, transmission

    try:
        prefix = transmission.series_register(series=series)
    except gateway.GatewayError:
        messages.error(
            request,
            _(
                "Chưa kết nối được cổng của cơ quan thuế để đăng ký ký hiệu; hãy thử lại sau "
                "(nút “Đăng ký với cơ quan thuế”)."
            ),
        )
        return
    if series.is_cash_register:
        messages.success(
            request,
            _("Cơ quan thuế đã cấp tiền tố máy tính tiền %(prefix)s.") % {"prefix": prefix},
        )
    else:
        messages.success(request, _("Đã đăng ký ký hiệu với cơ quan thuế."))


@login_required
def series_page(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    """Owner: the merchant's invoice series, and a form to register a new one."""
    merchant = _merchant(request, merchant_id, owner=True)
    errors: dict[str, list[str]] = {}
    values = {"kind": "register" if merchant.kind == "household" else "vat", "letters": "AA"}
    status = 200
    if request.method == "POST":
        values = {
            "kind": request.POST.get("kind", ""),
            "letters": request.POST.get("letters", "").strip().upper(),
        }
        form, letter = SERIES_KINDS.get(values["kind"], ("", ""))
        year = timezone.localdate().strftime("%y")
        try:
            if not form:
                raise ValidationFailed(fields={"kind": [_("Chọn loại hóa đơn.")]})
            series = services.series_create(
                merchant=merchant,
                form=form,
                symbol=f"C{year}{letter}{values['letters']}",
                auto_issue=request.POST.get("auto_issue") == "on",
                actor=request.user,
                actor_label=f"user:{request.user.pk}",
            )
        except ApplicationError as exc:
            errors = {
                k: [str(m) for m in (v if isinstance(v, list) else [v])]
                for k, v in exc.fields.items()
            }
            if not errors:
                errors = {"general": [str(exc.message)]}
            status = exc.status
        else:
            _register_with_gateway(request, series)
            return redirect("einvoice_series", merchant_id=merchant.pk)
    all_series = list(selectors.series_of(merchant=merchant))
    this_year = timezone.localdate().year
    active = [s for s in all_series if s.is_active]
    return render(
        request,
        "einvoice/series.html",
        {
            "merchant": merchant,
            "series": all_series,
            "values": values,
            "errors": errors,
            # A series carries its year: on 1 January last year's ones stop issuing.
            "year_missing": (
                this_year if active and all(s.year != this_year for s in active) else None
            ),
        },
        status=status,
    )


@login_required
@require_POST
def series_change(request: AuthedRequest, merchant_id: int, series_id: int) -> HttpResponse:
    """Owner: automatic invoicing on/off, stop using a series, or register it again."""
    merchant = _merchant(request, merchant_id, owner=True)
    series = selectors.series_of(merchant=merchant).filter(pk=series_id).first()
    if series is None:
        raise Http404
    action = request.POST.get("action", "")
    try:
        if action == "register":
            _register_with_gateway(request, series)
        elif action in ("auto_on", "auto_off"):
            services.series_update(
                series=series,
                auto_issue=action == "auto_on",
                actor=request.user,
                actor_label=f"user:{request.user.pk}",
            )
        elif action == "stop":
            services.series_update(
                series=series,
                is_active=False,
                actor=request.user,
                actor_label=f"user:{request.user.pk}",
            )
    except ApplicationError as exc:
        messages.error(request, _error_text(exc))
    return redirect("einvoice_series", merchant_id=merchant.pk)
