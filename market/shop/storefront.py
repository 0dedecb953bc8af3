"""Selling online: the shopper's cart and checkout, the merchant's handling of online orders, and
verified reviews. Orders are the same ``Order`` as at the stall (channel ``online`` or ``expo``).

The cart lives in the shopper's session: lines of (product, quantity, price seen, source). A
checkout is per merchant (each stall hands over its own goods and is paid to its own account), so
a cart with two stalls' goods becomes two checkouts, and the cart page says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import live
from core.audit import audit_record
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.locking import lock_row
from core.phone import normalize_vn_mobile
from core.text import nfc
from merchants.models import Membership, Merchant, Product, User

from ..models import (
    Fulfilment,
    FulfilmentStatus,
    Order,
    OrderEvent,
    OrderRefund,
    Review,
    Storefront,
)
from ..sales import orders

log = logging.getLogger(__name__)

F = FulfilmentStatus
CART_KEY = "cart"
MAX_CART_LINES = 30


# --- storefront settings ----------------------------------------------------------------------


def storefront_of(merchant: Merchant) -> Storefront:
    """The merchant's storefront settings (closed until the trader opens it)."""
    storefront, _created = Storefront.objects.get_or_create(merchant=merchant)
    return storefront


def pickup_slots(
    storefront: Storefront, *, now: datetime | None = None, days: int = 2
) -> list[datetime]:
    """Pickup times from now + preparation time, every slot, within opening hours, today and
    tomorrow (Asia/Ho_Chi_Minh)."""
    now = timezone.localtime(now)
    earliest = now + timedelta(minutes=storefront.pickup_lead_minutes)
    step = timedelta(minutes=max(storefront.pickup_slot_minutes, 10))
    slots: list[datetime] = []
    for offset in range(days):
        day = (now + timedelta(days=offset)).date()
        at = timezone.make_aware(datetime.combine(day, storefront.opens_at))
        end = timezone.make_aware(datetime.combine(day, storefront.closes_at))
        while at <= end:
            if at >= earliest:
                slots.append(at)
            at += step
    return slots


# --- the cart (in the session) ------------------------------------------------------------------


@dataclass
class CartLine:
    product: Product
    quantity: Decimal
    price_seen: int
    source: str

    @property
    def amount(self) -> int:
        return orders.line_amount(self.product.price, self.quantity)

    @property
    def price_changed(self) -> bool:
        return self.product.price != self.price_seen

    @property
    def available(self) -> bool:
        return self.product.is_active and self.product.in_stock


def _raw(session: Any) -> list[dict[str, Any]]:
    raw = session.get(CART_KEY)
    return raw if isinstance(raw, list) else []


def cart_add(session: Any, *, product_id: int, quantity: object = 1, source: str = "") -> Product:
    """Put a product in the cart (adds to the same product's line). Weight in fractions ("0,5")
    only for goods sold by weight."""
    product = (
        Product.objects.select_related("merchant")
        .filter(pk=product_id, is_active=True, merchant__storefront__is_open=True)
        .first()
    )
    if product is None:
        raise NotFound(_("Sản phẩm không còn bán trực tuyến."))
    if not product.in_stock:
        raise Conflict(_("“%(name)s” đang hết hàng.") % {"name": product.name}, code="out_of_stock")
    qty = orders.parse_quantity(quantity)
    if not product.sold_by_weight and qty != qty.to_integral_value():
        raise ValidationFailed(
            fields={
                "quantity": [
                    _("“%(name)s” bán theo %(unit)s, số lượng là số nguyên.")
                    % {"name": product.name, "unit": product.unit}
                ]
            }
        )
    lines = _raw(session)
    for line in lines:
        if line.get("product") == product.pk:
            total = orders.parse_quantity(Decimal(str(line["qty"])) + qty)
            line.update(
                qty=str(total), price=product.price, source=source or line.get("source", "")
            )
            break
    else:
        if len(lines) >= MAX_CART_LINES:
            raise ValidationFailed(fields={"lines": [_("Giỏ hàng tối đa 30 món.")]})
        lines.append(
            {"product": product.pk, "qty": str(qty), "price": product.price, "source": source[:64]}
        )
    session[CART_KEY] = lines
    return product


