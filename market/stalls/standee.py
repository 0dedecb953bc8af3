"""Stall standees (bảng QR tại sạp): a printable A6 card the trader puts on the stall.

A standee carries a *static* VietQR (no amount, no message) for the merchant's default bank
account, so a shopper can scan it with any banking app, type the amount and pay; the transfer
reaches us through the bank-notification provider and is recorded as a walk-in payment
("khách chuyển khoản", see payments/models.py).

Rendering only: this module reads the stall, builds the QR and lays out the PDF with WeasyPrint.
Jobs that print a whole market live in market/stalls/services.py (``standee_job_*``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from core import qr
from core.errors import Conflict
from merchants.models import BankAccount
from payments import vietqr

from ..models import Market, Stall
from .selectors import standee_stalls

TEMPLATE = "market/standee.html"

# progress(done, total): called after each stall's page is laid out.
Progress = Callable[[int, int], None]


class StandeeUnavailable(Conflict):
    """The stall cannot have a standee yet: no trader, or the trader has no default account."""

    code = "standee_unavailable"


@dataclass(frozen=True)
class StandeeContent:
    """Everything printed on one standee."""

    market_name: str
    stall_code: str
    merchant_name: str
    bank_short_name: str
    account_number: str
    holder_name: str
    payload: str  # the static VietQR payload the QR encodes
    qr_data_uri: str  # the QR as a PNG data: URI


def default_bank_account(stall: Stall) -> BankAccount | None:
    """The merchant's default receiving account; uses prefetched accounts when there are any."""
    if stall.merchant is None:
        return None
    accounts = stall.merchant.bank_accounts.all()
    return next((account for account in accounts if account.is_default), None)


def _qr_data_uri(payload: str) -> str:
    """The QR as a PNG data: URI, 10 pixels a module with the 4-module quiet zone.

    A PNG rather than the SVG: it writes into the PDF ~15 ms a page faster, and the template
    scales it with ``image-rendering: pixelated`` so module edges stay sharp on paper (checked
    by eye at 110 and 300 dpi, and decoded by zbarimg off a 110 dpi page).
    """
    png = qr.qr_png(payload, box_size=10, border=4)
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def standee_content(stall: Stall) -> StandeeContent:
    """What the stall's standee shows. Raises StandeeUnavailable when it cannot have one."""
    if stall.merchant is None:
        raise StandeeUnavailable(
            _("Sạp %(code)s chưa có thương nhân nên chưa in được bảng QR.") % {"code": stall.code}
        )
    account = default_bank_account(stall)
    if account is None:
        raise StandeeUnavailable(
            _(
                "%(merchant)s chưa có tài khoản ngân hàng nhận tiền mặc định. Hãy thêm tài khoản "
                "(hoặc chọn một tài khoản làm mặc định) rồi in lại bảng QR cho sạp %(code)s."
            )
            % {"merchant": stall.merchant.display_name, "code": stall.code}
        )
    payload = vietqr.build(bin=account.bank_bin, account=account.account_number)
    return StandeeContent(
        market_name=stall.market.name,
        stall_code=stall.code,
        merchant_name=stall.merchant.display_name,
        bank_short_name=account.bank_short_name,
        account_number=account.account_number,
        holder_name=account.holder_name,
        payload=payload,
        qr_data_uri=_qr_data_uri(payload),
    )


def _html(content: StandeeContent):
    from weasyprint import HTML  # imported on first use: ~1 s, not needed to serve pages

    return HTML(string=render_to_string(TEMPLATE, {"standee": content}))


def render_stall_standee(stall: Stall) -> bytes:
    """One stall's standee: a one-page A6 PDF. Raises StandeeUnavailable."""
    return _html(standee_content(stall)).write_pdf()


def render_market_standees(market: Market, progress: Progress | None = None) -> bytes:
    """One PDF with an A6 page per stall that has a trader with a default bank account.

    Stalls without are skipped (``selectors.standee_counts`` counts them). Each page is laid
    out on its own, so ``progress(done, total)`` moves stall by stall; the pages are then written
    as one PDF, which embeds each font once. Raises StandeeUnavailable when no stall qualifies.
    """
    stalls = [stall for stall in standee_stalls(market) if default_bank_account(stall)]
    if not stalls:
        raise StandeeUnavailable(
            _("%(market)s chưa có sạp nào có thương nhân với tài khoản nhận tiền mặc định.")
            % {"market": market.name}
        )
    total = len(stalls)
    if progress is not None:
        progress(0, total)
    from weasyprint.text.fonts import FontConfiguration

    font_config = FontConfiguration()
    documents = []
    for done, stall in enumerate(stalls, start=1):
        documents.append(_html(standee_content(stall)).render(font_config=font_config))
        if progress is not None:
            progress(done, total)
    combined = documents[0].copy([page for document in documents for page in document.pages])
    combined.metadata.title = f"Bảng QR · {market.name}"
    return combined.write_pdf()
