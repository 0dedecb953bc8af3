"""Celery task for the invoice PDF (einvoice/tasks.py belongs to transmission).

Imported by ``EinvoiceConfig.ready`` so the worker registers it. Takes an id, safe to run twice.
"""

from celery import shared_task


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
