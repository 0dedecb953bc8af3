"""Invoice series (ký hiệu hóa đơn): registration, the cash register's prefix, and which series
an invoice is issued in.

A series is a form (mẫu số: 1 VAT invoice, 2 sales invoice) and a 6-character symbol (ký hiệu)
checked per Circular 78 Art. 4; a cash-register series (kind letter M) also needs the 5-character
prefix the tax authority assigns to the register before it can issue.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from core.audit import audit_record
from core.errors import Conflict, ValidationFailed
from core.locking import lock_row
from merchants.models import Merchant

from .models import Series

__all__ = [
    "series_create",
    "series_for_issue",
    "series_of_year",
    "series_set_register_prefix",
    "series_update",
]

# Symbol: C/K, 2-digit year, kind letter, 2 upper-case letters (Circular 78 Art. 4). The kind
# letters a seller may register per form; L (per-occurrence invoices) is the tax authority's own.
_SERIES_KINDS = {"1": "TDMG", "2": "TDMH"}
AUTHORITY_KINDS = "L"


def _validate_symbol(form: str, symbol: str) -> str:
    symbol = (symbol or "").strip().upper()
    if form not in _SERIES_KINDS:
        raise ValidationFailed(
            fields={"form": _("Ký hiệu mẫu số phải là 1 (hóa đơn GTGT) hoặc 2 (hóa đơn bán hàng).")}
        )
    if len(symbol) == 6 and symbol[3] in AUTHORITY_KINDS:
        raise ValidationFailed(
            fields={
                "symbol": _(
                    "Ký hiệu loại L là hóa đơn do cơ quan thuế cấp theo từng lần phát sinh; người "
                    "bán không đăng ký được. Hãy chọn loại T, D hoặc M (G cho hóa đơn GTGT, H cho "
                    "hóa đơn bán hàng dạng tem, vé, thẻ)."
                )
            }
        )
    ok = (
        len(symbol) == 6
        and symbol[0] in "CK"
        and symbol[1:3].isdigit()
        and symbol[3] in _SERIES_KINDS[form]
        and symbol[4:].isascii()
        and symbol[4:].isalpha()
    )
    if not ok:
        raise ValidationFailed(
            fields={
                "symbol": _(
                    "Ký hiệu hóa đơn gồm 6 ký tự: C (có mã) hoặc K (không mã), 2 số cuối của "
                    "năm, một chữ loại hóa đơn (T, D, M; G cho hóa đơn GTGT, H cho hóa đơn "
                    "bán hàng) và 2 chữ cái in hoa, ví dụ C26MAB."
                )
            }
        )
    if symbol[3] == "M" and symbol[0] != "C":
        raise ValidationFailed(
            fields={"symbol": _("Hóa đơn khởi tạo từ máy tính tiền phải có mã: bắt đầu bằng C.")}
        )
    return symbol


def _validate_prefix(prefix: str) -> str:
    prefix = (prefix or "").strip().upper()
    if len(prefix) != 5 or not prefix.isascii() or not prefix.isalnum():
        raise ValidationFailed(
            fields={
                "register_prefix": _("Tiền tố máy tính tiền do cơ quan thuế cấp gồm 5 chữ hoặc số.")
            }
        )
    return prefix


def series_create(
    *,
    merchant: Merchant,
    form: str,
    symbol: str,
    register_prefix: str | None = None,
    auto_issue: bool = False,
    actor: Any = None,
    actor_label: str = "",
) -> Series:
    """Register a series for the merchant (symbol validated per Circular 78)."""
    symbol = _validate_symbol(form, symbol)
    prefix = _validate_prefix(register_prefix) if register_prefix else None
    if prefix and symbol[3] != "M":
        raise ValidationFailed(
            fields={"register_prefix": _("Chỉ ký hiệu máy tính tiền (chữ M) mới có tiền tố này.")}
        )
    try:
        with transaction.atomic():
            series = Series.objects.create(
                merchant=merchant,
                form=form,
                symbol=symbol,
                register_prefix=prefix,
                auto_issue=auto_issue,
            )
            audit_record(
                actor=actor,
                actor_label=actor_label,
                action="einvoice.series_create",
                target=series,
                data={"form": form, "symbol": symbol},
            )
    except IntegrityError:
        raise Conflict(
            _("Ký hiệu %(form)s%(symbol)s đã có, hoặc tiền tố máy tính tiền đã được dùng.")
            % {"form": form, "symbol": symbol},
            code="series_exists",
        ) from None
    return series


def series_set_register_prefix(
    *, series: Series, prefix: str, actor: Any = None, actor_label: str = ""
) -> Series:
    """Record the 5-character prefix the tax gateway assigned to the cash register."""
    prefix = _validate_prefix(prefix)
    if not series.is_cash_register:
        raise ValidationFailed(
            fields={"register_prefix": _("Chỉ ký hiệu máy tính tiền (chữ M) mới có tiền tố này.")}
        )
    try:
        with transaction.atomic():
            locked = lock_row(Series, series.pk)
            if locked.register_prefix == prefix:
                return locked
            if locked.register_prefix and locked.invoices.exists():
                raise Conflict(
                    _("Ký hiệu đã lập hóa đơn với tiền tố khác, không đổi được."),
                    code="prefix_in_use",
                )
            locked.register_prefix = prefix
            locked.save(update_fields=["register_prefix"])
            audit_record(
                actor=actor,
                actor_label=actor_label,
                action="einvoice.series_set_register_prefix",
                target=locked,
                data={"prefix": prefix},
            )
    except IntegrityError:
        raise Conflict(
            _("Tiền tố máy tính tiền này đã được dùng cho ký hiệu khác."), code="prefix_in_use"
        ) from None
    return locked


def series_update(
    *,
    series: Series,
    auto_issue: bool | None = None,
    is_active: bool | None = None,
    actor: Any = None,
    actor_label: str = "",
) -> Series:
    with transaction.atomic():
        locked = lock_row(Series, series.pk)
        changed = []
        if auto_issue is not None and locked.auto_issue != auto_issue:
            locked.auto_issue = auto_issue
            changed.append("auto_issue")
        if is_active is not None and locked.is_active != is_active:
            locked.is_active = is_active
            changed.append("is_active")
        if changed:
            locked.save(update_fields=changed)
            audit_record(
                actor=actor,
                actor_label=actor_label,
                action="einvoice.series_update",
                target=locked,
                data={f: getattr(locked, f) for f in changed},
            )
    return locked


def series_of_year(series: list[Series], year: int) -> Series | None:
    """The first of ``series`` whose symbol is of ``year``, else the first (whose use will be
    refused with a clear message)."""
    return next((s for s in series if s.year == year), series[0] if series else None)


def series_for_issue(merchant: Merchant, series: Series | None, year: int) -> Series:
    """The series an invoice of ``year`` is issued in: ``series`` if given, else the merchant's
    active one of that year (auto-issue first). Refused with a clear message when it is another
    merchant's, stopped, a cash register without its prefix, or of another year."""
    if series is None:
        series = series_of_year(
            list(
                Series.objects.filter(merchant=merchant, is_active=True).order_by(
                    "-auto_issue", "form", "id"
                )
            ),
            year,
        )
        if series is None:
            raise Conflict(
                _("Cửa hàng chưa đăng ký ký hiệu hóa đơn điện tử."), code="no_invoice_series"
            )
    if series.merchant_id != merchant.pk:
        raise ValidationFailed(fields={"series": _("Ký hiệu hóa đơn không thuộc cửa hàng này.")})
    if not series.is_active:
        raise Conflict(_("Ký hiệu hóa đơn đã ngừng sử dụng."), code="series_inactive")
    if series.is_cash_register and not series.register_prefix:
        raise Conflict(
            _(
                "Máy tính tiền chưa được cơ quan thuế cấp tiền tố 5 ký tự; chưa lập được hóa "
                "đơn theo ký hiệu %(symbol)s."
            )
            % {"symbol": series.symbol},
            code="register_not_registered",
        )
    if series.year != year:
        raise Conflict(
            _(
                "Ký hiệu %(symbol)s là của năm %(series_year)s; hóa đơn lập năm %(year)s phải "
                "dùng ký hiệu của năm %(year)s (ví dụ %(example)s). Hãy đăng ký ký hiệu mới."
            )
            % {
                "symbol": series.symbol,
                "series_year": series.year,
                "year": year,
                "example": f"{series.symbol[0]}{year % 100:02d}{series.symbol[3:]}",
            },
            code="series_year_mismatch",
        )
    return series
