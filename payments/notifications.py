"""Bank notifications: a transfer into a merchant's account, stored first (unique by the
provider's id), then processed under a row lock in a durable transaction that settles at most
once (``settlement.intent_mark_succeeded``) and writes the ledger; news is published after
commit (ARCHITECTURE.md invariant 1).

One transfer, one booking, whichever way it arrives: when two providers watch the same account
(the platform's bank-notification provider and a trader's own SePay, or two connections), each
passes the same transfer on under its own id. The first notification stored holds the transfer's
key (``transfer_key``: account, direction, amount and the bank's reference, unique in the
database); another notification of the same transfer is stored as ``same_transfer``, processed
at once, and books nothing.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.audit import audit_record
from core.db import insert_row, one_statement, select_rows, update_row
from core.locking import lock_sql
from merchants.models import BankAccount

from .models import BankNotification, LedgerEntry, PaymentIntent
from .providers.banknotify import BankTransaction
from .services import find_reference_codes
from .settlement import announce, group_paid_elsewhere, intent_mark_succeeded
from .signals import walk_in_received

log = logging.getLogger(__name__)

S = PaymentIntent.Status
O = BankNotification.Outcome  # noqa: E741


_NOT_IN_A_REFERENCE = re.compile(r"[^0-9A-Z]")
MIN_REFERENCE = 6  # shorter than any bank's transaction reference: not one to trust


def transfer_key(tx: BankTransaction) -> str | None:
    """The bank's identity of a transfer, the same from every provider that passes it on: the
    account, the direction, the amount and the bank's reference (upper case, letters and digits
    only). None without a reference to go by: such a transfer is never taken for another."""
    reference = _NOT_IN_A_REFERENCE.sub("", tx.bank_reference.upper())
    if len(reference) < MIN_REFERENCE or tx.amount <= 0:
        return None
    return f"{tx.bank_bin}:{tx.account_number}:{tx.transfer_type}:{tx.amount}:{reference}"[:128]


def _row(tx: BankTransaction, via: str) -> BankNotification:
    return BankNotification(
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


def notification_store(
    *, tx: BankTransaction, via: str = "webhook"
) -> tuple[BankNotification, bool]:
    """Store a notification exactly once. Returns (row, created). A notification of a transfer
    another provider already passed on is stored as ``same_transfer``, already processed."""
    key = transfer_key(tx)
    try:
        with one_statement():  # no BEGIN/COMMIT round trips around the one INSERT
            row = _row(tx, via)
            row.transfer_key = key
            insert_row(row)  # the INSERT written once (core.db), not compiled per call
        return row, True
    except IntegrityError:
        stored = select_rows(
            BankNotification,
            'WHERE "payments_banknotification"."provider_id" = %s',
            [tx.provider_id],
        )
        if stored:
            return stored[0], False
        if key is None:  # pragma: no cover - the row that refused the insert is never deleted
            raise
    return _same_transfer_store(tx, via, key), True


def _same_transfer_store(tx: BankTransaction, via: str, key: str) -> BankNotification:
    """Keep a second notification of a booked transfer, for the record, booking nothing."""
    first = BankNotification.objects.filter(transfer_key=key).values("pk", "provider_id").get()
    with transaction.atomic():
        row = _row(tx, via)
        row.outcome = O.SAME_TRANSFER
        row.merchant_id = (
            BankAccount.objects.filter(bank_bin=tx.bank_bin, account_number=tx.account_number)
            .order_by("pk")
            .values_list("merchant_id", flat=True)
            .first()
        )
        row.processed_at = timezone.now()
        try:
            with transaction.atomic():
                insert_row(row)
        except IntegrityError:  # the same provider's id, stored meanwhile by its retry
            return BankNotification.objects.get(provider_id=tx.provider_id)
        audit_record(
            actor=None,
            actor_label=f"webhook:{tx.source}:{tx.provider_id}",
            action=f"bank_notification.{O.SAME_TRANSFER}",
            target=row,
            data={"amount": tx.amount, "first": first["provider_id"]},
        )
    log.info(
        "bank notification %s is transfer %s, booked by %s",
        tx.provider_id,
        key,
        first["provider_id"],
    )
    return row


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
_UNKNOWN = (*_PROCESSED, "transfer_key")


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
            n.transfer_key = None  # booked by nobody: a copy once the account is ours may book it
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
        update_row(n, _UNKNOWN if n.outcome == O.UNKNOWN_ACCOUNT else _PROCESSED)
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
    row, _created = notification_store(tx=tx, via=via)
    if row.processed_at is None:  # new, or stored by a try that died before processing it
        row = notification_process(notification_id=row.pk)
    return row
