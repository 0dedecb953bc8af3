"""Selling at the stall: the POS screen, an order's payment page, its public receipt, refunds."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core import qr
from core.errors import ApplicationError, NotFound, ValidationFailed
from core.idempotency import effect_key, run_idempotent
from core.text import parse_digits
from merchants.auth import AuthedRequest
from merchants.banks import bank_by_bin
from merchants.models import Membership, Merchant
from merchants.selectors import Principal, merchant_for, role_in
from payments import selectors as payment_selectors
from payments import services as payment_services
from payments.models import PaymentIntent
from payments.screens import sandbox_pay_link, spoken_phrase

from ..models import Order
from . import offline_sales, orders, qr_account, selectors
from .orders import BuyerInput, LineInput

# More products than fit the screen's strip at once (2 rows of 3): the POS offers a search.
POS_SEARCH_FROM = 6


def _merchant(request: AuthedRequest, merchant_id: int, owner: bool = False) -> Merchant:
    return merchant_for(
        principal=Principal(user=request.user), merchant_id=merchant_id, owner=owner
    )


def _order(merchant: Merchant, order_id: int) -> Order:
    order = Order.objects.filter(merchant=merchant, pk=order_id).first()
    if order is None:
        raise NotFound(_("Không tìm thấy đơn hàng."))
    return order


# --- "Thu tiền": the keypad for an amount, which is a sale of one amount line -----------------


@login_required
def quick_collect(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    """The trader keys only an amount: a POS sale of one amount line, so the money reaches the
    takings, the daily close, the tax estimate and the e-invoice like any other sale. Its QR and
    live confirmation are the payment's full-screen page."""
    if request.method == "POST":  # the sale's bank account read with the membership
        merchant = merchant_for(
            principal=Principal(user=request.user),
            merchant_id=merchant_id,
            along=qr_account.with_qr_account,
            keep=qr_account.qr_account_keep,
        )
    else:
        merchant = _merchant(request, merchant_id)
    error = ""
    amount_text = ""
    if request.method == "POST":
        amount_text = request.POST.get("amount", "")
        # Whole đồng: "150.000", "150 000" or "150000"; a comma means decimals, which VND has not.
        cleaned = amount_text.replace(".", "").replace(" ", "").strip()
        amount = parse_digits(cleaned, 0)
        method = request.POST.get("method", PaymentIntent.Method.BANK_QR)
        description = request.POST.get("description", "")
        form_key = request.POST.get("idempotency_key") or None

        made: list[Order] = []

        def collect() -> tuple[int, Any]:
            payment_services.intent_amount_check(amount=amount, method=method)
            sale = orders.order_create(
                merchant=merchant,
                lines=[LineInput(unit_price=amount, name=description)],
                payment_method=method,
                actor=request.user,
                request_key=effect_key(f"collect:{merchant.pk}", form_key),
            )
            made.append(sale)
            return 201, {"order_id": sale.pk}

        try:
            # The keypad's key, drawn when it was shown: a double tap makes one sale.
            _status, body = run_idempotent(
                scope=f"collect:{merchant.pk}",
                key=form_key,
                method="POST",
                path=request.path,
                payload={"amount": amount, "method": method, "description": description},
                handler=collect,
            )
            # The sale in hand, or, for a replayed answer, the sale as it stands now.
            order = made[0] if made else Order.objects.get(pk=body["order_id"])
        except ApplicationError as exc:
            error = _message(exc)
        else:
            if order.intent_id is None:  # paid meanwhile, or no QR could be made: the sale page
                return redirect("order_pay", merchant_id=merchant.pk, order_id=order.pk)
            return redirect("collect_qr", merchant_id=merchant.pk, intent_id=order.intent_id)
    return render(
        request,
        "payments/collect.html",
        {
            "merchant": merchant,
            "error": error,
            "amount_text": amount_text,
            "has_account": merchant.bank_accounts.exists(),
            "today": payment_selectors.payments_today(merchant=merchant)[:20],
            "idempotency_key": uuid.uuid4().hex,
        },
    )