def cart_set(session: Any, *, product_id: int, quantity: object) -> None:
    """Change a line's quantity; 0 removes it."""
    lines = _raw(session)
    text = str(quantity).strip()
    if text in ("0", "0,0", "0.0", ""):
        lines = [line for line in lines if line.get("product") != product_id]
    else:
        qty = orders.parse_quantity(text)
        for line in lines:
            if line.get("product") == product_id:
                product = Product.objects.filter(pk=product_id).first()
                if product and not product.sold_by_weight and qty != qty.to_integral_value():
                    raise ValidationFailed(fields={"quantity": [_("Số lượng là số nguyên.")]})
                line["qty"] = str(qty)
    session[CART_KEY] = lines


def cart_lines(session: Any) -> dict[Merchant, list[CartLine]]:
    """The cart by merchant, with today's prices and availability."""
    raw = _raw(session)
    products = Product.objects.select_related("merchant").in_bulk([r.get("product") for r in raw])
    grouped: dict[Merchant, list[CartLine]] = {}
    for r in raw:
        product = products.get(r.get("product"))
        if product is None:
            continue
        try:
            quantity = orders.parse_quantity(r.get("qty", "1"))
        except ValidationFailed:
            continue
        grouped.setdefault(product.merchant, []).append(
            CartLine(
                product, quantity, int(r.get("price", product.price)), str(r.get("source", ""))
            )
        )
    return grouped


def cart_count(session: Any) -> int:
    return len(_raw(session))


def _cart_forget(session: Any, merchant: Merchant) -> None:
    ids = set(merchant.products.values_list("pk", flat=True))
    session[CART_KEY] = [r for r in _raw(session) if r.get("product") not in ids]


# --- checkout -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckoutInput:
    name: str
    phone: str
    fulfilment: str
    payment_method: str
    pickup_at: datetime | None = None
    address: str = ""
    note: str = ""
    tax_code: str = ""
    email: str = ""
    invoice_name: str = ""
    invoice_address: str = ""
    expected_total: int | None = None


