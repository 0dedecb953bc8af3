"""Writes of the e-invoice engine: series, issuing, corrections, cancellation, notices.

The engine knows nothing of orders: a caller (the order system, the API, a page) passes the seller
(a Merchant), an optional :class:`~einvoice.types.Buyer`, :class:`~einvoice.types.LineInput`
lines and a payment method, and gets back an issued, immutable :class:`Invoice`.

Issuing runs in one transaction: allocate the number under the series counter's row lock (one
UPDATE … RETURNING, which also reads the active signing certificate), build the XML from the
lines and totals of ``totals.py`` (``issuing.document_build``), validate it
against ``schema/hdon.xsd``, sign and check it (not cash-register invoices), store the invoice,
its lines and its events from the same draft (``issuing.rows_store``, one INSERT each).
Series registration lives in ``series.py`` and is re-exported here; this module stays the
engine's façade for other apps. After commit the PDF is rendered by a task and the
``invoice_issued`` signal tells transmission. A failure anywhere leaves nothing behind (the
number goes back with the rollback, so numbers stay gapless). A caller issuing many invoices at
once (market/sales/invoicing.py's batch) wraps them in ``after_issue_deferred()`` and hands the
committed ids to ``after_issue_many``: one PDF task and one transmission task for the batch
instead of two messages per invoice.

``invoice_issue`` uses ``transaction.atomic()`` (not durable) so a caller may issue inside its own
transaction; the series lock is then held until the caller commits.
"""

from __future__ import annotations

import secrets
import threading
import uuid as uuid_lib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, ValidationFailed
from core.locking import lock_row
from core.text import nfc
from merchants.models import Merchant

from . import signing, xmlbuild
from .issuing import BuyerData, Correction, Draft, buyer_clean, document_build, rows_store
from .models import Invoice, InvoiceEvent, Series
from .numbering import Allocation, number_allocate, register_code
from .series import (
    series_create,
    series_for_issue,
    series_of_year,
    series_set_register_prefix,
    series_update,
)
from .signals import invoice_issued, invoices_issued
from .totals import RATE_ORDER, TAX_RATES, totals_compute
from .types import Buyer, LineInput

__all__ = [
    "RATE_ORDER",
    "TAX_RATES",
    "Buyer",
    "LineInput",
    "invoice_adjust",
    "invoice_cancel",
    "invoice_issue",
    "invoice_notice_buyer_fix",
    "invoice_replace",
    "series_create",
    "series_of_year",
    "series_set_register_prefix",
    "series_update",
]

LOOKUP_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I look-alikes
LOOKUP_LENGTH = 12
DEFAULT_PAYMENT_METHOD = "TM/CK"


def provider_tax_code() -> str:
    """MSTTCGP: the solution provider's tax code (``EINVOICE_PROVIDER_TAX_CODE``, validated as
    an MST when settings load); empty leaves the element out."""
    return str(getattr(settings, "EINVOICE_PROVIDER_TAX_CODE", "") or "")


# ---------------------------------------------------------------------------------------------
# Hooks for deterministic output (tests replace them)


def new_lookup_code() -> str:
    return "".join(secrets.choice(LOOKUP_ALPHABET) for _ in range(LOOKUP_LENGTH))


def new_uuid() -> uuid_lib.UUID:
    return uuid_lib.uuid4()


def signing_time() -> datetime:
    return timezone.now()


