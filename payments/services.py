"""Writes of the money engine: intents, notifications, settlement, refunds, expiry.

Settlement path (ARCHITECTURE.md invariant 1): a notification is stored first (unique by the
provider's id), then processed under a row lock in a durable transaction that settles at most
once and writes the ledger; news is published after commit.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.audit import audit_entry, audit_record
from core.db import PkOf, insert_row, one_statement, select_rows, update_row
from core.errors import Conflict, ValidationFailed
from core.locking import lock_row, lock_sql
from core.models import AuditLog
from merchants.models import BankAccount, Merchant, User

from . import vietqr
from .ewallet import ewallet_payment_attach, refund_send
from .models import (
    MAX_INTENT_AMOUNT,
    MIN_INTENT_AMOUNT,
    BankNotification,
    LedgerEntry,
    PaymentIntent,
    Refund,
)
from .providers.banknotify import BankTransaction
from .settlement import (
    actor_label_of,
    announce,
    group_paid_elsewhere,
    intent_mark_succeeded,
    lock_group,
    refund_confirm,
)
from .signals import refund_opened, walk_in_received

log = logging.getLogger(__name__)

# Reference codes: "CS" + 5 characters from an alphabet without look-alikes (no 0/O, 1/I/L, 2/Z,
# 8/B, G/6, Q, S/5): readable aloud and safe to retype from a bank statement.
CODE_PREFIX = "CS"
CODE_ALPHABET = "ACDEFHJKMNPRTUVWXY34679"
CODE_LENGTH = 5
_CODE_IN_TEXT = re.compile(rf"{CODE_PREFIX}[{CODE_ALPHABET}]{{{CODE_LENGTH}}}")

S = PaymentIntent.Status
O = BankNotification.Outcome  # noqa: E741


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


def refund_start(
    *,
    intent_id: int,
    amount: int,
    reason: str,
    actor: Any,
    actor_label: str = "",
    request_key: str = "",
    metadata: dict[str, Any] | None = None,
) -> Refund:
    """The one way money goes back, whatever the path it came by (``intent.paid_via``).

    E-wallet: the provider is asked and the refund counts (ledger, listeners) when it confirms.
    Bank transfer: the trader paid the shopper back by hand; counted at once, as a negative
    ledger entry. Cash: counted at once, outside the bank ledger.

    ``request_key`` binds the refund to the request that asked for it: the same request again
    (a retry after a timeout, a 503 or a crash) resumes this refund and never starts a second.
    """
    label = actor_label_of(actor, actor_label)
    refund = None
    if request_key:
        refund = Refund.objects.filter(request_key=request_key).select_related("intent").first()
        if refund is not None and refund.intent_id != intent_id:
            raise ValidationFailed(
                _("Idempotency-Key này đã được dùng cho một yêu cầu khác."),
                code="idempotency_key_reused",
            )
    if refund is None:
        try:
            refund = refund_open(
                intent_id=intent_id,
                amount=amount,
                reason=reason,
                actor=actor,
                actor_label=label,
                request_key=request_key,
                metadata=metadata,
            )
        except IntegrityError:  # the same request, racing: the other one reserved it
            refund = Refund.objects.select_related("intent").get(request_key=request_key)
    if refund.status == Refund.Status.FAILED:
        raise ValidationFailed(
            _("Không hoàn được tiền: %(why)s") % {"why": refund.failure_reason or "—"},
            code="refund_failed",
        )
    if refund.status != Refund.Status.PENDING:
        return refund
    if refund.intent.paid_via == PaymentIntent.PaidVia.EWALLET:
        return refund_send(refund_id=refund.pk)
    return refund_confirm(refund_id=refund.pk)


def intent_refund(
    *,
    intent_id: int,
    amount: int,
    reason: str,
    actor: Any,
    actor_label: str = "",
    request_key: str = "",
) -> PaymentIntent:
    """Give money back on an intent (the Thu tiền page, the payments API): ``refund_start``."""
    refund_start(
        intent_id=intent_id,
        amount=amount,
        reason=reason,
        actor=actor,
        actor_label=actor_label,
        request_key=request_key,
    )
    return PaymentIntent.objects.get(pk=intent_id)


def refund_open(
    *,
    intent_id: int,
    amount: int,
    reason: str,
    actor: Any,
    actor_label: str,
    request_key: str = "",
    metadata: dict[str, Any] | None = None,
) -> Refund:
    """Check and reserve a refund (pending) under the intent's lock; listeners may refuse it."""
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise ValidationFailed(fields={"amount": [_("Số tiền hoàn là số đồng nguyên dương.")]})
    if not reason.strip():
        raise ValidationFailed(fields={"reason": [_("Vui lòng ghi lý do hoàn tiền.")]})
    with transaction.atomic(durable=True):
        intent = lock_row(PaymentIntent, intent_id)
        if intent.status == S.REFUNDED:
            raise Conflict(_("Khoản này đã được hoàn hết tiền."), code="intent_already_refunded")
        if intent.status not in (S.SUCCEEDED, S.PARTIALLY_REFUNDED):
            raise Conflict(_("Chỉ hoàn tiền cho khoản đã thanh toán."), code="intent_not_paid")
        pending = (
            intent.refunds.filter(status=Refund.Status.PENDING).aggregate(t=Sum("amount"))["t"] or 0
        )
        if amount > intent.refundable_amount - pending:
            raise ValidationFailed(
                fields={"amount": [_("Số tiền hoàn vượt quá số đã nhận.")]}, code="refund_too_large"
            )
        refund = Refund.objects.create(
            intent=intent,
            amount=amount,
            reason=reason.strip()[:255],
            actor_label=actor_label,
            request_key=request_key or None,
            metadata=metadata or {},
        )
        refund_opened.send(
            sender=Refund,
            refund_id=refund.pk,
            intent_id=intent.pk,
            merchant_id=intent.merchant_id,
            amount=amount,
            reason=refund.reason,
            metadata=refund.metadata,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            actor_label=actor_label,
        )
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action="intent.refund",
            target=intent,
            reason=reason,
            data={"amount": amount, "refund": refund.pk},
        )
    return refund


