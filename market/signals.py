"""News from sales. ``order_paid``: sender=Order, order_id, merchant_id; sent after commit.

The e-invoice wiring listens to it (a paid order of a merchant with automatic invoicing gets its
invoice), and so does the trader's live screen.
"""

from django.dispatch import Signal

order_paid = Signal()