def lookup_url(lookup_code: str) -> str:
    base = getattr(settings, "EINVOICE_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
    return base + reverse("einvoice_lookup_detail", args=[lookup_code])


# ---------------------------------------------------------------------------------------------
# Issue


def _payment_method(text: str) -> str:
    method = nfc(text) or DEFAULT_PAYMENT_METHOD
    if len(method) > 50:
        raise ValidationFailed(
            fields={"payment_method": _("Hình thức thanh toán tối đa 50 ký tự.")}
        )
    return method


def _issued_at(value: datetime | None) -> datetime:
    if value is None:
        return timezone.now()
    if timezone.is_naive(value):
        raise ValidationFailed(fields={"issued_at": _("Thời điểm lập cần có múi giờ.")})
    return value


def _existing(merchant: Merchant, source_ref: str) -> Invoice | None:
    """The invoice already issued for ``source_ref``. Looked up by id first (the usual answer is
    none, and a one-column query is the cheaper one); ``source_ref != ''`` lets SQLite use the
    partial unique index (merchant, source_ref) instead of scanning the merchant's invoices."""
    if not source_ref:
        return None
    found = list(
        Invoice.objects.filter(~Q(source_ref=""), merchant=merchant, source_ref=source_ref)
        .order_by()
        .values_list("pk", flat=True)[:1]
    )
    return Invoice.objects.get(pk=found[0]) if found else None


def _signs(series: Series) -> bool:
    """Cash-register invoices need no signature (Decree 70); the others are signed."""
    return not series.is_cash_register or getattr(settings, "EINVOICE_SIGN_CASH_REGISTER", False)


def _sign_material(merchant: Merchant, allocation: Allocation) -> signing.SigningMaterial:
    """The merchant's active certificate as read with the number (in the issuing transaction):
    its material from the process cache, keyed so a rotated key is never used stale. A merchant
    without one gets a demo certificate here, once."""
    if allocation.certificate_id is None or allocation.key_fingerprint is None:
        return signing.material(signing.certificate_for(merchant))
    return signing.material_of(
        certificate_id=allocation.certificate_id, fingerprint=allocation.key_fingerprint
    )


def _issue(
    *,
    merchant: Merchant,
    series: Series | None,
    buyer: Buyer | None,
    buyer_data: BuyerData | None = None,
    lines: list[LineInput],
    payment_method: str,
    issued_at: datetime | None,
    source_ref: str,
    actor_label: str,
    correction: Correction | None = None,
    sold_on: date | None = None,
    prices_include_tax: bool = False,
) -> Invoice:
    source_ref = (source_ref or "").strip()
    if len(source_ref) > 64:
        raise ValidationFailed(fields={"source_ref": _("Mã tham chiếu tối đa 64 ký tự.")})
    found = _existing(merchant, source_ref)
    if found is not None:
        return found
    when = _issued_at(issued_at)
    local = timezone.localtime(when)
    year = local.year
    series = series_for_issue(merchant, series, year)
    if sold_on is not None and sold_on > local.date():
        raise ValidationFailed(fields={"sold_on": _("Ngày bán không thể sau ngày lập hóa đơn.")})
    if sold_on == local.date():
        sold_on = None  # the same day: nothing to tell
    method = _payment_method(payment_method)
    party = buyer_data if buyer_data is not None else buyer_clean(buyer)
    totals = totals_compute(
        list(lines),
        form=series.form,
        signed=correction is not None and correction.kind == Invoice.Kind.ADJUSTMENT,
        prices_include_tax=prices_include_tax,
    )
    signs = _signs(series)
    symbol = series.symbol
    code = new_lookup_code()
    seller_name = nfc(merchant.legal_name)
    seller_address = nfc(merchant.address)

    try:
        with transaction.atomic():
            # Two calls with one source_ref issue once: the second's INSERT breaks the unique
            # (merchant, source_ref) and rolls back with its number (see the except below).
            if issued_at is None:
                when = timezone.now()
            # Dates never go backwards within a series (numbers follow time): the counter keeps
            # the time of the invoice numbered just before and answers it with the number.
            allocation = number_allocate(series=series, year=year, issued_at=when)
            number = allocation.number
            if issued_at is None:
                # "Now", or the time of the invoice numbered just before when that is later (an
                # issue that took the counter first while this one waited for its lock).
                when = allocation.issued_at
                local = timezone.localtime(when)
                if local.year != year:  # the year turned while waiting for the lock
                    raise Conflict(
                        _("Năm mới vừa bắt đầu; hãy lập lại hóa đơn."), code="series_year_mismatch"
                    )
                if sold_on == local.date():
                    sold_on = None
            elif allocation.issued_at > when:
                raise Conflict(
                    _(
                        "Hóa đơn số trước của ký hiệu %(symbol)s lập lúc %(last)s; hóa đơn mới "
                        "không được lập lùi ngày. Hãy lập hóa đơn với ngày hôm nay."
                    )
                    % {
                        "symbol": symbol,
                        "last": timezone.localtime(allocation.issued_at).strftime("%H:%M %d/%m/%Y"),
                    },
                    code="invoice_date_backwards",
                )
            reg_code = (
                register_code(
                    form=series.form, year=year, prefix=series.register_prefix or "", number=number
                )
                if series.is_cash_register
                else ""
            )
            draft = Draft(
                merchant=merchant,
                series=series,
                year=year,
                number=number,
                issued_at=when,
                sold_on=sold_on,
                payment_method=method,
                seller_name=seller_name,
                seller_address=seller_address,
                buyer=party,
                totals=totals,
                lookup_code=code,
                register_code=reg_code,
                correction=correction,
            )
            doc = document_build(
                draft, provider_tax_code=provider_tax_code(), qr_data=lookup_url(code)
            )
            root = xmlbuild.build_xml(doc)
            problems = xmlbuild.schema_errors(root)
            if problems:
                raise ValidationFailed(
                    _("Hóa đơn không đúng định dạng XML: %(errors)s")
                    % {"errors": "; ".join(problems[:5])},
                    code="invoice_schema_invalid",
                )
            if signs:
                signer = _sign_material(merchant, allocation)
                xml = signing.sign_and_check(root, signer, signing_time()).decode("utf-8")
            else:
                xml = xmlbuild.serialize(root)
            invoice = rows_store(
                draft,
                uuid=new_uuid(),
                xml=xml,
                signed=signs,
                source_ref=source_ref,
                actor_label=actor_label,
            )
            invoice_id, collector = invoice.pk, getattr(_deferred, "ids", None)
            if collector is not None:  # inside after_issue_deferred(): the caller sends
                transaction.on_commit(lambda: collector.append(invoice_id))
            else:
                transaction.on_commit(lambda: _after_issue(invoice_id))
    except IntegrityError:
        # A concurrent issue with the same source_ref won the race (in this series, after it
        # held the counter; or in another): this one rolled back, its number with it.
        found = _existing(merchant, source_ref)
        if found is not None:
            return found
        raise
    return invoice


# The ids collected by ``after_issue_deferred`` in this thread (None: not deferring).
_deferred = threading.local()


def _after_issue(invoice_id: int) -> None:
    from .pdf_tasks import render_invoice_pdf

    render_invoice_pdf.delay(invoice_id)
    invoice_issued.send(sender=Invoice, invoice_id=invoice_id)


@contextmanager
def after_issue_deferred() -> Iterator[list[int]]:
    """Invoices issued inside do not each queue their PDF and transmission: their ids are
    collected (once their transaction commits; a rolled-back invoice is not) into the yielded
    list, which the caller hands to ``after_issue_many`` after its own commit."""
    ids: list[int] = []
    previous = getattr(_deferred, "ids", None)
    _deferred.ids = ids
    try:
        yield ids
    finally:
        _deferred.ids = previous


def after_issue_many(invoice_ids: list[int]) -> None:
    """After commit, for invoices issued together: one task renders their PDFs and the
    ``invoices_issued`` signal tells transmission once (einvoice/tasks.py: one task)."""
    ids = list(invoice_ids)
    if not ids:
        return
    from .pdf_tasks import render_invoice_pdfs

    render_invoice_pdfs.delay(ids)
    invoices_issued.send(sender=Invoice, invoice_ids=ids)


def invoice_issue(
    *,
    merchant: Merchant,
    series: Series | None = None,
    buyer: Buyer | None = None,
    lines: list[LineInput],
    payment_method: str = DEFAULT_PAYMENT_METHOD,
    issued_at: datetime | None = None,
    source_ref: str = "",
    actor_label: str = "",
    sold_on: date | None = None,
    prices_include_tax: bool = False,
) -> Invoice:
    """Issue an original invoice. Idempotent per (merchant, source_ref) when source_ref is given:
    the invoice already issued for it is returned unchanged.

    ``series`` defaults to the merchant's active series of the issue year (an ``auto_issue`` one
    first). ``issued_at`` defaults to now and may not be earlier than the series' last invoice;
    ``sold_on``: the sale's day when it was earlier (a late invoice), printed as "Ngày bán".
    ``prices_include_tax``: see ``totals.totals_compute``.
    Raises ValidationFailed (bad lines, buyer, payment method) or Conflict (no usable series, a
    series of another year, a date before the series' last invoice).
    """
    return _issue(
        merchant=merchant,
        series=series,
        buyer=buyer,
        lines=lines,
        payment_method=payment_method,
        issued_at=issued_at,
        source_ref=source_ref,
        actor_label=actor_label,
        sold_on=sold_on,
        prices_include_tax=prices_include_tax,
    )


def _check_correctable(original: Invoice) -> None:
    status = Invoice.objects.filter(pk=original.pk).values_list("status", flat=True).first()
    if status == Invoice.Status.CANCELED:
        raise Conflict(_("Hóa đơn đã hủy, không điều chỉnh hay thay thế được."), code="canceled")
    if original.corrections.filter(kind=Invoice.Kind.REPLACEMENT).exists():
        raise Conflict(
            _("Hóa đơn đã có hóa đơn thay thế; hãy xử lý trên hóa đơn thay thế."),
            code="already_replaced",
        )


def _reason(reason: str) -> str:
    text = nfc(reason)
    if not text or len(text) > 255:
        raise ValidationFailed(fields={"reason": _("Cần ghi lý do (tối đa 255 ký tự).")})
    return text


def _series_of_original(original: Invoice, issued_at: datetime | None) -> Series | None:
    """The original's series while it is usable (active, of the correction's year); else the
    merchant's default series of that year."""
    series = original.series
    year = timezone.localtime(issued_at or timezone.now()).year
    return series if series.is_active and series.year == year else None


def invoice_adjust(
    *,
    original: Invoice,
    lines: list[LineInput],
    reason: str,
    payment_method: str | None = None,
    issued_at: datetime | None = None,
    source_ref: str = "",
    actor_label: str = "",
    prices_include_tax: bool = False,
) -> Invoice:
    """Issue an adjustment invoice (hóa đơn điều chỉnh) for ``original``.

    The lines carry the differences: a negative quantity (or amount) lowers the original. The
    buyer is the original's. ``original`` is never modified; it gets an ``adjusted`` event.
    """
    text = _reason(reason)
    _check_correctable(original)
    return _issue(
        merchant=original.merchant,
        series=_series_of_original(original, issued_at),
        buyer=None,
        buyer_data=BuyerData(
            original.buyer_name,
            original.buyer_tax_code,
            original.buyer_citizen_id,
            original.buyer_email,
            original.buyer_address,
            original.buyer_phone,
        ),
        lines=lines,
        payment_method=payment_method or original.payment_method,
        issued_at=issued_at,
        source_ref=source_ref,
        actor_label=actor_label,
        correction=Correction(original, Invoice.Kind.ADJUSTMENT, text),
        prices_include_tax=prices_include_tax,
    )


def invoice_replace(
    *,
    original: Invoice,
    buyer: Buyer | None,
    lines: list[LineInput],
    reason: str,
    payment_method: str | None = None,
    issued_at: datetime | None = None,
    source_ref: str = "",
    actor_label: str = "",
    sold_on: date | None = None,
    prices_include_tax: bool = False,
) -> Invoice:
    """Issue a replacement invoice (hóa đơn thay thế) for ``original``: the full, corrected
    invoice. ``original`` keeps its status and gets a ``replaced`` event."""
    text = _reason(reason)
    _check_correctable(original)
    return _issue(
        merchant=original.merchant,
        series=_series_of_original(original, issued_at),
        buyer=buyer,
        lines=lines,
        payment_method=payment_method or original.payment_method,
        issued_at=issued_at,
        source_ref=source_ref,
        actor_label=actor_label,
        correction=Correction(original, Invoice.Kind.REPLACEMENT, text),
        sold_on=sold_on,
        prices_include_tax=prices_include_tax,
    )


def invoice_cancel(*, invoice: Invoice, reason: str, actor_label: str = "") -> Invoice:
    """Cancel an invoice (hủy): status → canceled and a ``canceled`` event that transmission
    sends to the authority. The XML is untouched. Canceling twice is a no-op."""
    text = _reason(reason)
    with transaction.atomic():
        locked = lock_row(Invoice, invoice.pk)
        if locked.status == Invoice.Status.CANCELED:
            return locked
        previous = locked.status
        locked.status = Invoice.Status.CANCELED
        locked.save(update_fields=["status"])
        InvoiceEvent.objects.create(
            invoice=locked,
            kind=InvoiceEvent.Kind.CANCELED,
            actor_label=actor_label[:80],
            payload={"reason": text, "previous_status": previous},
        )
    return locked


def invoice_notice_buyer_fix(
    *,
    invoice: Invoice,
    buyer_name: str = "",
    buyer_address: str = "",
    reason: str = "",
    actor_label: str = "",
) -> InvoiceEvent:
    """Record a notice (thông báo sai sót, form 04/SS-HĐĐT) for a wrong buyer name or address:
    the tax code is right, so no new invoice is issued and the original stays as it is."""
    name = nfc(buyer_name)
    address = nfc(buyer_address)
    if not name and not address:
        raise ValidationFailed(
            fields={"buyer_name": _("Cần ghi tên hoặc địa chỉ đúng của người mua.")}
        )
    if len(name) > 400 or len(address) > 400:
        raise ValidationFailed(fields={"buyer_name": _("Tên hoặc địa chỉ tối đa 400 ký tự.")})
    if invoice.status == Invoice.Status.CANCELED:
        raise Conflict(_("Hóa đơn đã hủy."), code="canceled")
    payload = {
        "form": "04/SS-HĐĐT",
        "old": {"buyer_name": invoice.buyer_name, "buyer_address": invoice.buyer_address},
        "new": {
            "buyer_name": name or invoice.buyer_name,
            "buyer_address": address or invoice.buyer_address,
        },
        "reason": nfc(reason)[:255],
    }
    with transaction.atomic():
        return InvoiceEvent.objects.create(
            invoice=invoice,
            kind=InvoiceEvent.Kind.NOTICE,
            actor_label=actor_label[:80],
            payload=payload,
        )
