"""Sent after an invoice's issuing transaction commits, so transmission can queue it.

``invoice_issued.send(sender=Invoice, invoice_id=...)``: receivers get an id, never an object.
``invoices_issued.send(sender=Invoice, invoice_ids=[...])``: the same for invoices issued
together in one transaction (a batch, ``services.after_issue_many``): one message, not one each.
"""

from django.dispatch import Signal

invoice_issued = Signal()
invoices_issued = Signal()
