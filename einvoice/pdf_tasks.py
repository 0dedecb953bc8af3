"""Celery task for the invoice PDF (einvoice/tasks.py belongs to transmission).

Imported by ``EinvoiceConfig.ready`` so the worker registers it. Takes an id, safe to run twice.
"""

import logging

from celery import shared_task

log = logging.getLogger(__name__)


@shared_task(
    name="einvoice.render_invoice_pdf",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def render_invoice_pdf(invoice_id: int) -> str:
    from .pdf import invoice_pdf_render

    return invoice_pdf_render(invoice_id=invoice_id).pdf_sha256


@shared_task(name="einvoice.render_invoice_pdfs", ignore_result=True)
def render_invoice_pdfs(invoice_ids: list[int]) -> int:
    """The PDFs of invoices issued together (one message for the batch). One that fails is
    handed to ``render_invoice_pdf`` (its own message, with retries); the others go on.
    Returns how many were rendered here."""
    from .pdf import invoice_pdf_render

    rendered = 0
    for invoice_id in invoice_ids:
        try:
            invoice_pdf_render(invoice_id=invoice_id)
            rendered += 1
        except Exception:
            log.exception("e-invoice %s: PDF failed in its batch; retried alone", invoice_id)
            try:
                render_invoice_pdf.delay(invoice_id)
            except Exception:  # eager mode: rendered on first download instead
                log.exception("e-invoice %s: PDF failed again", invoice_id)
    return rendered
