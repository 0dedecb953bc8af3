"""The sale follows its money.

``payments`` never imports ``market``: it sends ``payment_settled``, ``refund_opened`` and
``refund_settled`` inside the transaction that moves the money, and these receivers (connected in
``market/apps.py``) update the order in that same transaction, one statement each, so an order's
paid and refunded amounts can never disagree with the ledger and there is nothing to sync
afterwards. Money asked for with no sale yet becomes a sale of one amount line.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.db import update_where_returning
from core.errors import Conflict, ValidationFailed
from core.text import nfc
from merchants.models import Product, User
from payments.models import Refund

from ..models import Order, OrderLine, OrderRefund, Stall
from . import offline_sales
from .orders import OFFLINE_GRACE, M, S, new_number

_PAID_VIA_METHOD = {"bank": M.BANK_QR, "ewallet": M.EWALLET, "cash": M.CASH}


_PAYABLE_BY_NUMBER = (
    '"merchant_id" = %s AND "number" = %s AND "status" IN (%s, %s)'  # an unpaid sale's number
)


def on_payment_settled(
    sender: Any,
    *,
    intent_id: int,
    merchant_id: int,
    amount: int,
    intent_amount: int,
    reference: str,
    description: str,
    paid_via: str,
    succeeded_at: datetime,
    bank_reference: str,
    **_kwargs: Any,
) -> None:
    """An intent settled: its sale is paid (a canceled one revives: the shopper did pay). Money
    asked for without a sale ("Thu tiền", the payments API) becomes a sale of one amount line,
    so every đồng that comes in belongs to a sale."""
    if paid_via == "cash" and succeeded_at < timezone.now() - OFFLINE_GRACE:
        # A cash sale made offline, booked at its time: not into a period closed meanwhile.
        succeeded_at = offline_sales.book_time(merchant_id=merchant_id, paid_at=succeeded_at)
    paid = {
        "status": S.PAID,
        "intent_id": intent_id,
        "payment_method": _PAID_VIA_METHOD[paid_via],
        "amount_paid": amount,
        "bank_reference": bank_reference[:64],
        "paid_at": succeeded_at,
        "canceled_at": None,
        "updated_at": succeeded_at,
    }
    if reference:
        # One statement: the conditional update answers which order it paid, and its channel.
        # The statement's text is built once (core.db), not compiled per notification.
        updated = update_where_returning(
            Order,
            paid,
            _PAYABLE_BY_NUMBER,
            [merchant_id, reference, S.AWAITING_PAYMENT, S.CANCELED],
            ("id", "channel"),
        )
        if updated:
            order_id, channel = updated[0]
            transaction.on_commit(partial(_announce_paid_id, order_id, merchant_id, channel))
            return
        if Order.objects.filter(merchant_id=merchant_id, number=reference).exists():
            # payments pays a reference once, so this cannot happen; refuse rather than guess.
            raise Conflict(_("Đơn đã được thanh toán."), code="order_already_paid")
    order = _amount_sale(
        merchant_id=merchant_id,
        amount=intent_amount,
        name=description,
        source_ref=f"intent:{intent_id}",
        paid=paid,
    )
    transaction.on_commit(partial(_announce_paid_id, order.pk, merchant_id, order.channel))


def _amount_sale(
    *, merchant_id: int, amount: int, name: str, source_ref: str, paid: dict[str, Any]
) -> Order:
    """A paid sale of one amount line for money asked for with no sale ("Thu tiền")."""
    stall_id = (
        Stall.objects.filter(merchant_id=merchant_id).order_by("pk").values_list("pk", flat=True)
    ).first()
    for _attempt in range(5):
        try:
            with transaction.atomic():
                order = Order.objects.create(
                    merchant_id=merchant_id,
                    stall_id=stall_id,
                    number=new_number(),
                    channel=Order.Channel.POS,
                    total=amount,
                    receipt_token=secrets.token_urlsafe(16),
                    source_ref=source_ref,
                    **paid,
                )
                OrderLine.objects.create(
                    order=order,
                    position=1,
                    name=nfc(name).strip()[:120] or str(_("Tiền hàng")),
                    unit="",
                    unit_price=amount,
                    quantity=Decimal(1),
                    amount=amount,
                    tax_category=Product.TaxCategory.NOT_SUBJECT,
                )
            return order
        except IntegrityError:
            continue  # number collision: draw again
    raise Conflict(_("Không tạo được đơn, vui lòng thử lại."))  # pragma: no cover


def _order_paid_by(intent_id: int) -> Order | None:
    return Order.objects.select_for_update().filter(intent_id=intent_id).first()


def on_refund_opened(
    sender: Any,
    *,
    refund_id: int,
    intent_id: int,
    amount: int,
    reason: str,
    metadata: dict[str, Any],
    actor: User | None,
    **_kwargs: Any,
) -> None:
    """A refund was reserved on a sale's payment: record which sale (and line) it is for, under
    the order's lock, and refuse one that would give back more than the sale or the line."""
    order = _order_paid_by(intent_id)
    if order is None or not order.is_paid:
        return
    refunds = order.refunds.exclude(payment_refund__status=Refund.Status.FAILED)
    reserved = refunds.aggregate(t=Sum("amount"))["t"] or 0
    ceiling = max(order.total, order.amount_paid)  # an overpayment may go back in full
    if amount > ceiling - reserved:
        raise ValidationFailed(
            fields={
                "amount": [
                    _("Số tiền hoàn vượt quá số còn lại của đơn (%(left)s đ).")
                    % {"left": f"{ceiling - reserved:,}".replace(",", ".")}
                ]
            },
            code="refund_too_large",
        )
    line = None
    if metadata.get("line") is not None:
        line = order.lines.filter(pk=metadata["line"]).first()
        if line is None:
            raise ValidationFailed(fields={"line": [_("Dòng hàng không thuộc đơn này.")]})
        line_reserved = refunds.filter(line=line).aggregate(t=Sum("amount"))["t"] or 0
        if amount > line.amount - line_reserved:
            raise ValidationFailed(
                fields={"amount": [_("Số tiền hoàn vượt quá thành tiền của dòng hàng.")]},
                code="refund_too_large",
            )
    OrderRefund.objects.create(
        order=order,
        amount=amount,
        reason=reason,
        line=line,
        payment_refund_id=refund_id,
        created_by=actor,
    )


