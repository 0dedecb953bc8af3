"""JSON API for sales: orders (every channel), their payment, refunds, and public receipts."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Header, Query, Router

from core.errors import NotFound, ValidationFailed
from core.idempotency import effect_key, idempotent_post
from core.schemas import MAX_OFFSET, errors
from merchants.auth import merchant_auth, principal
from merchants.selectors import Principal, merchant_for
from payments.models import PaymentIntent

from ..models import Order, OrderRefund
from . import orders
from .orders import BuyerInput, LineInput
from .schemas import (
    OrderIn,
    OrderOut,
    OrderPage,
    OrderRefundIn,
    PayIn,
    ReceiptOut,
    RefundOut,
)

router = Router(tags=["orders"])


def payment_out(intent: PaymentIntent | None) -> dict[str, object] | None:
    """A sale's current payment request as the API shows it (``PaymentOut``), on every channel."""
    if intent is None:
        return None
    return {
        "intent_id": intent.pk,
        "method": intent.method,
        "status": intent.status,
        "reference_code": intent.reference_code,
        "qr_payload": intent.qr_payload,
        "expires_at": intent.expires_at,
    }


def order_out(order: Order) -> dict[str, object]:
    """An order as the API shows it (lines, current payment request, refunds)."""
    return {
        **{
            name: getattr(order, name)
            for name in OrderOut.model_fields
            if name not in ("lines", "payment", "refunds")
        },
        "lines": list(order.lines.all()),
        "refunds": list(order.refunds.all()),
        "payment": payment_out(order.intent),
    }


def _order_of(who: Principal, order_id: int, owner: bool = False) -> Order:
    order = Order.objects.filter(pk=order_id).only("pk", "merchant_id").first()
    if order is None:
        raise NotFound(_("Không tìm thấy đơn hàng."))
    try:
        merchant_for(principal=who, merchant_id=order.merchant_id, owner=owner)
    except NotFound:
        raise NotFound(_("Không tìm thấy đơn hàng.")) from None
    return order


def _out(order_id: int) -> dict[str, object]:
    return order_out(Order.objects.select_related("intent").get(pk=order_id))


@router.post(
    "/orders",
    response={201: OrderOut, 200: OrderOut, **errors(403, 404, 409, 503)},
    auth=merchant_auth,
    summary="Record a sale and ask to be paid (bank QR, e-wallet) or record it paid in cash; "
    "honours Idempotency-Key",
)
def create_order(
    request: HttpRequest,
    payload: OrderIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    who = principal(request)
    merchant = merchant_for(principal=who, merchant_id=payload.merchant_id)

    def handler():
        lines = []
        for line in payload.lines:
            if line.unit_price is not None and line.product_id is not None:
                raise ValidationFailed(
                    fields={
                        "lines": [_("Một dòng là sản phẩm hoặc số tiền tự nhập, không cả hai.")]
                    }
                )
            lines.append(
                LineInput(
                    product_id=line.product_id,
                    quantity=orders.parse_quantity(line.quantity),
                    unit_price=line.unit_price,
                    name=line.name,
                )
            )
        order = orders.order_create(
            merchant=merchant,
            lines=lines,
            payment_method=payload.payment_method,
            actor=who.user,
            actor_label=who.label,
            buyer=BuyerInput(**payload.buyer.dict()) if payload.buyer else None,
            request_key=effect_key(who.label, idempotency_key),
        )
        # Built from the order in hand (its lines and intent came back from the insert).
        return 201, OrderOut.model_validate(order_out(order)).model_dump(mode="json")

    return idempotent_post(
        request, scope=who.label, key=idempotency_key, payload=payload.dict(), handler=handler
    )


@router.get("/orders", response={200: OrderPage, **errors(404)}, auth=merchant_auth)
def list_orders(
    request: HttpRequest,
    merchant_id: int,
    status: str = "",
    channel: str = "",
    limit: int = Query(50, ge=1, le=100),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
):
    merchant = merchant_for(principal=principal(request), merchant_id=merchant_id)
    rows = merchant.orders.select_related("intent").prefetch_related(
        "lines", "refunds__payment_refund"
    )
    if status:
        rows = rows.filter(status=status)
    if channel:
        rows = rows.filter(channel=channel)
    rows = rows.order_by("-created_at", "-id")
    return {"count": rows.count(), "items": [order_out(o) for o in rows[offset : offset + limit]]}


@router.get("/orders/{order_id}", response={200: OrderOut, **errors(404)}, auth=merchant_auth)
def get_order(request: HttpRequest, order_id: int):
    order = _order_of(principal(request), order_id)
    return _out(order.pk)


@router.post(
    "/orders/{order_id}/pay",
    response={200: OrderOut, **errors(403, 404, 409, 503)},
    auth=merchant_auth,
    summary="A new QR for an unpaid order, another method, or paid in cash; honours "
    "Idempotency-Key",
)
def repay_order(
    request: HttpRequest,
    order_id: int,
    payload: PayIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    """A new QR for an unpaid order, another method, or paid in cash."""
    who = principal(request)
    order = _order_of(who, order_id)

    def handler():
        orders.order_request_payment(
            order=Order.objects.get(pk=order.pk),
            actor=who.user,
            method=payload.payment_method,
            actor_label=who.label,
        )
        return 200, OrderOut.model_validate(_out(order.pk)).model_dump(mode="json")

    return idempotent_post(
        request, scope=who.label, key=idempotency_key, payload=payload.dict(), handler=handler
    )


@router.post(
    "/orders/{order_id}/cancel",
    response={200: OrderOut, **errors(403, 404, 409, 503)},
    auth=merchant_auth,
)
def cancel_order(request: HttpRequest, order_id: int):
    who = principal(request)
    order = _order_of(who, order_id)
    orders.order_cancel(order_id=order.pk, actor=who.user, reason="api")
    return _out(order.pk)


@router.post(
    "/orders/{order_id}/refunds",
    response={201: RefundOut, 200: RefundOut, **errors(403, 404, 409, 503)},
    auth=merchant_auth,
    summary="Refund a paid order in full, in part or one line (owner); honours Idempotency-Key",
)
def refund_order(
    request: HttpRequest,
    order_id: int,
    payload: OrderRefundIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    who = principal(request)
    order = _order_of(who, order_id, owner=True)

    def handler():
        refund = orders.order_refund(
            order_id=order.pk,
            amount=payload.amount,
            line_id=payload.line_id,
            reason=payload.reason,
            actor=who.user,
            actor_label=who.label,
            request_key=effect_key(who.label, idempotency_key),
        )
        return 201, RefundOut.from_orm(OrderRefund.objects.get(pk=refund.pk)).model_dump(
            mode="json"
        )

    return idempotent_post(
        request, scope=who.label, key=idempotency_key, payload=payload.dict(), handler=handler
    )


@router.get(
    "/receipts/{token}",
    response={200: ReceiptOut, **errors(404)},
    auth=None,
    summary="A receipt by its link",
)
def get_receipt(request: HttpRequest, token: str):
    order = Order.objects.select_related("merchant").filter(receipt_token=token).first()
    if order is None:
        raise NotFound(_("Không tìm thấy biên nhận."))
    return {
        "number": order.number,
        "merchant": order.merchant.display_name,
        "merchant_tax_code": order.merchant.tax_code,
        "status": order.status,
        "payment_method": order.payment_method,
        "total": order.total,
        "amount_refunded": order.amount_refunded,
        "bank_reference": order.bank_reference,
        "paid_at": order.paid_at,
        "lines": list(order.lines.all()),
    }
