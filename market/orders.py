"""Writes for sales: orders on every channel, their payment, refunds.

An order asks ``payments`` for an intent whose ``reference`` is the order number. ``payments``
never imports ``market``: it announces settled payments and refunds by signal after commit, and
``order_sync`` (idempotent, called by those signals, by the pages when they load and by a periodic
task) brings the order up to date from its intent, so a sale is never lost if a signal is.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import audit_record
from core.errors import Conflict, ValidationFailed
from core.locking import lock_row
from core.taxcode import is_personal_id, normalize_tax_code
from core.text import nfc
from merchants.models import Merchant, Product, User
from payments import services as payments
from payments.models import PaymentIntent, Refund

from .models import Order, OrderLine, OrderRefund, Stall

log = logging.getLogger(__name__)

S = Order.Status
M = Order.PaymentMethod

MAX_LINES = 50
MAX_QUANTITY = Decimal("9999")
MAX_ORDER_TOTAL = 500_000_000
NUMBER_ALPHABET = "ACDEFHJKMNPRTUVWXY34679"
ORPHAN_MINUTES = 30


@dataclass(frozen=True)
class LineInput:
    """One line as a cashier keys it: a catalogue product and a quantity, or a free amount."""

    product_id: int | None = None
    quantity: Decimal = Decimal(1)
    # A free amount from the keypad (no product): its price and, optionally, a label.
    unit_price: int | None = None
    name: str = ""


@dataclass(frozen=True)
class BuyerInput:
    name: str = ""
    phone: str = ""
    email: str = ""
    tax_code: str = ""
    citizen_id: str = ""
    address: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OnlineInput:
    """How an online or exhibition order reaches the shopper."""

    fulfilment: str  # "pickup" or "delivery"
    pickup_at: datetime | None = None
    delivery_address: str = ""
    note: str = ""

    def fields(self) -> dict[str, Any]:
        return {
            "fulfilment": self.fulfilment,
            "fulfilment_status": "",
            "pickup_at": self.pickup_at,
            "delivery_address": nfc(self.delivery_address).strip()[:255],
            "shopper_note": nfc(self.note).strip()[:255],
        }


def parse_quantity(raw: object) -> Decimal:
    """'0,35' (the Vietnamese decimal comma), '0.35', 2 or Decimal('1.5') -> Decimal; 3 decimals
    at most (grams of a kilo); more than 0 and at most 9 999."""
    text = str(raw).strip().replace(" ", "").replace(",", ".")
    try:
        quantity = Decimal(text)
    except (InvalidOperation, ValueError):
        raise ValidationFailed(
            fields={"quantity": [_("Số lượng không hợp lệ, ví dụ 2 hoặc 0,35.")]}
        ) from None
    if not quantity.is_finite() or quantity <= 0 or quantity > MAX_QUANTITY:
        raise ValidationFailed(fields={"quantity": [_("Số lượng phải lớn hơn 0 và tối đa 9.999.")]})
    if quantity != quantity.quantize(Decimal("0.001")):
        raise ValidationFailed(fields={"quantity": [_("Số lượng tối đa 3 chữ số thập phân.")]})
    return quantity.quantize(Decimal("0.001"))


def line_amount(unit_price: int, quantity: Decimal) -> int:
    """Whole đồng, half up: 180.000 đ/kg × 0,35 kg = 63.000 đ; 25.500 × 0,333 = 8.492 (8.491,5)."""
    return int((Decimal(unit_price) * quantity).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _new_number() -> str:
    day = timezone.localdate().strftime("%y%m%d")
    return f"DH{day}-" + "".join(secrets.choice(NUMBER_ALPHABET) for _ in range(5))


def _clean_buyer(buyer: BuyerInput | None) -> dict[str, str]:
    if buyer is None:
        return {}
    errors: dict[str, list[Any]] = {}
    tax_code = buyer.tax_code.strip().replace(" ", "")
    citizen_id = buyer.citizen_id.strip().replace(" ", "")
    if tax_code:
        try:
            tax_code = normalize_tax_code(tax_code)
        except DjangoValidationError as exc:
            errors["tax_code"] = list(exc.messages)
        else:
            if is_personal_id(tax_code) and not citizen_id:
                tax_code, citizen_id = "", tax_code  # a 12-digit personal ID typed as tax code
    if citizen_id and not is_personal_id(citizen_id):
        errors["citizen_id"] = [_("Số CCCD / định danh cá nhân gồm 12 chữ số, mã tỉnh 001–096.")]
    if errors:
        raise ValidationFailed(fields=errors)
    return {
        "buyer_name": nfc(buyer.name).strip()[:120],
        "buyer_phone": buyer.phone.strip()[:16],
        "buyer_email": buyer.email.strip()[:254],
        "buyer_tax_code": tax_code,
        "buyer_citizen_id": citizen_id,
        "buyer_address": nfc(buyer.address).strip()[:255],
    }


def _build_lines(merchant: Merchant, lines: list[LineInput]) -> list[OrderLine]:
    if not lines:
        raise ValidationFailed(fields={"lines": [_("Đơn hàng chưa có món nào.")]})
    if len(lines) > MAX_LINES:
        raise ValidationFailed(fields={"lines": [_("Mỗi đơn tối đa 50 dòng.")]})
    product_ids = {line.product_id for line in lines if line.product_id is not None}
    products = {
        p.pk: p
        for p in Product.objects.filter(merchant=merchant, pk__in=product_ids, is_active=True)
    }
    built: list[OrderLine] = []
    for position, line in enumerate(lines, start=1):
        quantity = parse_quantity(line.quantity)
        if line.product_id is not None:
            product = products.get(line.product_id)
            if product is None:
                raise ValidationFailed(
                    fields={
                        "lines": [_("Sản phẩm không có trong danh mục đang bán của cửa hàng.")]
                    },
                    code="unknown_product",
                )
            if not product.sold_by_weight and quantity != quantity.to_integral_value():
                raise ValidationFailed(
                    fields={
                        "quantity": [
                            _("“%(name)s” bán theo %(unit)s, số lượng là số nguyên.")
                            % {"name": product.name, "unit": product.unit}
                        ]
                    }
                )
            name, unit, price, tax = product.name, product.unit, product.price, product.tax_category
        else:
            free_price = line.unit_price
            if not isinstance(free_price, int) or isinstance(free_price, bool) or free_price <= 0:
                raise ValidationFailed(fields={"amount": [_("Số tiền là số đồng nguyên dương.")]})
            price = free_price
            name = nfc(line.name).strip()[:120] or str(_("Tiền hàng"))
            unit, tax = "", Product.TaxCategory.NOT_SUBJECT
            product = None
        amount = line_amount(price, quantity)
        if amount <= 0:
            raise ValidationFailed(fields={"quantity": [_("Thành tiền phải từ 1 đồng trở lên.")]})
        built.append(
            OrderLine(
                position=position,
                product=product,
                name=name,
                unit=unit,
                unit_price=price,
                quantity=quantity,
                amount=amount,
                tax_category=tax,
            )
        )
    return built


def order_create(
    *,
    merchant: Merchant,
    lines: list[LineInput],
    payment_method: str,
    actor: User | None,
    channel: str = Order.Channel.POS,
    stall: Stall | None = None,
    buyer: BuyerInput | None = None,
    actor_label: str = "",
    source_ref: str = "",
    online: OnlineInput | None = None,
    invoice_requested: bool = False,
) -> Order:
    """Record a sale and ask to be paid: a bank-QR or e-wallet intent for the total, or, for
    cash, paid at once (the cashier took the notes)."""
    if payment_method not in M.values:
        raise ValidationFailed(
            fields={"payment_method": [_("Chọn chuyển khoản, ví điện tử hoặc tiền mặt.")]}
        )
    built = _build_lines(merchant, lines)
    total = sum(line.amount for line in built)
    if total > MAX_ORDER_TOTAL:
        raise ValidationFailed(fields={"lines": [_("Tổng đơn tối đa 500.000.000 đ.")]})
    if payment_method == M.BANK_QR and not merchant.bank_accounts.filter(is_default=True).exists():
        raise ValidationFailed(
            _("Cửa hàng chưa có tài khoản ngân hàng nhận tiền."), code="no_bank_account"
        )
    buyer_fields = _clean_buyer(buyer)
    if stall is None and channel == Order.Channel.POS:
        stall = merchant.stalls.order_by("pk").first()
    label = f"user:{actor.pk}" if actor is not None else (actor_label or "system")
    now = timezone.now()
    cash = payment_method == M.CASH
    for _attempt in range(5):
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    merchant=merchant,
                    stall=stall,
                    number=_new_number(),
                    channel=channel,
                    status=S.PAID if cash else S.AWAITING_PAYMENT,
                    payment_method=payment_method,
                    total=total,
                    amount_paid=total if cash else 0,
                    paid_at=now if cash else None,
                    receipt_token=secrets.token_urlsafe(16),
                    cashier=actor,
                    source_ref=source_ref[:64],
                    invoice_requested_at=now if invoice_requested else None,
                    **buyer_fields,
                    **(online.fields() if online else {}),
                )
                for line in built:
                    line.order = order
                OrderLine.objects.bulk_create(built)
                audit_record(
                    actor=actor,
                    actor_label=label,
                    action="order.create",
                    target=order,
                    data={"total": total, "method": payment_method, "lines": len(built)},
                )
            break
        except IntegrityError:
            continue  # number collision: draw again
    else:  # pragma: no cover
        raise Conflict(_("Không tạo được đơn, vui lòng thử lại."))
    if cash:
        transaction.on_commit(lambda: _announce_paid(order))
        return order
    return order_request_payment(order=order, actor=actor, actor_label=label)


def order_request_payment(
    *, order: Order, actor: User | None, method: str = "", actor_label: str = ""
) -> Order:
    """(Re)ask to be paid: a new intent for an unpaid order, e.g. after the QR expired or the
    shopper wants to pay another way. Switching to cash settles the order at once."""
    method = method or order.payment_method
    if method not in M.values:
        raise ValidationFailed(
            fields={"payment_method": [_("Chọn chuyển khoản, ví điện tử hoặc tiền mặt.")]}
        )
    previous = order.intent_id
    if method == M.CASH:
        with transaction.atomic(durable=True):
            locked = lock_row(Order, order.pk)
            _require_unpaid(locked)
            locked.payment_method = M.CASH
            locked.status = S.PAID
            locked.amount_paid = locked.total
            locked.paid_at = timezone.now()
            locked.save(
                update_fields=["payment_method", "status", "amount_paid", "paid_at", "updated_at"]
            )
        _cancel_intent_quietly(previous, actor)
        transaction.on_commit(lambda: _announce_paid(locked))
        return locked
    _require_unpaid(order)
    try:
        intent = payments.intent_create(
            merchant=order.merchant,
            amount=order.total,
            method=method,
            actor=actor,
            actor_label=actor_label,
            reference=order.number,
            description=f"{order.merchant.display_name} {order.number}"[:140],
        )
    except Exception:
        if order.intent_id is None:
            order_cancel(order_id=order.pk, actor=actor, reason="payment_unavailable")
        raise
    stale: int | None
    with transaction.atomic(durable=True):
        locked = lock_row(Order, order.pk)
        if locked.status != S.AWAITING_PAYMENT:
            # Paid or canceled meanwhile: the new intent is not needed.
            stale = intent.pk
        else:
            stale = previous
            locked.intent = intent
            locked.payment_method = method
            locked.save(update_fields=["intent", "payment_method", "updated_at"])
    _cancel_intent_quietly(stale, actor)
    return locked


def _require_unpaid(order: Order) -> None:
    if order.status == S.CANCELED:
        raise Conflict(_("Đơn đã hủy."), code="order_canceled")
    if order.status != S.AWAITING_PAYMENT:
        raise Conflict(_("Đơn đã được thanh toán."), code="order_already_paid")


def _cancel_intent_quietly(intent_id: int | None, actor: Any) -> None:
    if intent_id is None:
        return
    # Already paid or expired: order_sync sees a payment if one came.
    with contextlib.suppress(Conflict):
        payments.intent_cancel(intent_id=intent_id, actor=actor, actor_label="order")
    # A payment to an old intent settles that intent; order_sync then counts it for this order.


def order_cancel(*, order_id: int, actor: Any, reason: str = "") -> Order:
    """Give up an unpaid order (the shopper walked away). A paid order is refunded instead."""
    with transaction.atomic(durable=True):
        order = lock_row(Order, order_id)
        if order.status == S.CANCELED:
            return order
        _require_unpaid(order)
        order.status = S.CANCELED
        order.canceled_at = timezone.now()
        order.save(update_fields=["status", "canceled_at", "updated_at"])
        audit_record(
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            actor_label=f"user:{actor.pk}" if getattr(actor, "pk", None) else "system",
            action="order.cancel",
            target=order,
            reason=reason,
        )
    _cancel_intent_quietly(order.intent_id, actor)
    return order


# --- following the money -----------------------------------------------------------------------


def order_sync(*, order_id: int) -> Order:
    """Bring an order up to date with its payment and refunds. Idempotent; safe from any path.

    Paid: any intent with this order's number that settled (the current one, or an earlier one a
    shopper paid late). Refunds: each e-wallet refund counts once the provider confirmed it.
    """
    order = Order.objects.get(pk=order_id)
    if order.payment_method == M.CASH and not order.refunds.filter(status="pending").exists():
        return order
    paid_intent = (
        PaymentIntent.objects.filter(
            merchant_id=order.merchant_id,
            reference=order.number,
            status__in=[
                PaymentIntent.Status.SUCCEEDED,
                PaymentIntent.Status.PARTIALLY_REFUNDED,
                PaymentIntent.Status.REFUNDED,
            ],
        )
        .order_by("succeeded_at", "pk")
        .first()
    )
    needs_payment = order.status in (S.AWAITING_PAYMENT, S.CANCELED) and paid_intent is not None
    pending = order.refunds.filter(status=OrderRefund.Status.PENDING, payment_refund__isnull=False)
    if not needs_payment and not pending.exists():
        return order
    paid_now = False
    with transaction.atomic(durable=True):
        order = lock_row(Order, order_id)
        if paid_intent is not None and order.status in (S.AWAITING_PAYMENT, S.CANCELED):
            # Money came even for a canceled order (the shopper paid a QR still on screen):
            # it is a sale, and the trader may refund it.
            order.status = S.PAID
            order.intent = paid_intent
            order.payment_method = paid_intent.method
            order.amount_paid = paid_intent.amount_received
            order.bank_reference = paid_intent.bank_reference
            order.paid_at = paid_intent.succeeded_at
            order.canceled_at = None
            order.save()
            paid_now = True
        for refund in order.refunds.filter(
            status=OrderRefund.Status.PENDING, payment_refund__isnull=False
        ).select_related("payment_refund"):
            assert refund.payment_refund is not None
            if refund.payment_refund.status == Refund.Status.PENDING:
                continue
            refund.status = refund.payment_refund.status
            refund.confirmed_at = refund.payment_refund.confirmed_at
            refund.save(update_fields=["status", "confirmed_at"])
            if refund.status == OrderRefund.Status.SUCCEEDED:
                _announce_refunded(order, refund.pk)
        _recount_refunds(order)
    if paid_now:
        transaction.on_commit(lambda: _announce_paid(order))
    return order


def _recount_refunds(order: Order) -> None:
    """Under the order's lock: amount_refunded and status from the succeeded refunds."""
    refunded = (
        order.refunds.filter(status=OrderRefund.Status.SUCCEEDED).aggregate(t=Sum("amount"))["t"]
        or 0
    )
    if not order.is_paid:
        return
    status = (
        S.PAID
        if refunded == 0
        else (S.REFUNDED if refunded >= order.total else S.PARTIALLY_REFUNDED)
    )
    if (order.amount_refunded, order.status) != (refunded, status):
        order.amount_refunded = refunded
        order.status = status
        order.save(update_fields=["amount_refunded", "status", "updated_at"])