# --- bank notifications -----------------------------------------------------------------------


def notification_store(
    *, tx: BankTransaction, via: str = "webhook"
) -> tuple[BankNotification, bool]:
    """Store a notification exactly once. Returns (row, created)."""
    try:
        with one_statement():  # no BEGIN/COMMIT round trips around the one INSERT
            row = BankNotification(
                provider_id=tx.provider_id,
                source=tx.source,
                payload=tx.raw,
                bank_bin=tx.bank_bin,
                account_number=tx.account_number,
                transfer_type=tx.transfer_type,
                amount=tx.amount,
                description=tx.description,
                bank_reference=tx.bank_reference,
                counter_name=tx.counter_name,
                transaction_date=tx.transaction_date,
                received_via=via,
            )
            insert_row(row)  # the INSERT written once (core.db), not compiled per call
        return row, True
    except IntegrityError:
        stored = select_rows(
            BankNotification,
            'WHERE "payments_banknotification"."provider_id" = %s',
            [tx.provider_id],
        )
        if not stored:  # pragma: no cover - the row that refused the insert is never deleted
            raise
        return stored[0], False


@functools.cache
def _match_sql(count: int) -> str:
    """The intents of these codes of this merchant and the other intents of their sales:
    ``merchant_id = %s AND (reference_code IN codes OR (one_per_reference AND reference IN (the
    references of the codes' one-per-reference intents)))``, parameters (merchant, *codes) twice.
    """
    codes = ", ".join(["%s"] * count)
    return (
        '"payments_paymentintent"."merchant_id" = %s AND ('  # noqa: S608 (placeholders only)
        f'"payments_paymentintent"."reference_code" IN ({codes}) OR ('
        '"payments_paymentintent"."one_per_reference" AND "payments_paymentintent"."reference" IN '
        '(SELECT U0."reference" FROM "payments_paymentintent" U0 WHERE U0."merchant_id" = %s '
        f'AND U0."reference_code" IN ({codes}) AND U0."one_per_reference")))'
    )


def _match_intent(notification: BankNotification, merchant_id: int) -> PaymentIntent | None:
    """The intent a transfer pays, locked with every intent of its reference (its sale), in one
    statement: the intents of the codes in the message and the other intents of their sales,
    in primary-key order (``core.locking.lock_where``). Several codes of this merchant in one
    message: the first one written wins (the others' rows are locked too, and left alone)."""
    codes = find_reference_codes(notification.description)
    if not codes:
        return None
    locked = lock_sql(PaymentIntent, _match_sql(len(codes)), [merchant_id, *codes] * 2)
    by_code = {i.reference_code: i for i in locked}
    intent = next((by_code[code] for code in codes if code in by_code), None)
    if intent is None:
        return None
    intent._group = [  # type: ignore[attr-defined]
        i
        for i in locked
        if i.pk == intent.pk
        or (intent.one_per_reference and i.one_per_reference and i.reference == intent.reference)
    ]
    return intent


_PROCESSED = ("outcome", "merchant", "intent", "processed_at")


# The merchant of the account a notification names, read with the notification.
_ACCOUNT_MERCHANT = (
    '(SELECT U0."merchant_id" FROM "merchants_bankaccount" U0 '
    'WHERE U0."bank_bin" = "payments_banknotification"."bank_bin" '
    'AND U0."account_number" = "payments_banknotification"."account_number" '
    'ORDER BY U0."id" LIMIT 1)'
)