@login_required
@require_POST
def quick_collect_cancel(request: AuthedRequest, merchant_id: int, intent_id: int) -> HttpResponse:
    """ "Hủy" on the QR: the shopper walked away. The sale is canceled (and its QR with it); a
    bare payment request (from the API) is canceled alone."""
    merchant = _merchant(request, merchant_id)
    intent = payment_selectors.intent_for(
        principal=Principal(user=request.user), intent_id=intent_id
    )
    sale = Order.objects.filter(merchant=merchant, intent_id=intent.pk).first()
    try:  # already paid or expired: nothing to cancel, the page shows its state
        if sale is not None:
            orders.order_cancel(order_id=sale.pk, actor=request.user, reason="quick_collect")
        else:
            payment_services.intent_cancel(intent_id=intent.pk, actor=request.user)
    except ApplicationError:
        pass
    return redirect("collect", merchant_id=intent.merchant_id)


def _message(exc: ApplicationError) -> str:
    return "; ".join(str(m) for msgs in exc.fields.values() for m in msgs) or str(exc.message)


def parse_cart(raw: str) -> list[LineInput]:
    """The POS form's cart: JSON [{"product": 12, "qty": "0,35"}, {"price": 45000}, ...]."""
    try:
        items = json.loads(raw or "[]")
    except ValueError:
        items = None
    if not isinstance(items, list):
        raise ValidationFailed(fields={"lines": [_("Giỏ hàng không đọc được, vui lòng thử lại.")]})
    lines: list[LineInput] = []
    for item in items[: orders.MAX_LINES + 1]:
        if not isinstance(item, dict):
            raise ValidationFailed(fields={"lines": [_("Giỏ hàng không đọc được.")]})
        quantity = orders.parse_quantity(item.get("qty", 1))
        product = item.get("product")
        if product is not None:
            if not isinstance(product, int) or isinstance(product, bool):
                raise ValidationFailed(fields={"lines": [_("Giỏ hàng không đọc được.")]})
            lines.append(LineInput(product_id=product, quantity=quantity))
        else:
            price = item.get("price")
            lines.append(
                LineInput(
                    unit_price=price if isinstance(price, int) else None,
                    quantity=quantity,
                    name=str(item.get("name", ""))[:120],
                )
            )
    return lines


