"""News from sales, sent after commit.

``order_paid``: sender=Order, order_id, merchant_id, channel (a POS sale needs no fulfilment, and
its listeners need not read it to know). ``invoice_requested``: sender=Order, order_id
(the shopper gave their details on the receipt). ``order_refunded``: sender=Order, order_id,
refund_id (a refund now counts on the order).

The e-invoice wiring listens to it (a paid order of a merchant with automatic invoicing gets its
invoice), and so does the trader's live screen.
"""

from django.dispatch import Signal

order_paid = Signal()
invoice_requested = Signal()
order_refunded = Signal()