def _announce_paid(order: Order) -> None:
    from .signals import order_paid

    order_paid.send_robust(sender=Order, order_id=order.pk, merchant_id=order.merchant_id)


def _announce_refunded(order: Order, refund_id: int) -> None:
    """After commit: a refund counted on the order (the e-invoice wiring adjusts the invoice)."""
    from .signals import order_refunded

    transaction.on_commit(
        lambda: order_refunded.send_robust(sender=Order, order_id=order.pk, refund_id=refund_id)
    )


def on_payment_succeeded(sender: Any, *, reference: str = "", merchant_id: int, **_: Any) -> None:
    if not reference:
        return
    order_id = (
        Order.objects.filter(merchant_id=merchant_id, number=reference)
        .values_list("pk", flat=True)
        .first()
    )
    if order_id is not None:
        order_sync(order_id=order_id)


def on_refund_changed(sender: Any, *, reference: str = "", **_: Any) -> None:
    order_id = Order.objects.filter(number=reference).values_list("pk", flat=True).first()
    if reference and order_id is not None:
        order_sync(order_id=order_id)


def orders_sync_due(*, older_than_seconds: int = 30, limit: int = 500) -> int:
    """The safety net (periodic task): unpaid orders whose intent settled, pending refunds."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    paid_refs = PaymentIntent.objects.filter(
        reference__startswith="DH",
        status__in=[
            PaymentIntent.Status.SUCCEEDED,
            PaymentIntent.Status.PARTIALLY_REFUNDED,
            PaymentIntent.Status.REFUNDED,
        ],
        succeeded_at__lte=cutoff,
    ).values("reference")
    unpaid = Order.objects.filter(
        status__in=[S.AWAITING_PAYMENT, S.CANCELED], number__in=paid_refs
    ).values_list("pk", flat=True)[:limit]
    pending = OrderRefund.objects.filter(
        status=OrderRefund.Status.PENDING,
        payment_refund__status__in=[Refund.Status.SUCCEEDED, Refund.Status.FAILED],
    ).values_list("order_id", flat=True)[:limit]
    ids = set(unpaid) | set(pending)
    for order_id in ids:
        order_sync(order_id=order_id)
    # A sale whose process died between recording it and asking for payment never had a QR:
    # nobody can have paid it, so after a while it is canceled (the POS page asks again sooner).
    orphans = Order.objects.filter(
        status=S.AWAITING_PAYMENT,
        intent__isnull=True,
        created_at__lte=timezone.now() - timedelta(minutes=ORPHAN_MINUTES),
    ).values_list("pk", flat=True)[:limit]
    for order_id in orphans:
        with contextlib.suppress(Conflict):
            order_cancel(order_id=order_id, actor=None, reason="no_payment_request")
    return len(ids)


# --- refunds -------------------------------------------------------------------------------------


def order_refund(
    *,
    order_id: int,
    amount: int | None,
    reason: str,
    actor: User | None,
    line_id: int | None = None,
    actor_label: str = "",
) -> OrderRefund:
    """Give money back on a paid order, in full or in part (``amount``) or for one line.

    E-wallet: through the provider, counted when it confirms. Bank QR and cash: the trader paid
    the shopper back by hand; recorded at once (and in the bank ledger for a QR sale).
    """
    reason = nfc(reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": [_("Vui lòng ghi lý do hoàn tiền.")]})
    label = f"user:{actor.pk}" if actor is not None else (actor_label or "system")
    line: OrderLine | None = None
    if line_id is not None:
        line = OrderLine.objects.filter(order_id=order_id, pk=line_id).first()
        if line is None:
            raise ValidationFailed(fields={"line": [_("Dòng hàng không thuộc đơn này.")]})
        if amount is None:
            amount = line.amount
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationFailed(fields={"amount": [_("Số tiền hoàn là số đồng nguyên dương.")]})
    with transaction.atomic(durable=True):
        order = lock_row(Order, order_id)
        if not order.is_paid:
            raise Conflict(_("Chỉ hoàn tiền cho đơn đã thanh toán."), code="order_not_paid")
        if order.status == S.REFUNDED:
            raise Conflict(_("Đơn này đã được hoàn hết tiền."), code="order_already_refunded")
        reserved = (
            order.refunds.exclude(status=OrderRefund.Status.FAILED).aggregate(t=Sum("amount"))["t"]
            or 0
        )
        if amount > order.total - reserved:
            raise ValidationFailed(
                fields={
                    "amount": [
                        _("Số tiền hoàn vượt quá số còn lại của đơn (%(left)s đ).")
                        % {"left": f"{order.total - reserved:,}".replace(",", ".")}
                    ]
                },
                code="refund_too_large",
            )
        if line is not None:
            line_reserved = (
                line.refunds.exclude(status=OrderRefund.Status.FAILED).aggregate(t=Sum("amount"))[
                    "t"
                ]
                or 0
            )
            if amount > line.amount - line_reserved:
                raise ValidationFailed(
                    fields={"amount": [_("Số tiền hoàn vượt quá thành tiền của dòng hàng.")]},
                    code="refund_too_large",
                )
        refund = OrderRefund.objects.create(
            order=order, amount=amount, reason=reason[:255], line=line, created_by=actor
        )
        audit_record(
            actor=actor,
            actor_label=label,
            action="order.refund",
            target=order,
            reason=reason,
            data={"amount": amount, "line": line_id},
        )
        if order.payment_method == M.CASH or order.intent_id is None:
            refund.status = OrderRefund.Status.SUCCEEDED
            refund.confirmed_at = timezone.now()
            refund.save(update_fields=["status", "confirmed_at"])
            _recount_refunds(order)
            _announce_refunded(order, refund.pk)
            return refund
    # Money through payments: outside the order's transaction (the e-wallet call is HTTP).
    assert order.intent_id is not None
    try:
        payment_refund = payments.refund_open(
            intent_id=order.intent_id,
            amount=amount,
            reason=reason,
            actor=actor,
            actor_label=label,
        )
    except Exception:
        with transaction.atomic(durable=True):
            lock_row(Order, order_id)
            OrderRefund.objects.filter(pk=refund.pk).update(status=OrderRefund.Status.FAILED)
        raise
    OrderRefund.objects.filter(pk=refund.pk).update(payment_refund=payment_refund)
    if payment_refund.intent.method == PaymentIntent.Method.EWALLET:
        from payments.ewallet import refund_send

        refund_send(refund_id=payment_refund.pk)
    else:
        payments.refund_confirm(refund_id=payment_refund.pk)
    order_sync(order_id=order_id)
    refund.refresh_from_db()
    return refund


# --- the shopper's e-invoice request -----------------------------------------------------------


def order_request_invoice(*, order_id: int, buyer: BuyerInput) -> Order:
    """The receipt's "Yêu cầu hóa đơn": the shopper's details for an e-invoice of a paid order.

    A company needs its name, tax code and address; a person their name, and a citizen ID if
    they want it on the invoice. Sent after commit as ``invoice_requested`` for the invoice engine.
    """
    fields = _clean_buyer(buyer)
    errors: dict[str, list[Any]] = {}
    if not fields["buyer_name"]:
        errors["name"] = [_("Vui lòng nhập tên người mua hoặc tên đơn vị.")]
    if fields["buyer_tax_code"] and not fields["buyer_address"]:
        errors["address"] = [_("Hóa đơn cho doanh nghiệp cần địa chỉ theo đăng ký thuế.")]
    if fields["buyer_email"]:
        from django.core.validators import validate_email

        try:
            validate_email(fields["buyer_email"])
        except DjangoValidationError:
            errors["email"] = [_("Email không đúng định dạng.")]
    if errors:
        raise ValidationFailed(fields=errors)
    with transaction.atomic(durable=True):
        order = lock_row(Order, order_id)
        if not order.is_paid:
            raise Conflict(_("Chỉ yêu cầu hóa đơn cho đơn đã thanh toán."), code="order_not_paid")
        for name, value in fields.items():
            setattr(order, name, value)
        order.invoice_requested_at = timezone.now()
        order.save()
        audit_record(
            actor=None,
            actor_label="shopper:receipt",
            action="order.invoice_request",
            target=order,
            data={
                "tax_code": fields["buyer_tax_code"],
                "has_citizen_id": bool(fields["buyer_citizen_id"]),
            },
        )
    from .signals import invoice_requested

    transaction.on_commit(lambda: invoice_requested.send_robust(sender=Order, order_id=order.pk))
    return order