def checkout(
    *,
    merchant: Merchant,
    lines: list[tuple[int, Decimal]],
    data: CheckoutInput,
    source: str = "",
    now: datetime | None = None,
) -> Order:
    """Place an online order for one merchant and ask to be paid by bank QR or e-wallet.

    The order counts as a sale (and reaches the merchant) only once the payment settles. If the
    prices changed since the shopper saw the total, nothing is placed: 409 with the new total.
    """
    storefront = storefront_of(merchant)
    if not storefront.is_open:
        raise Conflict(_("Cửa hàng đang tạm nghỉ bán trực tuyến."), code="storefront_closed")
    errors: dict[str, list[Any]] = {}
    name = nfc(data.name)[:120]
    if not name:
        errors["name"] = [_("Vui lòng nhập tên người nhận.")]
    phone = ""
    try:
        phone = normalize_vn_mobile(data.phone)
    except DjangoValidationError:
        errors["phone"] = [_("Số điện thoại không đúng, ví dụ 0905 123 456.")]
    if data.payment_method not in (Order.PaymentMethod.BANK_QR, Order.PaymentMethod.EWALLET):
        errors["payment_method"] = [_("Chọn chuyển khoản VietQR hoặc ví điện tử.")]
    pickup_at = None
    address = nfc(data.address)
    if data.fulfilment == Fulfilment.PICKUP:
        slots = pickup_slots(storefront, now=now)
        if data.pickup_at is None or data.pickup_at not in slots:
            errors["pickup_at"] = [_("Chọn một giờ lấy hàng trong danh sách.")]
        pickup_at = data.pickup_at
    elif data.fulfilment == Fulfilment.DELIVERY:
        if not storefront.delivers:
            errors["fulfilment"] = [_("Cửa hàng này không giao hàng, vui lòng chọn lấy tại sạp.")]
        if len(address) < 8:
            errors["address"] = [_("Vui lòng nhập địa chỉ giao hàng trong Đà Nẵng.")]
    else:
        errors["fulfilment"] = [_("Chọn lấy tại sạp hoặc giao hàng.")]
    if errors:
        raise ValidationFailed(fields=errors)
    products = Product.objects.in_bulk([pid for pid, _q in lines])
    for pid, _q in lines:
        product = products.get(pid)
        if product is None or product.merchant_id != merchant.pk or not product.is_active:
            raise ValidationFailed(
                fields={"lines": [_("Có món không còn bán, vui lòng xem lại giỏ hàng.")]}
            )
        if not product.in_stock:
            raise Conflict(
                _("“%(name)s” vừa hết hàng, vui lòng bỏ khỏi giỏ.") % {"name": product.name},
                code="out_of_stock",
            )
    inputs = [orders.LineInput(product_id=pid, quantity=q) for pid, q in lines]
    fee = storefront.delivery_fee if data.fulfilment == Fulfilment.DELIVERY else 0
    if fee:
        inputs.append(orders.LineInput(unit_price=fee, name=str(_("Phí giao hàng"))))
    total = sum(orders.line_amount(products[pid].price, q) for pid, q in lines) + fee
    if data.expected_total is not None and total != data.expected_total:
        raise Conflict(
            _("Giá vừa thay đổi: tổng mới là %(total)s đ. Vui lòng xem lại rồi đặt hàng.")
            % {"total": f"{total:,}".replace(",", ".")},
            code="price_changed",
        )
    invoice_name = nfc(data.invoice_name) or (name if data.tax_code else "")
    order = orders.order_create(
        merchant=merchant,
        lines=inputs,
        payment_method=data.payment_method,
        actor=None,
        actor_label="shopper:web",
        channel=Order.Channel.EXPO if source.startswith("expo:") else Order.Channel.ONLINE,
        source_ref=source,
        buyer=orders.BuyerInput(
            name=invoice_name or name,
            phone=phone,
            email=data.email,
            tax_code=data.tax_code,
            address=nfc(data.invoice_address) or (address if data.tax_code else ""),
        ),
        online=orders.OnlineInput(
            fulfilment=data.fulfilment,
            pickup_at=pickup_at,
            delivery_address=address if data.fulfilment == Fulfilment.DELIVERY else "",
            note=data.note,
        ),
        # Tax code or e-mail given at checkout: the shopper wants an e-invoice.
        invoice_requested=bool(data.tax_code or data.email),
    )
    OrderEvent.objects.create(order=order, kind="placed", actor_label="shopper:web")
    return order


def checkout_from_cart(session: Any, *, merchant: Merchant, data: CheckoutInput) -> Order:
    grouped = cart_lines(session)
    mine = next((lines for m, lines in grouped.items() if m.pk == merchant.pk), [])
    if not mine:
        raise ValidationFailed(fields={"lines": [_("Giỏ hàng của cửa hàng này đang trống.")]})
    sources = {line.source for line in mine if line.source}
    order = checkout(
        merchant=merchant,
        lines=[(line.product.pk, line.quantity) for line in mine],
        data=data,
        source=sorted(sources)[0] if sources else "",
    )
    _cart_forget(session, merchant)
    return order


# --- the merchant's side: online orders as they arrive ------------------------------------------

NEXT_STEPS: dict[str, dict[str, set[str]]] = {
    Fulfilment.PICKUP: {
        F.NEW: {F.ACCEPTED, F.CANCELED},
        F.ACCEPTED: {F.READY, F.CANCELED},
        F.READY: {F.COMPLETED, F.CANCELED},
    },
    Fulfilment.DELIVERY: {
        F.NEW: {F.ACCEPTED, F.CANCELED},
        F.ACCEPTED: {F.OUT_FOR_DELIVERY, F.CANCELED},
        F.OUT_FOR_DELIVERY: {F.COMPLETED, F.CANCELED},
    },
}


