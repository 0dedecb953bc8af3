"""Invoice totals: pure functions of the lines, no database.

``totals_compute`` checks the lines a caller passes (:class:`~einvoice.types.LineInput`), rounds
each line's tax half-up to whole đồng once, at the line, and sums the rounded lines into the
per-rate groups (TSuat), the total before tax, the VAT, the discount (chiết khấu thương mại), the
payable amount and that amount in Vietnamese words. The same :class:`Line` rows feed the XML
document and the stored invoice lines.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy as _

from core.errors import ValidationFailed
from core.text import nfc
from core.vnwords import MAX_AMOUNT, amount_in_words, number_to_words

from . import rounding, xmlbuild
from .models import Form, InvoiceLine
from .types import LineInput

__all__ = [
    "LINE_KINDS",
    "MAX_LINES",
    "RATE_ORDER",
    "TAX_RATES",
    "Line",
    "Totals",
    "split_tax_inclusive",
    "totals_compute",
]

TAX_RATES: dict[str, int] = rounding.RATE_PERCENT
RATE_ORDER = list(TAX_RATES)
LINE_KINDS = {k.value for k in InvoiceLine.Kind}
MAX_LINES = 500


@dataclass(frozen=True)
class Line:
    """One invoice line as issued: the XML line (XmlLine) and the stored row (InvoiceLine)
    are both made from it."""

    position: int
    kind: str
    name: str
    unit: str
    quantity: Decimal | None
    unit_price: int | None
    amount: int  # signed contribution before tax: a discount is negative here
    shown_amount: int  # as written in ThTien
    tax_rate: str
    tax_amount: int


@dataclass(frozen=True)
class Totals:
    lines: list[Line]
    rate_totals: list[xmlbuild.XmlRateTotal]
    before_tax: int
    tax: int
    discount: int
    payable: int
    words: str


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def totals_compute(
    lines: list[LineInput], *, form: str, signed: bool, prices_include_tax: bool = False
) -> Totals:
    """Check the lines and compute line taxes and totals. ``signed`` allows negative lines
    (an adjustment that lowers the amounts). ``prices_include_tax``: the lines' prices and
    amounts are what the buyer pays; on a VAT invoice they are split into pre-tax amount + tax
    (``rounding.split_tax_inclusive``) so the invoice totals exactly their sum."""
    if not lines:
        raise ValidationFailed(fields={"lines": _("Hóa đơn cần ít nhất một dòng hàng hóa.")})
    if len(lines) > MAX_LINES:
        raise ValidationFailed(fields={"lines": _("Hóa đơn có tối đa 500 dòng.")})
    errors: dict[str, Any] = {}
    out: list[Line] = []
    with_tax = form == Form.VAT
    for index, line in enumerate(lines):
        key = f"lines.{index}"
        name = nfc(line.name)
        kind = line.kind
        if kind not in LINE_KINDS:
            errors[f"{key}.kind"] = _("Loại dòng phải là goods, discount hoặc note.")
            continue
        if not name or len(name) > 500:
            errors[f"{key}.name"] = _("Tên hàng hóa, dịch vụ cần từ 1 đến 500 ký tự.")
            continue
        if kind == InvoiceLine.Kind.NOTE:
            out.append(Line(index + 1, kind, name, "", None, None, 0, 0, "", 0))
            continue
        if line.tax_rate not in TAX_RATES:
            errors[f"{key}.tax_rate"] = _(
                "Thuế suất phải là một trong: KCT, KKKNT, 0%, 5%, 8%, 10%."
            )
            continue
        if not _is_int(line.amount) or abs(line.amount) > MAX_AMOUNT:
            errors[f"{key}.amount"] = _("Thành tiền phải là số nguyên đồng.")
            continue
        quantity = line.quantity
        price = line.unit_price
        if kind == InvoiceLine.Kind.DISCOUNT:
            if line.amount <= 0 or quantity is not None or price is not None:
                errors[f"{key}.amount"] = _(
                    "Dòng chiết khấu chỉ ghi số tiền chiết khấu (số dương), không ghi số lượng."
                )
                continue
            contribution = -line.amount
        else:
            if (quantity is None) != (price is None):
                errors[f"{key}.quantity"] = _("Cần ghi cả số lượng và đơn giá, hoặc bỏ cả hai.")
                continue
            if quantity is not None and price is not None:
                if not isinstance(quantity, Decimal) or not quantity.is_finite():
                    errors[f"{key}.quantity"] = _("Số lượng phải là số thập phân (Decimal).")
                    continue
                exponent = quantity.as_tuple().exponent
                if not isinstance(exponent, int) or exponent < -4 or abs(quantity) >= 10**10:
                    errors[f"{key}.quantity"] = _("Số lượng có tối đa 4 chữ số thập phân.")
                    continue
                if not _is_int(price) or price < 0 or price > MAX_AMOUNT:
                    errors[f"{key}.unit_price"] = _("Đơn giá phải là số nguyên đồng không âm.")
                    continue
                if quantity == 0 or (quantity < 0 and not signed):
                    errors[f"{key}.quantity"] = _("Số lượng phải lớn hơn 0.")
                    continue
                try:
                    expected = _round(quantity * price)
                except InvalidOperation:
                    errors[f"{key}.quantity"] = _("Số lượng không hợp lệ.")
                    continue
                if line.amount != expected:
                    errors[f"{key}.amount"] = _(
                        "Thành tiền phải bằng số lượng × đơn giá, làm tròn đến đồng (%(expected)s)."
                    ) % {"expected": expected}
                    continue
            if line.amount < 0 and not signed:
                errors[f"{key}.amount"] = _("Thành tiền không được âm.")
                continue
            contribution = line.amount
        rate = line.tax_rate
        tax = _round(Decimal(contribution) * TAX_RATES[rate] / 100) if with_tax else 0
        out.append(
            Line(
                position=index + 1,
                kind=kind,
                name=name,
                unit=nfc(line.unit)[:50],
                quantity=quantity,
                unit_price=price,
                amount=contribution,
                shown_amount=line.amount,
                tax_rate=rate,
                tax_amount=tax,
            )
        )
    if errors:
        raise ValidationFailed(fields=errors)
    if with_tax and prices_include_tax:
        out = split_tax_inclusive(out)
    priced = [line for line in out if line.kind != InvoiceLine.Kind.NOTE]
    if not priced:
        raise ValidationFailed(fields={"lines": _("Hóa đơn cần ít nhất một dòng hàng hóa.")})
    by_rate: dict[str, list[int]] = {}
    for row in priced:
        sums = by_rate.setdefault(row.tax_rate, [0, 0])
        sums[0] += row.amount
        sums[1] += row.tax_amount
    rate_totals = [
        xmlbuild.XmlRateTotal(rate, by_rate[rate][0], by_rate[rate][1])
        for rate in RATE_ORDER
        if rate in by_rate
    ]
    before_tax = sum(line.amount for line in priced)
    tax = sum(line.tax_amount for line in priced)
    discount = -sum(line.amount for line in priced if line.kind == InvoiceLine.Kind.DISCOUNT)
    payable = before_tax + tax
    if abs(payable) > MAX_AMOUNT:
        raise ValidationFailed(fields={"lines": _("Tổng tiền quá lớn.")})
    if payable < 0 and not signed:
        raise ValidationFailed(fields={"lines": _("Tổng tiền thanh toán không được âm.")})
    words = (
        amount_in_words(payable)
        if payable >= 0
        else f"Điều chỉnh giảm {number_to_words(-payable)} đồng"
    )
    return Totals(out, rate_totals, before_tax, tax, discount, payable, words)


def split_tax_inclusive(out: list[Line]) -> list[Line]:
    """Tax-inclusive lines → pre-tax lines whose amount + tax is the inclusive amount. The unit
    price shown is the inclusive one ÷ (1 + rate), rounded: it is informative, the amount
    (ThTien) is what counts."""
    priced = [i for i, line in enumerate(out) if line.kind != InvoiceLine.Kind.NOTE]
    split = rounding.split_tax_inclusive([(out[i].amount, out[i].tax_rate) for i in priced])
    result = list(out)
    for i, (net, tax) in zip(priced, split, strict=True):
        line = out[i]
        percent = TAX_RATES[line.tax_rate]
        price = line.unit_price
        if price is not None and percent:
            price = _round(Decimal(price) * 100 / (100 + percent))
        shown = -net if line.kind == InvoiceLine.Kind.DISCOUNT else net
        result[i] = replace(line, amount=net, shown_amount=shown, unit_price=price, tax_amount=tax)
    return result
