"""Writes for sales: orders on every channel, their payment, refunds, the shopper's invoice
request.

An order asks ``payments`` for an intent whose ``reference`` is the order number; the order then
follows its money in the money's own transaction (``settling.py``: the books can never disagree
with the money). The sale's bank account is read along with other reads (``qr_account.py``).
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
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import audit_entry, audit_record
from core.db import (
    PkOf,
    can_insert_together,
    insert_together,
    select_rows,
)
from core.errors import Conflict, ValidationFailed
from core.locking import lock_row
from core.models import AuditLog
from core.taxcode import is_personal_id, normalize_tax_code
from core.text import nfc
from merchants.models import BankAccount, Merchant, Product, User
from payments import refunds as payment_refunds
from payments import services as payments
from payments.models import Refund

from ..models import Order, OrderLine, OrderRefund, Stall
from . import qr_account

log = logging.getLogger(__name__)

S = Order.Status
M = Order.PaymentMethod

MAX_LINES = 50
MAX_QUANTITY = Decimal("9999")
MAX_ORDER_TOTAL = 500_000_000
NUMBER_ALPHABET = "ACDEFHJKMNPRTUVWXY34679"
ORPHAN_MINUTES = 30
OFFLINE_GRACE = timedelta(seconds=5)  # cash paid earlier than this: a sale the POS kept offline


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


def new_number() -> str:
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


def _build_lines(
    merchant: Merchant, lines: list[LineInput], *, with_account: bool = False
) -> list[OrderLine]:
    if not lines:
        raise ValidationFailed(fields={"lines": [_("Đơn hàng chưa có món nào.")]})
    if len(lines) > MAX_LINES:
        raise ValidationFailed(fields={"lines": [_("Mỗi đơn tối đa 50 dòng.")]})
    product_ids = {line.product_id for line in lines if line.product_id is not None}
    products: dict[int, Product] = {}
    if product_ids:
        # Written once, not compiled per sale; with the sale's bank account in the same read.
        ids = sorted({int(pk) for pk in product_ids})  # as the ORM would take them
        where = (
            'WHERE "merchants_product"."merchant_id" = %s AND "merchants_product"."is_active" '
            f'AND "merchants_product"."id" IN ({", ".join(["%s"] * len(ids))})'
        )
        rows = select_rows(
            Product,
            where,
            [merchant.pk, *ids],
            extra=qr_account.PRODUCT_QR_ACCOUNT if with_account else "",
        )
        for row in rows:
            qr_account.read_along(row)
        products = {p.pk: p for p in rows}
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
    if with_account and products:
        qr_account.qr_account_keep(merchant, next(iter(products.values())))
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
    request_key: str = "",
    paid_at: datetime | None = None,
) -> Order:
    """Record a sale and ask to be paid: a bank-QR or e-wallet intent for the total, or, for
    cash, paid at once (the cashier took the notes; ``payments`` records it).

    A bank-QR sale is one transaction: the order, its lines, its intent and both audit rows
    (issue 15: two reads before it, one insert per table in it; on PostgreSQL one statement,
    ``core.db.insert_together``, with no BEGIN and COMMIT). The order comes back with its
    lines and intent in hand, so the answer needs no read.

    ``request_key`` binds the sale to the request that made it: the same request again (after a
    crash or a lost answer) resumes this sale instead of making a second one. The unique column
    says so: a second insert with the key fails and the first sale is resumed.

    ``paid_at``: a cash sale the POS kept while it had no network is paid when the notes were
    taken, as bounded by ``offline_sales.sale_time`` (ignored for other methods).
    """
    if payment_method not in M.values:
        raise ValidationFailed(
            fields={"payment_method": [_("Chọn chuyển khoản, ví điện tử hoặc tiền mặt.")]}
        )
    # An account read with an earlier read of this request (``with_qr_account``): taken once.
    in_hand = qr_account.take(merchant)
    built = _build_lines(merchant, lines, with_account=payment_method == M.BANK_QR)
    in_hand = qr_account.take(merchant, in_hand)
    total = sum(line.amount for line in built)
    if total > MAX_ORDER_TOTAL:
        raise ValidationFailed(fields={"lines": [_("Tổng đơn tối đa 500.000.000 đ.")]})
    if payment_method != M.CASH:  # no sale for an amount no bank or wallet would carry
        payments.intent_amount_check(amount=total, method=payment_method)
    buyer_fields = _clean_buyer(buyer)
    stall_id = stall.pk if stall is not None else None
    account: BankAccount | None = None
    first_stall = stall is None and channel == Order.Channel.POS
    if payment_method == M.BANK_QR:
        account = (
            qr_account.default_account(merchant, with_first_stall=first_stall)
            if in_hand is qr_account.UNREAD
            else in_hand
        )
        if account is None:
            raise ValidationFailed(
                _("Cửa hàng chưa có tài khoản ngân hàng nhận tiền."), code="no_bank_account"
            )
        if first_stall:
            stall_id = account.first_stall_id  # type: ignore[attr-defined,union-attr]
    elif first_stall:
        stall_id = (
            merchant.stalls.order_by("pk").values_list("pk", flat=True).first()  # type: ignore[attr-defined]
        )
    label = f"user:{actor.pk}" if actor is not None else (actor_label or "system")
    now = timezone.now()
    cash_later = payment_method == M.CASH and paid_at is not None  # made offline, synced now
    for _attempt in range(5):
        # PostgreSQL, a bank-QR sale: every insert in one statement, atomic by itself.
        together = account is not None and can_insert_together()
        try:
            with contextlib.nullcontext() if together else transaction.atomic(durable=True):
                order = Order(
                    merchant=merchant,
                    stall_id=stall_id,
                    number=new_number(),
                    channel=channel,
                    status=S.AWAITING_PAYMENT,
                    payment_method=payment_method,
                    total=total,
                    receipt_token=secrets.token_urlsafe(16),
                    cashier=actor,
                    source_ref=source_ref[:64],
                    invoice_requested_at=now if invoice_requested else None,
                    request_key=request_key or None,
                    **buyer_fields,
                    **(online.fields() if online else {}),
                )
                audits = []
                if account is not None:  # the QR first: the order refers to it
                    intent, intent_audit = payments.intent_add_bank_qr(
                        merchant=merchant,
                        account=account,
                        amount=total,
                        reference=order.number,
                        description=f"{merchant.display_name} {order.number}"[:140],
                        actor=actor,
                        actor_label=label,
                        save=not together,
                    )
                    order.intent = intent
                    audits.append(intent_audit)
                if not together:
                    order.save(force_insert=True)
                for line in built:
                    line.order = order
                order_audit = audit_entry(
                    actor=actor,
                    actor_label=label,
                    action="order.create",
                    target=order,
                    data={"total": total, "method": payment_method, "lines": len(built)}
                    | ({"sold_at": paid_at.isoformat()} if paid_at and cash_later else {}),
                )
                audits.insert(0, order_audit)
                if together:
                    order_audit.target_id = PkOf(order, text=True)  # type: ignore[assignment]
                    insert_together([[intent], [order], built, audits])
                else:
                    OrderLine.objects.bulk_create(built)
                    AuditLog.objects.bulk_create(audits)
            break
        except IntegrityError:
            if request_key:
                existing = Order.objects.filter(request_key=request_key).first()
                if existing is not None:  # the same request again, or racing: resume that sale
                    if existing.merchant_id != merchant.pk:
                        raise ValidationFailed(
                            _("Idempotency-Key này đã được dùng cho một yêu cầu khác."),
                            code="idempotency_key_reused",
                        ) from None
                    return _resume(existing, actor=actor, actor_label=label)
            continue  # an order number or reference code drawn twice: draw again
    else:  # pragma: no cover
        raise Conflict(_("Không tạo được đơn, vui lòng thử lại."))
    if account is not None:
        _in_hand(order, built)
        return order
    return order_request_payment(
        order=order, actor=actor, actor_label=label, paid_at=paid_at if cash_later else None
    )


def _in_hand(order: Order, lines: list[OrderLine]) -> None:
    """Fill ``order.lines.all()`` and ``order.refunds.all()`` (none yet) from what was just
    written, as ``prefetch_related`` would, so the answer is built without reading them back."""
    cache: dict[str, Any] = {}
    for name, rows in (("lines", lines), ("refunds", [])):
        queryset = getattr(order, name).all()
        queryset._result_cache = list(rows)
        queryset._prefetch_done = True
        cache[name] = queryset
    order._prefetched_objects_cache = cache  # type: ignore[attr-defined]


def _resume(order: Order, *, actor: User | None, actor_label: str) -> Order:
    """A sale made by an earlier try of the same request: finish asking to be paid if that try
    died before it could, else answer with the sale as it stands."""
    if order.status == S.AWAITING_PAYMENT and order.intent_id is None:
        return order_request_payment(order=order, actor=actor, actor_label=actor_label)
    return Order.objects.get(pk=order.pk)


def order_request_payment(
    *,
    order: Order,
    actor: User | None,
    method: str = "",
    actor_label: str = "",
    paid_at: datetime | None = None,
) -> Order:
    """(Re)ask to be paid: a new intent for an unpaid order, e.g. after the QR expired or the
    shopper wants to pay another way. Cash settles the order at once (in ``payments``)."""
    method = method or order.payment_method
    if method not in M.values:
        raise ValidationFailed(
            fields={"payment_method": [_("Chọn chuyển khoản, ví điện tử hoặc tiền mặt.")]}
        )
    order = Order.objects.get(pk=order.pk)
    _require_unpaid(order)
    previous = order.intent_id
    if method == M.CASH:
        try:
            payments.intent_record_cash(
                merchant=order.merchant,
                amount=order.total,
                reference=order.number,
                actor=actor,
                actor_label=actor_label,
                description=f"{order.merchant.display_name} {order.number}"[:140],
                paid_at=paid_at,
            )
        except Conflict as exc:
            if exc.code == "already_paid":
                raise Conflict(_("Đơn đã được thanh toán."), code="order_already_paid") from None
            raise
        _cancel_intent_quietly(previous, actor)
        return Order.objects.get(pk=order.pk)
    try:
        intent = payments.intent_create(
            merchant=order.merchant,
            amount=order.total,
            method=method,
            actor=actor,
            actor_label=actor_label,
            reference=order.number,
            description=f"{order.merchant.display_name} {order.number}"[:140],
            one_per_reference=True,  # the order number names one sale, paid once
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
    # Already paid or expired: a payment that came is the sale's (or booked as unmatched).
    with contextlib.suppress(Conflict):
        payments.intent_cancel(intent_id=intent_id, actor=actor, actor_label="order")


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


def orders_sweep(*, limit: int = 500) -> int:
    """Periodic: a sale whose process died between recording it and asking for payment never
    had a QR; nobody can have paid it, so after a while it is canceled (the sale's page offers a
    new QR sooner). Returns how many were canceled."""
    orphans = Order.objects.filter(
        status=S.AWAITING_PAYMENT,
        intent__isnull=True,
        created_at__lte=timezone.now() - timedelta(minutes=ORPHAN_MINUTES),
    ).values_list("pk", flat=True)[:limit]
    canceled = 0
    for order_id in list(orphans):
        with contextlib.suppress(Conflict):
            order_cancel(order_id=order_id, actor=None, reason="no_payment_request")
            canceled += 1
    return canceled


# --- refunds -------------------------------------------------------------------------------------


def order_refund(
    *,
    order_id: int,
    amount: int | None,
    reason: str,
    actor: User | None,
    line_id: int | None = None,
    actor_label: str = "",
    request_key: str = "",
) -> OrderRefund:
    """Give money back on a paid order, in full or in part (``amount``) or for one line.

    The money goes back through ``payments.refunds.refund_start`` the way it came: the e-wallet
    (counted when it confirms), or a payout the trader made by transfer or in cash (counted at
    once).
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
    order = Order.objects.get(pk=order_id)
    if request_key:
        done = OrderRefund.objects.filter(payment_refund__request_key=request_key).first()
        if done is not None and done.payment_refund.status != Refund.Status.PENDING:
            return done
    if not order.is_paid or order.intent_id is None:
        raise Conflict(_("Chỉ hoàn tiền cho đơn đã thanh toán."), code="order_not_paid")
    if order.amount_refunded >= max(order.total, order.amount_paid):  # an overpaid rest may go
        raise Conflict(_("Đơn này đã được hoàn hết tiền."), code="order_already_refunded")
    payment_refund = payment_refunds.refund_start(
        intent_id=order.intent_id,
        amount=amount,
        reason=reason,
        actor=actor,
        actor_label=label,
        request_key=request_key,
        metadata={"line": line_id} if line_id is not None else {},
    )
    return OrderRefund.objects.select_related("payment_refund").get(payment_refund=payment_refund)


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
    from ..signals import invoice_requested

    transaction.on_commit(lambda: invoice_requested.send_robust(sender=Order, order_id=order.pk))
    return order
