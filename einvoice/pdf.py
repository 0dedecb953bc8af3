"""The invoice PDF (bản thể hiện): an A4 page laid out with WeasyPrint from the stored invoice.

Fonts: DejaVu Sans (Debian's fonts-dejavu-core), which covers every Vietnamese glyph. The QR links
to the public lookup page. The PDF is rendered once, by ``pdf_tasks.render_invoice_pdf`` after
the invoice is issued, and stored with its SHA-256; an issued invoice's PDF is never re-rendered.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from core import qr
from core.locking import lock_row

from .models import Invoice, InvoiceEvent
from .services import lookup_url
from .totals import RATE_ORDER

TEMPLATE = "einvoice/invoice_pdf.html"


@dataclass(frozen=True)
class RateRow:
    rate: str
    amount: int
    tax: int


def _qr_data_uri(text: str) -> str:
    png = qr.qr_png(text, box_size=6, border=2)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def invoice_html(invoice: Invoice) -> str:
    lines = list(invoice.lines.all())
    by_rate: dict[str, list[int]] = {}
    for line in lines:
        if line.kind == "note":
            continue
        sums = by_rate.setdefault(line.tax_rate, [0, 0])
        sums[0] += -line.amount if line.kind == "discount" else line.amount
        sums[1] += line.tax_amount
    rates = [RateRow(r, by_rate[r][0], by_rate[r][1]) for r in RATE_ORDER if r in by_rate]
    url = lookup_url(invoice.lookup_code)
    with translation.override("vi"):  # the legal document is Vietnamese whoever renders it
        return _render(invoice, lines, rates, url)


def _render(invoice: Invoice, lines: list, rates: list[RateRow], url: str) -> str:
    return render_to_string(
        TEMPLATE,
        {
            "invoice": invoice,
            "lines": lines,
            "rates": rates,
            "with_tax": invoice.form == "1",
            "issued_local": timezone.localtime(invoice.issued_at),
            "lookup_url": url,
            "qr_data_uri": _qr_data_uri(url),
        },
    )


def render_pdf_bytes(html: str) -> bytes:
    from weasyprint import HTML  # imported on first use: ~1 s, not needed to serve pages

    return HTML(string=html).write_pdf()


def invoice_pdf_bytes(invoice: Invoice) -> bytes:
    return render_pdf_bytes(invoice_html(invoice))


def invoice_pdf_render(*, invoice_id: int) -> Invoice:
    """Render and store the PDF once. Safe to run twice: a stored PDF is never replaced.

    A coded invoice still waiting for the tax authority's code is not stored (its PDF would
    never show the code): transmission renders it when the code arrives; until then a download
    gets a PDF made on the fly that says the code is awaited."""
    invoice = Invoice.objects.get(pk=invoice_id)
    if invoice.pdf_sha256 or invoice.awaits_authority_code:
        return invoice
    data = render_pdf_bytes(invoice_html(invoice))
    digest = hashlib.sha256(data).hexdigest()
    with transaction.atomic():
        locked = lock_row(Invoice, invoice_id)
        if locked.pdf_sha256:
            return locked
        name = f"{locked.form}{locked.series_symbol}-{locked.number:08d}-{locked.uuid.hex[:8]}.pdf"
        locked.pdf.save(name, ContentFile(data), save=False)
        locked.pdf_sha256 = digest
        locked.save(update_fields=["pdf", "pdf_sha256"])
        InvoiceEvent.objects.create(
            invoice=locked,
            kind=InvoiceEvent.Kind.PDF_RENDERED,
            payload={"sha256": digest, "bytes": len(data)},
        )
    return locked