@login_required
def pos(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    """ "Bán hàng": the sale, products as big buttons (favourites first, searchable), quick
    amounts, a keypad for amounts and weights, pay; all on one phone screen (issue 16).

    A cash sale the POS kept while offline comes back from offline-queue.js with its key, the
    phone's time of the sale (``sold_at``, bounded by ``offline_sales.sale_time``) and
    ``Accept: application/json``: it answers 201 ``{"order_id", "url"}`` (also for a key already
    used, the same sale) or the error as ``{"error": {"code", "message"}}`` with its 4xx."""
    merchant = _merchant(request, merchant_id)
    error = ""
    cart_json = "[]"
    status = 200
    if request.method == "POST":
        wants_json = request.headers.get("Accept", "").startswith("application/json")
        cart_json = request.POST.get("cart", "[]")
        method = request.POST.get("method", Order.PaymentMethod.BANK_QR)
        form_key = request.POST.get("idempotency_key") or None
        sold_at_text = request.POST.get("sold_at", "")

        def create() -> tuple[int, Any]:
            paid_at = None
            if sold_at_text and method == Order.PaymentMethod.CASH:
                paid_at = offline_sales.sale_time(
                    merchant_id=merchant.pk,
                    claimed=offline_sales.parse_client_time(sold_at_text),
                )
            order = orders.order_create(
                merchant=merchant,
                lines=parse_cart(cart_json),
                payment_method=method,
                actor=request.user,
                request_key=effect_key(f"pos:{merchant.pk}", form_key),
                paid_at=paid_at,
            )
            return 201, {"order_id": order.pk}

        try:
            # The form carries a key drawn when the screen was shown: a double tap (or a resend
            # after a dropped connection, or the offline queue's sync, cut and sent again) makes
            # one sale, not two. The sale's time is not part of the request's identity: a send
            # whose answer was lost and its later sync from the queue are the same sale.
            _status, body = run_idempotent(
                scope=f"pos:{merchant.pk}",
                key=form_key,
                method="POST",
                path=request.path,
                payload={"cart": cart_json, "method": method},
                handler=create,
            )
        except ApplicationError as exc:
            if wants_json:
                return JsonResponse(
                    {"error": {"code": exc.code, "message": _message(exc)}},
                    status=exc.status,
                    json_dumps_params={"ensure_ascii": False},
                )
            error = _message(exc)
            status = exc.status
        else:
            if wants_json:
                url = reverse("order_pay", args=[merchant.pk, body["order_id"]])
                return JsonResponse({"order_id": body["order_id"], "url": url}, status=201)
            return redirect("order_pay", merchant_id=merchant.pk, order_id=body["order_id"])
    products = selectors.pos_products(merchant=merchant)
    return render(
        request,
        "market/pos.html",
        {
            "merchant": merchant,
            "products": products,
            "products_json": [
                {
                    "id": p.pk,
                    "name": p.name,
                    "unit": p.unit,
                    "price": p.price,
                    "weight": p.sold_by_weight,
                }
                for p in products
            ],
            "pos_search_from": POS_SEARCH_FROM,
            "quick_amounts": selectors.pos_quick_amounts(merchant=merchant),
            "error": error,
            "cart_json": cart_json,
            "idempotency_key": uuid.uuid4().hex,
            "has_account": merchant.bank_accounts.filter(is_default=True).exists(),
            "is_owner": role_in(user=request.user, merchant=merchant) == Membership.Role.OWNER,
            "recent": selectors.pos_recent_sales(merchant=merchant),
            "today": timezone.localdate(),
            "open_sale": open_sale(merchant),
        },
        status=status,
    )


def open_sale(merchant: Merchant) -> Order | None:
    """The shop's newest POS sale still waiting for its QR to be paid (unpaid, QR unexpired): the
    POS offers to resume it or cancel it, so a trader who left the QR screen does not ring the
    sale again (issue 16)."""
    return (
        merchant.orders.filter(
            channel=Order.Channel.POS,
            status=Order.Status.AWAITING_PAYMENT,
            intent__status=PaymentIntent.Status.REQUIRES_PAYMENT,
            intent__expires_at__gt=timezone.now(),
        )
        .select_related("intent")
        .order_by("-created_at", "-id")
        .first()
    )


@login_required
def order_pay(
    request: AuthedRequest, merchant_id: int, order_id: int, refund_error: str = ""
) -> HttpResponse:
    """The sale's screen: its QR while waiting; paid → green, the receipt's QR, "Bán tiếp"."""
    merchant = _merchant(request, merchant_id)
    order = _order(merchant, order_id)
    # A sale whose process died before it could ask for payment has no QR: the page offers
    # "Tạo mã QR mới" (a POST); a GET never writes.
    intent: PaymentIntent | None = order.intent
    receipt_url = request.build_absolute_uri(reverse("receipt", args=[order.receipt_token]))
    bank = bank_by_bin(intent.bank_bin) if intent else None
    is_owner = role_in(user=request.user, merchant=merchant) == Membership.Role.OWNER
    return render(
        request,
        "market/order_pay.html",
        {
            "merchant": merchant,
            "order": order,
            "lines": order.lines.all(),
            "refunds": order.refunds.select_related("line", "payment_refund"),
            "intent": intent,
            "qr_svg": qr.qr_svg(intent.qr_payload)
            if intent and order.status == Order.Status.AWAITING_PAYMENT
            else "",
            "receipt_url": receipt_url,
            "receipt_qr": qr.qr_svg(receipt_url) if order.is_paid else "",
            "bank_name": bank.short_name if bank else (intent.bank_bin if intent else ""),
            "sandbox_pay_url": sandbox_pay_link(intent)
            if intent and order.status == Order.Status.AWAITING_PAYMENT
            else "",
            "spoken": spoken_phrase(order.amount_paid) if order.is_paid else "",
            "is_owner": is_owner,
            "refund_error": refund_error,
            "expired": intent is not None and intent.status == PaymentIntent.Status.EXPIRED,
            "idempotency_key": uuid.uuid4().hex,
        },
    )


@login_required
@require_POST
def order_repay(request: AuthedRequest, merchant_id: int, order_id: int) -> HttpResponse:
    """A new QR (the old one expired), another way to pay, or "khách trả tiền mặt"."""
    merchant = _merchant(request, merchant_id)
    order = _order(merchant, order_id)
    method = request.POST.get("method", "")

    def repay() -> tuple[int, Any]:
        orders.order_request_payment(order=order, actor=request.user, method=method)
        return 200, {"order_id": order.pk}

    try:
        # The form's key: a double tap on "Khách trả tiền mặt" or "Tạo mã mới" acts once.
        run_idempotent(
            scope=f"repay:{merchant.pk}",
            key=request.POST.get("idempotency_key") or None,
            method="POST",
            path=request.path,
            payload={"method": method},
            handler=repay,
        )
    except ApplicationError as exc:
        messages.error(request, _message(exc))
    return redirect("order_pay", merchant_id=merchant.pk, order_id=order.pk)


@login_required
@require_POST
def order_cancel(request: AuthedRequest, merchant_id: int, order_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id)
    order = _order(merchant, order_id)
    try:
        orders.order_cancel(order_id=order.pk, actor=request.user, reason="pos")
    except ApplicationError as exc:
        messages.error(request, _message(exc))
        return redirect("order_pay", merchant_id=merchant.pk, order_id=order.pk)
    return redirect("pos", merchant_id=merchant.pk)


@login_required
@require_POST
def order_refund(request: AuthedRequest, merchant_id: int, order_id: int) -> HttpResponse:
    """Owner only: give back the whole order, one line, or an amount, with a reason."""
    merchant = _merchant(request, merchant_id, owner=True)
    order = _order(merchant, order_id)
    text = request.POST.get("amount", "").replace(".", "").replace(" ", "").strip()
    line_text = request.POST.get("line", "")
    reason = request.POST.get("reason", "")
    form_key = request.POST.get("idempotency_key") or None

    def refund() -> tuple[int, Any]:
        done = orders.order_refund(
            order_id=order.pk,
            amount=parse_digits(text, None if line_text else 0),
            line_id=parse_digits(line_text),
            reason=reason,
            actor=request.user,
            request_key=effect_key(f"refund:{merchant.pk}", form_key),
        )
        return 201, {"refund_id": done.pk}

    try:
        # The form's key, drawn when the page was shown: a double tap refunds once.
        run_idempotent(
            scope=f"refund:{merchant.pk}",
            key=form_key,
            method="POST",
            path=request.path,
            payload={"amount": text, "line": line_text, "reason": reason},
            handler=refund,
        )
    except ApplicationError as exc:
        response = order_pay(request, merchant_id, order_id, refund_error=_message(exc))
        response.status_code = exc.status
        return response
    messages.success(request, _("Đã ghi nhận hoàn tiền."))
    return redirect("order_pay", merchant_id=merchant.pk, order_id=order.pk)


@login_required
def order_list(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id)
    rows = merchant.orders.select_related("cashier").order_by("-created_at", "-id")[:100]
    return render(request, "market/order_list.html", {"merchant": merchant, "orders": rows})


# --- public receipt --------------------------------------------------------------------------


def receipt(request: HttpRequest, token: str) -> HttpResponse:
    """The shopper's receipt, by its unguessable link (the QR shown after payment)."""
    order = (
        Order.objects.select_related("merchant", "stall__market", "intent")
        .filter(receipt_token=token)
        .first()
    )
    if order is None:
        raise NotFound(_("Không tìm thấy biên nhận."))
    form_error: dict[str, list[str]] = {}
    values = {
        "name": order.buyer_name,
        "tax_code": order.buyer_tax_code or order.buyer_citizen_id,
        "email": order.buyer_email,
        "address": order.buyer_address,
    }
    status = 200
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("name", "tax_code", "email", "address")}
        try:
            order = orders.order_request_invoice(
                order_id=order.pk,
                buyer=BuyerInput(
                    name=values["name"],
                    tax_code=values["tax_code"],
                    email=values["email"],
                    address=values["address"],
                ),
            )
        except ApplicationError as exc:
            form_error = {k: [str(m) for m in v] for k, v in exc.fields.items()} or {
                "general": [str(exc.message)]
            }
            status = exc.status
        else:
            messages.success(request, _("Đã nhận yêu cầu hóa đơn điện tử."))
            return redirect("receipt", token=token)
    intent = order.intent
    invoice = _invoice_of(order)
    return render(
        request,
        "market/receipt.html",
        {
            "order": order,
            "merchant": order.merchant,
            "lines": order.lines.all(),
            "refunds": order.refunds.filter(payment_refund__status="succeeded").select_related(
                "payment_refund"
            ),
            "confirmed": order.is_paid and order.payment_method != Order.PaymentMethod.CASH,
            "confirmed_by_wallet": intent is not None
            and intent.method == PaymentIntent.Method.EWALLET,
            "values": values,
            "form_error": form_error,
            "invoice": invoice,
            # A buyer may still ask for their details on an invoice issued without them.
            "can_request": order.is_paid and (invoice is None or not invoice.buyer_name),
        },
        status=status,
    )


def _invoice_of(order: Order) -> Any:
    """The order's e-invoice once issued (the replacement, if the buyer's details came later)."""
    from .invoicing import invoice_of

    return invoice_of(order)