def on_refund_settled(
    sender: Any, *, refund_id: int, intent_id: int, amount: int, status: str, **_kwargs: Any
) -> None:
    """A refund went through (or failed): the sale's refunded amount moves in one statement."""
    if status != Refund.Status.SUCCEEDED:
        return
    refunded = F("amount_refunded") + amount
    updated = Order.objects.filter(intent_id=intent_id).update(
        amount_refunded=refunded,
        status=Case(
            When(total__lte=refunded, then=Value(S.REFUNDED)),
            default=Value(S.PARTIALLY_REFUNDED),
        ),
        updated_at=timezone.now(),
    )
    if updated:
        link = OrderRefund.objects.filter(payment_refund_id=refund_id).values_list("pk", "order_id")
        for order_refund_id, order_id in link:
            transaction.on_commit(partial(_announce_refunded, order_id, order_refund_id))


def _announce_paid_id(order_id: int, merchant_id: int, channel: str) -> None:
    from ..signals import order_paid

    order_paid.send_robust(
        sender=Order, order_id=order_id, merchant_id=merchant_id, channel=channel
    )


def _announce_refunded(order_id: int, refund_id: int) -> None:
    """After commit: a refund counted on the order (the e-invoice wiring adjusts the invoice)."""
    from ..signals import order_refunded

    order_refunded.send_robust(sender=Order, order_id=order_id, refund_id=refund_id)