def notification_process(*, notification_id: int) -> BankNotification:
    """Settle, record a walk-in, or flag — exactly once per notification."""
    after_commit: list[tuple[str, dict[str, Any]]] = []
    with transaction.atomic(durable=True):
        # The row under lock, and whose account it names, in one statement.
        found = lock_sql(
            BankNotification,
            '"payments_banknotification"."id" = %s',
            [notification_id],
            extra=_ACCOUNT_MERCHANT,
        )
        if not found:
            raise BankNotification.DoesNotExist(f"BankNotification {notification_id}")
        n = found[0]
        if n.processed_at is not None:
            return n
        label = f"webhook:{n.source}:{n.provider_id}"
        merchant_id: int | None = n._extra[0]  # type: ignore[attr-defined]
        if n.transfer_type != "in":
            n.outcome = O.OUTGOING
        elif merchant_id is None:
            n.outcome = O.UNKNOWN_ACCOUNT
            log.warning(
                "bank notification %s for an unknown account %s", n.provider_id, n.account_number
            )
        else:
            n.merchant_id = merchant_id
            intent = _match_intent(n, merchant_id)
            n.outcome, entry = _apply(n, intent, label)
            if entry is not None:
                insert_row(entry)
            if n.outcome in (O.SETTLED, O.LATE) and entry is not None:
                after_commit.append(("payment_succeeded", _event(n, intent, flag=entry.flag)))
            elif entry is not None:
                after_commit.append(("payment_received", _event(n, intent, flag=entry.flag)))
        n.processed_at = timezone.now()
        update_row(n, _PROCESSED)
        audit_record(
            actor=None,
            actor_label=label,
            action=f"bank_notification.{n.outcome}",
            target=n,
            data={"amount": n.amount, "intent": n.intent_id},
        )
        if after_commit:  # outgoing money and unknown accounts have no one to tell
            transaction.on_commit(lambda: _announce(n, after_commit))
    return n


def _apply(
    n: BankNotification, intent: PaymentIntent | None, label: str
) -> tuple[str, LedgerEntry | None]:
    """Decide what a transfer in means; change the intent; return (outcome, ledger entry)."""

    merchant_id = n.merchant_id
    assert merchant_id is not None  # a transfer in to a known account

    def entry(kind: str, flag: str = "", memo: str = "") -> LedgerEntry:
        return LedgerEntry(
            merchant_id=merchant_id,
            kind=kind,
            amount=n.amount,
            intent=intent,
            notification=n,
            flag=flag,
            memo=memo or n.description[:255],
            actor_label=label,
        )

    if intent is None:
        flag = "small" if n.amount < settings.WALK_IN_BAIT_BELOW else ""
        return O.WALK_IN, entry(LedgerEntry.Kind.WALK_IN, flag=flag)
    n.intent = intent
    if intent.status in (S.SUCCEEDED, S.PARTIALLY_REFUNDED, S.REFUNDED):
        return O.ALREADY_PAID, entry(LedgerEntry.Kind.UNMATCHED, flag="already_paid")
    if group_paid_elsewhere(getattr(intent, "_group", []), intent):
        # The sale was paid by another of its QR codes (or in cash): this is a second payment.
        return O.ALREADY_PAID, entry(LedgerEntry.Kind.UNMATCHED, flag="already_paid")
    if intent.status == S.CANCELED:
        return O.AFTER_CANCEL, entry(LedgerEntry.Kind.UNMATCHED, flag="after_cancel")
    if n.amount < intent.amount:
        return O.UNDERPAID, entry(LedgerEntry.Kind.UNMATCHED, flag="underpaid")
    late = intent_mark_succeeded(
        intent, amount=n.amount, reference=n.bank_reference, via=PaymentIntent.PaidVia.BANK
    )
    flag = "overpaid" if n.amount > intent.amount else ("late" if late else "")
    return (O.LATE if late else O.SETTLED), entry(LedgerEntry.Kind.SETTLEMENT, flag=flag)


def _event(n: BankNotification, intent: PaymentIntent | None, flag: str = "") -> dict[str, Any]:
    return {
        "notification_id": n.pk,
        "intent_id": intent.pk if intent else None,
        "reference_code": intent.reference_code if intent else None,
        "amount": n.amount,
        "expected_amount": intent.amount if intent else None,
        "outcome": n.outcome,
        "flag": flag,
        "bank_reference": n.bank_reference,
        "counter_name": n.counter_name,
        "at": timezone.localtime(n.transaction_date).isoformat(),
    }


def _announce(n: BankNotification, news: list[tuple[str, dict[str, Any]]]) -> None:
    assert n.merchant_id is not None
    for kind, event in news:
        announce(
            merchant_id=n.merchant_id,
            kind=kind,
            event=event,
            reference=n.intent.reference if n.intent else "",
        )
        if event["outcome"] == O.WALK_IN:
            walk_in_received.send_robust(
                sender=BankNotification,
                notification_id=n.pk,
                merchant_id=n.merchant_id,
                amount=n.amount,
            )


def notification_receive(*, tx: BankTransaction, via: str = "webhook") -> BankNotification:
    """Store, then process. A duplicate delivery is acknowledged and changes nothing."""
    row, created = notification_store(tx=tx, via=via)
    if created or row.processed_at is None:
        row = notification_process(notification_id=row.pk)
    return row
