"""Upward news from the money engine. Receivers (market/, later) must not raise.

payment_succeeded: sender=PaymentIntent, intent_id, merchant_id, amount, reference.
walk_in_received: sender=BankNotification, notification_id, merchant_id, amount.
refund_changed: sender=Refund, refund_id, intent_id, status, reference (succeeded or failed).
All are sent after the transaction that settled the money has committed.
"""

from django.dispatch import Signal

payment_succeeded = Signal()
walk_in_received = Signal()
refund_changed = Signal()
