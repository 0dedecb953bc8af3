"""The e-invoice API: issue, read, download, correct. Merchant-scoped (API key or session);
another merchant's invoice answers 404. POSTs that create documents honour Idempotency-Key."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from ninja import File, Form, Header, Router, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from core.idempotency import idempotent_post
from core.schemas import errors
from merchants.auth import merchant_auth, principal
from merchants.selectors import Principal, merchant_for

from . import purchases, selectors, services
from .models import Invoice
from .schemas import (
    AdjustIn,
    CancelIn,
    InvoiceIn,
    InvoiceOut,
    PurchaseImportOut,
    PurchaseInvoiceOut,
    ReplaceIn,
    SeriesIn,
    SeriesOut,
)

router = Router(tags=["einvoice"])


def _invoice(who: Principal, invoice_id: int, owner: bool = False) -> Invoice:
    """The invoice if the caller may act for its merchant; otherwise 404, as for a missing one."""
    from django.utils.translation import gettext_lazy as _

    from core.errors import NotFound

    merchant_id = (
        Invoice.objects.filter(pk=invoice_id).values_list("merchant_id", flat=True).first()
    )
    if merchant_id is None:
        raise NotFound(_("Không tìm thấy hóa đơn."))
    try:
        merchant = merchant_for(principal=who, merchant_id=merchant_id, owner=owner)
    except NotFound:
        raise NotFound(_("Không tìm thấy hóa đơn.")) from None
    return selectors.invoice_of(merchant=merchant, invoice_id=invoice_id)


def _out(invoice: Invoice) -> dict:
    return InvoiceOut.from_orm(invoice).model_dump(mode="json")


@router.post(
    "/invoices",
    response={201: InvoiceOut, 200: InvoiceOut, **errors(403, 404, 409)},
    auth=merchant_auth,
    summary="Issue an invoice; idempotent per source_ref and per Idempotency-Key",
)
def issue_invoice(
    request: HttpRequest,
    payload: InvoiceIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    who = principal(request)
    merchant = merchant_for(principal=who, merchant_id=payload.merchant_id)

    def handler():
        series = (
            selectors.series_one(merchant=merchant, series_id=payload.series_id)
            if payload.series_id is not None
            else None
        )
        invoice = services.invoice_issue(
            merchant=merchant,
            series=series,
            buyer=payload.buyer.to_buyer() if payload.buyer else None,
            lines=[line.to_line() for line in payload.lines],
            payment_method=payload.payment_method,
            source_ref=payload.source_ref,
            actor_label=who.label,
        )
        return 201, _out(invoice)

    return idempotent_post(
        request,
        scope=who.label,
        key=idempotency_key,
        payload=payload.model_dump(mode="json"),
        handler=handler,
    )


@router.get("/invoices", response={200: list[InvoiceOut], **errors(404)}, auth=merchant_auth)
@paginate
def list_invoices(request: HttpRequest, merchant_id: int, status: str = "", kind: str = ""):
    merchant = merchant_for(principal=principal(request), merchant_id=merchant_id)
    return selectors.invoices_of(merchant=merchant, status=status, kind=kind).prefetch_related(
        "lines"
    )


@router.get("/invoices/{invoice_id}", response={200: InvoiceOut, **errors(404)}, auth=merchant_auth)
def get_invoice(request: HttpRequest, invoice_id: int):
    return _invoice(principal(request), invoice_id)


@router.get(
    "/invoices/{invoice_id}/xml",
    response={200: None, **errors(404)},
    auth=merchant_auth,
    summary="The signed XML",
    openapi_extra={"responses": {200: {"description": "The signed XML (application/xml)"}}},
)
def get_invoice_xml(request: HttpRequest, invoice_id: int) -> HttpResponse:
    from .views import _xml_response

    return _xml_response(_invoice(principal(request), invoice_id), public=False)


@router.get(
    "/invoices/{invoice_id}/pdf",
    response={200: None, **errors(404)},
    auth=merchant_auth,
    summary="The PDF",
    openapi_extra={"responses": {200: {"description": "The PDF (application/pdf)"}}},
)
def get_invoice_pdf(request: HttpRequest, invoice_id: int) -> HttpResponseBase:
    from .views import _pdf_response

    return _pdf_response(_invoice(principal(request), invoice_id))


@router.post(
    "/invoices/{invoice_id}/cancel",
    response={200: InvoiceOut, **errors(403, 404, 409)},
    auth=merchant_auth,
)
def cancel_invoice(request: HttpRequest, invoice_id: int, payload: CancelIn):
    who = principal(request)
    invoice = _invoice(who, invoice_id, owner=True)
    return services.invoice_cancel(invoice=invoice, reason=payload.reason, actor_label=who.label)


@router.post(
    "/invoices/{invoice_id}/adjust",
    response={201: InvoiceOut, 200: InvoiceOut, **errors(403, 404, 409)},
    auth=merchant_auth,
    summary="Issue an adjustment invoice for this one; honours Idempotency-Key",
)
def adjust_invoice(
    request: HttpRequest,
    invoice_id: int,
    payload: AdjustIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    who = principal(request)
    original = _invoice(who, invoice_id, owner=True)

    def handler():
        invoice = services.invoice_adjust(
            original=original,
            lines=[line.to_line() for line in payload.lines],
            reason=payload.reason,
            actor_label=who.label,
        )
        return 201, _out(invoice)

    return idempotent_post(
        request,
        scope=who.label,
        key=idempotency_key,
        payload=payload.model_dump(mode="json"),
        handler=handler,
    )


@router.post(
    "/invoices/{invoice_id}/replace",
    response={201: InvoiceOut, 200: InvoiceOut, **errors(403, 404, 409)},
    auth=merchant_auth,
    summary="Issue a replacement invoice for this one; honours Idempotency-Key",
)
def replace_invoice(
    request: HttpRequest,
    invoice_id: int,
    payload: ReplaceIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    who = principal(request)
    original = _invoice(who, invoice_id, owner=True)

    def handler():
        invoice = services.invoice_replace(
            original=original,
            buyer=payload.buyer.to_buyer() if payload.buyer else None,
            lines=[line.to_line() for line in payload.lines],
            reason=payload.reason,
            actor_label=who.label,
        )
        return 201, _out(invoice)

    return idempotent_post(
        request,
        scope=who.label,
        key=idempotency_key,
        payload=payload.model_dump(mode="json"),
        handler=handler,
    )


@router.get("/series", response={200: list[SeriesOut], **errors(404)}, auth=merchant_auth)
def list_series(request: HttpRequest, merchant_id: int):
    merchant = merchant_for(principal=principal(request), merchant_id=merchant_id)
    return list(selectors.series_of(merchant=merchant))


@router.post("/series", response={201: SeriesOut, **errors(403, 404, 409)}, auth=merchant_auth)
def create_series(request: HttpRequest, payload: SeriesIn):
    who = principal(request)
    merchant = merchant_for(principal=who, merchant_id=payload.merchant_id, owner=True)
    series = services.series_create(
        merchant=merchant,
        form=payload.form,
        symbol=payload.symbol,
        register_prefix=payload.register_prefix,
        auto_issue=payload.auto_issue,
        actor=who.user,
        actor_label=who.label,
    )
    return Status(201, series)


# --- purchases (hóa đơn đầu vào): invoices received from suppliers ---------------------------


@router.get(
    "/purchases", response={200: list[PurchaseInvoiceOut], **errors(404)}, auth=merchant_auth
)
@paginate
def list_purchases(request: HttpRequest, merchant_id: int):
    merchant = merchant_for(principal=principal(request), merchant_id=merchant_id)
    return selectors.purchases_of(merchant=merchant)


@router.get(
    "/purchases/{purchase_id}",
    response={200: PurchaseInvoiceOut, **errors(404)},
    auth=merchant_auth,
)
def get_purchase(request: HttpRequest, purchase_id: int, merchant_id: int):
    merchant = merchant_for(principal=principal(request), merchant_id=merchant_id)
    return selectors.purchase_of(merchant=merchant, purchase_id=purchase_id)


@router.post(
    "/purchases",
    response={201: PurchaseImportOut, 200: PurchaseImportOut, **errors(404)},
    auth=merchant_auth,
    summary="Upload a supplier's invoice XML (one HDon or a TDiep message); each invoice is "
    "filed once: 201 when something new was filed, 200 when all were already there",
)
def upload_purchase(
    request: HttpRequest,
    merchant_id: int = Form(...),
    file: UploadedFile = File(...),  # noqa: B008
):
    who = principal(request)
    merchant = merchant_for(principal=who, merchant_id=merchant_id)
    if file.size is not None and file.size > purchases.MAX_PURCHASE_BYTES:
        raise purchases.FileTooLarge()
    outcome = purchases.purchase_import(
        merchant=merchant, data=file.read(), actor=who.user, actor_label=who.label
    )
    return Status(
        201 if outcome.created else 200,
        {"created": outcome.created, "existing": outcome.existing},
    )
