"""Writes of the money engine about intents: reference codes, creating, cash, cancel, expiry.

Bank notifications are in ``notifications``, refunds in ``refunds``, the exactly-once steps
they and the e-wallet path share in ``settlement``.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import audit_entry, audit_record
from core.db import PkOf
from core.errors import Conflict, ValidationFailed
from core.locking import lock_row
from core.models import AuditLog
from merchants.models import BankAccount, Merchant, User

from . import vietqr
from .ewallet import ewallet_payment_attach
from .models import MAX_INTENT_AMOUNT, MIN_INTENT_AMOUNT, PaymentIntent
from .settlement import actor_label_of, intent_mark_succeeded, lock_group

log = logging.getLogger(__name__)

# Reference codes: "CS" + 5 characters from an alphabet without look-alikes (no 0/O, 1/I/L, 2/Z,
# 8/B, G/6, Q, S/5): readable aloud and safe to retype from a bank statement.
CODE_PREFIX = "CS"
CODE_ALPHABET = "ACDEFHJKMNPRTUVWXY34679"
CODE_LENGTH = 5
_CODE_IN_TEXT = re.compile(rf"{CODE_PREFIX}[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")

S = PaymentIntent.Status


def new_reference_code() -> str:
    return CODE_PREFIX + "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def find_reference_codes(description: str) -> list[str]:
    """Codes in a transfer message, tolerant of case, spaces, dashes, dots and bank prefixes.

    'MBVCB.3278123.cs7k-4px.CT tu 0123' -> ['CS7K4PX']. Every candidate is returned; the caller
    keeps the one that names an intent of the receiving merchant.
    """
    squeezed = re.sub(r"[^A-Z0-9]", "", description.upper())
    found: list[str] = []
    for start in range(len(squeezed)):
        match = _CODE_IN_TEXT.match(squeezed, start)
        if match and match.group(0) not in found:
            found.append(match.group(0))
    return found


# --- intents ----------------------------------------------------------------------------------


# E-wallets cap one payment lower than bank transfers (MoMo: 50 million đồng).
MAX_EWALLET_AMOUNT = 50_000_000


def intent_create(
    *,
    merchant: Merchant,
    amount: int,
    method: str = PaymentIntent.Method.BANK_QR,
    actor: User | None = None,
    actor_label: str = "",
    reference: str = "",
    description: str = "",
    ttl_minutes: int | None = None,
    one_per_reference: bool = False,
    request_key: str = "",
) -> PaymentIntent:
    """Ask to be paid `amount` đồng: by dynamic VietQR to the merchant's default bank account,
    or through the e-wallet provider (its pay URL is what the QR shows).

    With a ``request_key`` (``core.idempotency.effect_key``) a retried request resumes the intent
    its first attempt committed: the same QR, the same wallet payment."""
    intent_amount_check(amount=amount, method=method)
    if request_key:
        earlier = _intent_of_request(merchant=merchant, request_key=request_key)
        if earlier is not None:
            return earlier
    ewallet = method == PaymentIntent.Method.EWALLET
    account = merchant.bank_accounts.filter(is_default=True).first()
    if account is None and not ewallet:
        raise ValidationFailed(
            _("Cửa hàng chưa có tài khoản ngân hàng nhận tiền."), code="no_bank_account"
        )
    ttl = ttl_minutes if ttl_minutes is not None else settings.PAYMENT_INTENT_TTL_MINUTES
    for _attempt in range(5):
        code = new_reference_code()
        bank: dict[str, Any] = {}
        if not ewallet and account is not None:
            bank = {
                "bank_account": account,
                "bank_bin": account.bank_bin,
                "account_number": account.account_number,
                "account_holder": account.holder_name,
                "qr_payload": vietqr.build(
                    bin=account.bank_bin,
                    account=account.account_number,
                    amount=amount,
                    purpose=code,
                ),
            }
        try:
            with transaction.atomic():
                intent = PaymentIntent.objects.create(
                    merchant=merchant,
                    amount=amount,
                    method=method,
                    reference_code=code,
                    reference=reference[:64],
                    one_per_reference=one_per_reference and bool(reference),
                    description=description[:140],
                    expires_at=timezone.now() + timedelta(minutes=ttl),
                    created_by=actor if getattr(actor, "is_authenticated", False) else None,
                    created_via=actor_label_of(actor, actor_label or "system"),
                    request_key=request_key or None,
                    **bank,
                )
                audit_record(
                    actor=actor,
                    actor_label=intent.created_via,
                    action="intent.create",
                    target=intent,
                    data={"amount": amount, "code": code, "method": method},
                )
            break
        except IntegrityError:
            if request_key:
                earlier = _intent_of_request(merchant=merchant, request_key=request_key)
                if earlier is not None:
                    return earlier
            continue  # reference code collision: draw again
    else:  # pragma: no cover
        raise Conflict(_("Không tạo được mã thanh toán, vui lòng thử lại."))
    if ewallet:
        intent = ewallet_payment_attach(intent_id=intent.pk)
    return intent


def intent_add_bank_qr(
    *,
    merchant: Merchant,
    account: BankAccount,
    amount: int,
    reference: str,
    description: str,
    actor: User | None,
    actor_label: str,
    save: bool = True,
) -> tuple[PaymentIntent, AuditLog]:
    """A sale's own QR, in the sale's transaction: insert a bank-QR intent for ``reference``
    (paid once, ``one_per_reference``) and return it with its audit row, not yet saved, for the
    caller's one audit insert. With ``save=False`` the intent is not inserted either: the caller
    inserts both in its one statement (``core.db.insert_together``; the audit row's
    ``target_id`` is a ``PkOf`` the intent).

    The caller holds a durable transaction and has checked ``amount`` (``intent_amount_check``)
    and that ``account`` is the merchant's default. A reference code drawn twice raises
    IntegrityError, which rolls the caller's transaction back: it draws again.
    """
    assert not save or transaction.get_connection().in_atomic_block, "in the sale's transaction"
    code = new_reference_code()
    created_via = actor_label_of(actor, actor_label or "system")
    intent = PaymentIntent(
        merchant=merchant,
        amount=amount,
        method=PaymentIntent.Method.BANK_QR,
        reference_code=code,
        reference=reference[:64],
        one_per_reference=bool(reference),
        description=description[:140],
        expires_at=timezone.now() + timedelta(minutes=settings.PAYMENT_INTENT_TTL_MINUTES),
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        created_via=created_via,
        bank_account=account,
        bank_bin=account.bank_bin,
        account_number=account.account_number,
        account_holder=account.holder_name,
        qr_payload=vietqr.build(
            bin=account.bank_bin, account=account.account_number, amount=amount, purpose=code
        ),
    )
    if save:
        intent.save(force_insert=True)
    entry = audit_entry(
        actor=actor,
        actor_label=created_via,
        action="intent.create",
        target=intent,
        data={"amount": amount, "code": code, "method": PaymentIntent.Method.BANK_QR},
    )
    if not save:
        entry.target_id = PkOf(intent, text=True)  # type: ignore[assignment]
    return intent, entry


def _intent_of_request(*, merchant: Merchant, request_key: str) -> PaymentIntent | None:
    intent = PaymentIntent.objects.filter(request_key=request_key).first()
    if intent is None:
        return None
    if intent.merchant_id != merchant.pk:
        raise ValidationFailed(
            _("Idempotency-Key này đã được dùng cho một yêu cầu khác."),
            code="idempotency_key_reused",
        )
    if intent.method == PaymentIntent.Method.EWALLET and not intent.provider_payment_id:
        return ewallet_payment_attach(intent_id=intent.pk)
    return intent


def intent_amount_check(*, amount: object, method: str) -> None:
    """Can ``amount`` đồng be asked for by this method? (Checked before a sale is recorded, so
    a sale is never made for an amount no bank or wallet would carry.)"""
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise ValidationFailed(fields={"amount": [_("Số tiền là số đồng nguyên.")]})
    if method not in (PaymentIntent.Method.BANK_QR, PaymentIntent.Method.EWALLET):
        raise ValidationFailed(fields={"method": [_("Chọn chuyển khoản hoặc ví điện tử.")]})
    if method == PaymentIntent.Method.EWALLET and not (
        MIN_INTENT_AMOUNT <= amount <= MAX_EWALLET_AMOUNT
    ):
        raise ValidationFailed(
            fields={"amount": [_("Số tiền qua ví điện tử từ 1.000 đ đến 50.000.000 đ mỗi lần.")]}
        )
    if not MIN_INTENT_AMOUNT <= amount <= MAX_INTENT_AMOUNT:
        raise ValidationFailed(
            fields={"amount": [_("Số tiền chuyển khoản từ 1.000 đ đến 500.000.000 đ mỗi lần.")]}
        )


def intent_record_cash(
    *,
    merchant: Merchant,
    amount: int,
    reference: str,
    actor: User | None = None,
    actor_label: str = "",
    description: str = "",
    paid_at: datetime | None = None,
) -> PaymentIntent:
    """The cashier took the notes: an intent paid at once in cash (never in the bank ledger).

    One reference is paid once: if another intent of this reference is already paid, nothing is
    recorded and the caller hears ``already_paid``.

    ``paid_at``: when the notes were taken, for a sale the POS kept while it had no network
    (bounded by ``market.offline_sales``); never later than now. Default: now.
    """
    if (
        not isinstance(amount, int)
        or isinstance(amount, bool)
        or not 1 <= amount <= MAX_INTENT_AMOUNT
    ):
        raise ValidationFailed(fields={"amount": [_("Số tiền là số đồng nguyên dương.")]})
    label = actor_label_of(actor, actor_label or "system")
    with transaction.atomic(durable=True):
        group = lock_group(merchant_id=merchant.pk, reference=reference)
        if any(i.is_paid for i in group):
            raise Conflict(_("Đơn đã được thanh toán."), code="already_paid")
        now = timezone.now()
        taken_at = min(paid_at, now) if paid_at is not None else now
        for _attempt in range(5):
            try:
                with transaction.atomic():
                    intent = PaymentIntent.objects.create(
                        merchant=merchant,
                        amount=amount,
                        method=PaymentIntent.Method.CASH,
                        reference_code=new_reference_code(),
                        reference=reference[:64],
                        one_per_reference=bool(reference),
                        description=description[:140],
                        qr_payload="",
                        expires_at=now,
                        created_by=actor if getattr(actor, "is_authenticated", False) else None,
                        created_via=label,
                    )
                break
            except IntegrityError:
                continue
        else:  # pragma: no cover
            raise Conflict(_("Không tạo được mã thanh toán, vui lòng thử lại."))
        intent_mark_succeeded(
            intent, amount=amount, reference="", via=PaymentIntent.PaidVia.CASH, at=taken_at
        )
        data: dict[str, Any] = {"amount": amount, "reference": reference}
        if taken_at != now:
            data["paid_at"] = taken_at.isoformat()
        audit_record(
            actor=actor,
            actor_label=label,
            action="intent.cash",
            target=intent,
            data=data,
        )
    return intent


def intent_cancel(*, intent_id: int, actor: Any, actor_label: str = "") -> PaymentIntent:
    with transaction.atomic(durable=True):
        intent = lock_row(PaymentIntent, intent_id)
        if intent.status == S.CANCELED:
            return intent
        if intent.status != S.REQUIRES_PAYMENT:
            raise Conflict(
                _("Chỉ hủy được yêu cầu đang chờ thanh toán."), code="intent_not_cancelable"
            )
        intent.status = S.CANCELED
        intent.canceled_at = timezone.now()
        intent.save(update_fields=["status", "canceled_at", "updated_at"])
        audit_record(
            actor=actor,
            actor_label=actor_label_of(actor, actor_label),
            action="intent.cancel",
            target=intent,
        )
    from .providers.momo import is_momo_order  # MoMo's captureWallet has no cancel call

    if intent.provider_payment_id and not is_momo_order(intent.provider_payment_id):
        from .providers import ewallet as wallet

        try:  # best effort: if the shopper pays meanwhile, the webhook still counts the money
            wallet.cancel_payment(intent.provider_payment_id)
        except (wallet.WalletUnavailable, wallet.WalletRejected):
            log.warning("could not cancel e-wallet payment %s", intent.provider_payment_id)
    return intent


def intents_expire_due(*, now=None) -> int:
    """Expire intents past their time (the periodic task calls this). Returns how many."""
    now = now or timezone.now()
    expired = 0
    due = PaymentIntent.objects.filter(status=S.REQUIRES_PAYMENT, expires_at__lte=now)
    for intent_id in due.values_list("id", flat=True)[:1000]:
        with transaction.atomic(durable=True):
            intent = lock_row(PaymentIntent, intent_id)
            if intent.status != S.REQUIRES_PAYMENT or intent.expires_at > now:
                continue
            intent.status = S.EXPIRED
            intent.save(update_fields=["status", "updated_at"])
            audit_record(
                actor=None, actor_label="task:expire", action="intent.expire", target=intent
            )
            expired += 1
    return expired