def on_order_paid(
    sender: Any, *, order_id: int, merchant_id: int, channel: str = "", **_: Any
) -> None:
    """A paid online order is news for the merchant: it enters their queue, live, with a sound."""
    if channel == Order.Channel.POS:  # a stall sale: no queue, and no lock to learn it
        return
    with transaction.atomic():
        order = lock_row(Order, order_id)
        if order.channel == Order.Channel.POS or order.fulfilment_status:
            return
        order.fulfilment_status = F.NEW
        order.save(update_fields=["fulfilment_status", "updated_at"])
        OrderEvent.objects.create(order=order, kind="paid", actor_label="payments")
    try:
        live.publish(
            merchant_id,
            {
                "type": "online_order",
                "order_id": order.pk,
                "number": order.number,
                "amount": order.total,
                "fulfilment": order.fulfilment,
            },
        )
    except Exception:  # the order is safe in the database; the list shows it on reload
        log.exception("could not publish online order %s", order.pk)


REFUND_CANCEL_OWNER_ONLY = _(
    "Chỉ chủ cửa hàng mới được hủy đơn đã thanh toán, vì hủy đơn sẽ hoàn tiền cho khách."
)


def order_advance(
    *, order_id: int, to: str, actor: User | None, reason: str = "", actor_label: str = ""
) -> Order:
    """Move a paid online order on (accept, ready / out for delivery, completed) or cancel it.
    Canceling a paid order refunds what is left of it through the payment path.

    A refund is the owner's: a signed-in ``actor`` who is not an owner of the order's merchant may
    take every other step but not a cancel that would refund (403). ``actor=None`` is a caller
    already allowed to act as an owner (the merchant's API key, a task).
    """
    label = f"user:{actor.pk}" if actor is not None else (actor_label or "system")
    with transaction.atomic(durable=True):
        order = lock_row(Order, order_id)
        if order.channel == Order.Channel.POS or not order.fulfilment_status:
            raise Conflict(
                _("Đơn này chưa được thanh toán hoặc không phải đơn trực tuyến."), code="not_online"
            )
        allowed = NEXT_STEPS.get(order.fulfilment, {}).get(order.fulfilment_status, set())
        if to == order.fulfilment_status and to != F.CANCELED:
            return order
        replay = to == order.fulfilment_status  # canceled again: finish the cancel's refund
        if to not in allowed and not replay:
            raise Conflict(
                _("Không thể chuyển đơn từ “%(from)s” sang “%(to)s”.")
                % {
                    "from": order.get_fulfilment_status_display(),
                    "to": dict(F.choices).get(to, to),
                },
                code="bad_transition",
            )
        if (
            to == F.CANCELED
            and order.refundable_amount > 0
            and actor is not None
            and not Membership.objects.filter(
                user_id=actor.pk, merchant_id=order.merchant_id, role=Membership.Role.OWNER
            ).exists()
        ):
            raise PermissionDenied(REFUND_CANCEL_OWNER_ONLY)
        if to == F.CANCELED and not nfc(reason) and not replay:
            raise ValidationFailed(fields={"reason": [_("Vui lòng ghi lý do hủy đơn cho khách.")]})
        if replay:
            last = order.events.filter(kind=F.CANCELED).last()
            reason = last.note if last else reason
        else:
            order.fulfilment_status = to
            order.save(update_fields=["fulfilment_status", "updated_at"])
            OrderEvent.objects.create(
                order=order, kind=to, note=nfc(reason)[:255], actor_label=label
            )
            audit_record(
                actor=actor, actor_label=label, action=f"order.{to}", target=order, reason=reason
            )
    if to == F.CANCELED:
        return _cancel_refund(order, reason=reason, actor=actor, actor_label=label)
    return order


def _cancel_refund(
    order: Order, *, reason: str, actor: User | None, actor_label: str = ""
) -> Order:
    """What is left of a canceled order goes back, once: the refund is bound to the cancel, so a
    retry after a crash between the two finishes it and never refunds twice."""
    key = f"order-cancel:{order.pk}"
    made = order.refunds.filter(payment_refund__request_key=key).first()
    if made is not None:
        amount = made.amount  # resume it (a pending e-wallet refund is sent again)
    else:
        reserved = (
            order.refunds.exclude(payment_refund__status=OrderRefund.Status.FAILED).aggregate(
                t=Sum("amount")
            )["t"]
            or 0
        )
        amount = order.total - reserved if order.is_paid else 0
    if amount > 0:
        orders.order_refund(
            order_id=order.pk,
            amount=amount,
            reason=str(_("Người bán hủy đơn: %(reason)s") % {"reason": nfc(reason)}),
            actor=actor,
            actor_label=actor_label,
            request_key=key,
        )
    return Order.objects.get(pk=order.pk)


