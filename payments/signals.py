"""Upward news from the money engine. Receivers (market/, later) must not raise.

payment_succeeded: sender=PaymentIntent, intent_id, merchant_id, amount, reference.
walk_in_received: sender=BankNotification, notification_id, merchant_id, amount.
Both are sent after the transaction that settled the money has committed.
"""

from django.dispatch import Signal

payment_succeeded = Signal()
walk_in_received = Signal()
