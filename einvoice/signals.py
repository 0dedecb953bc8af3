"""Sent after an invoice's issuing transaction commits, so transmission can queue it.

``invoice_issued.send(sender=Invoice, invoice_id=...)``: receivers get an id, never an object.
"""

from django.dispatch import Signal

invoice_issued = Signal()