# --- reviews ------------------------------------------------------------------------------------


def review_allowed(order: Order) -> bool:
    """Only a completed order whose money a bank or e-wallet confirmed may be reviewed."""
    return (
        order.fulfilment_status == F.COMPLETED
        and order.is_paid
        and order.payment_method in (Order.PaymentMethod.BANK_QR, Order.PaymentMethod.EWALLET)
        and order.intent_id is not None
    )


def review_create(
    *, token: str, product_id: int | None, rating: int, text: str, author_name: str = ""
) -> Review:
    order = Order.objects.filter(receipt_token=token).first()
    if order is None:
        raise NotFound(_("Không tìm thấy đơn hàng."))
    if not review_allowed(order):
        raise Conflict(
            _("Chỉ đánh giá được đơn đã hoàn thành và được ngân hàng hoặc ví xác nhận thanh toán."),
            code="review_not_allowed",
        )
    if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 5:
        raise ValidationFailed(fields={"rating": [_("Chọn từ 1 đến 5 sao.")]})
    if product_id is not None and not order.lines.filter(product_id=product_id).exists():
        raise ValidationFailed(fields={"product": [_("Sản phẩm không có trong đơn này.")]})
    with transaction.atomic():
        lock_row(Order, order.pk)
        mine = Review.objects.filter(order=order)
        exists = (
            mine.filter(product_id=product_id)
            if product_id is not None
            else mine.filter(product__isnull=True)
        ).exists()
        if exists:
            raise Conflict(_("Bạn đã đánh giá món này cho đơn này rồi."), code="already_reviewed")
        return Review.objects.create(
            order=order,
            merchant_id=order.merchant_id,
            product_id=product_id,
            rating=rating,
            text=nfc(text)[:2000],
            author_name=nfc(author_name or order.buyer_name)[:120] or str(_("Khách hàng")),
        )


def review_reply(*, review_id: int, merchant: Merchant, text: str, actor: User | None) -> Review:
    text = nfc(text)
    if not text:
        raise ValidationFailed(fields={"reply": [_("Vui lòng nhập nội dung trả lời.")]})
    with transaction.atomic():
        review = lock_row(Review, review_id)
        if review.merchant_id != merchant.pk:
            raise NotFound(_("Không tìm thấy đánh giá."))
        if review.replied_at is not None:
            raise Conflict(_("Cửa hàng đã trả lời đánh giá này."), code="already_replied")
        review.reply = text[:2000]
        review.replied_at = timezone.now()
        review.save(update_fields=["reply", "replied_at"])
    return review


def review_report(*, review_id: int, reason: str) -> Review:
    with transaction.atomic():
        review = lock_row(Review, review_id)
        if review.status == Review.Status.VISIBLE:
            review.status = Review.Status.REPORTED
            review.report_reason = nfc(reason)[:255] or str(_("Không có lý do"))
            review.save(update_fields=["status", "report_reason"])
    return review


MODERATE_PERMISSION = "market.moderate_review"


def review_moderate(*, review_id: int, actor: User, hide: bool) -> Review:
    from core.errors import PermissionDenied

    if not actor.has_perm(MODERATE_PERMISSION):
        raise PermissionDenied(_("Bạn không có quyền kiểm duyệt đánh giá."))
    with transaction.atomic():
        review = lock_row(Review, review_id)
        review.status = Review.Status.HIDDEN if hide else Review.Status.VISIBLE
        review.save(update_fields=["status"])
        audit_record(
            actor=actor,
            actor_label=f"user:{actor.pk}",
            action="review.hide" if hide else "review.restore",
            target=review,
        )
    return review
