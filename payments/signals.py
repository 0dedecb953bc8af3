"""Upward news from the money engine (payments never imports the apps that listen).

Sent *inside* the transaction that moved the money (``Signal.send``: a receiver that raises
rolls the money back with it, so a listener's books can never disagree with the ledger):

payment_settled: sender=PaymentIntent, intent_id, merchant_id, amount (received), intent_amount
    (asked), reference, description, paid_via, succeeded_at, bank_reference. The intent is settled
    and locked; each intent settles once, so this is sent once per intent.
refund_opened: sender=Refund, refund_id, intent_id, merchant_id, amount, reason, metadata,
    actor (a user or None), actor_label. A refund was reserved (pending); raise to refuse it.
refund_settled: sender=Refund, refund_id, intent_id, merchant_id, amount, status ("succeeded"
    or "failed"). Sent once per refund.

Sent after commit (``send_robust``; receivers must not raise), for screens and slow work:

payment_succeeded: sender=PaymentIntent, intent_id, merchant_id, amount, reference.
walk_in_received: sender=BankNotification, notification_id, merchant_id, amount.
refund_changed: sender=Refund, refund_id, intent_id, status, reference (succeeded or failed).
"""

from django.dispatch import Signal

payment_settled = Signal()
refund_opened = Signal()
refund_settled = Signal()

payment_succeeded = Signal()
walk_in_received = Signal()
refund_changed = Signal()
