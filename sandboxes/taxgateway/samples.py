"""Sample invoice XML (``HDon``) for tests and demos of the sandbox gateway.

Not the platform's XML builder (that is einvoice's); just enough of the GDT format for the gateway's
checks: ``DLHDon{TTChung, NDHDon{NBan, NMua, DSHHDVu, TToan}}`` and ``MCCQT`` for a cash-register
code. Totals are computed right unless overridden.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from xml.sax.saxutils import escape

# (name, quantity, unit price in đồng, rate "8%" / "KCT" / "" for a sales invoice)
Line = tuple[str, str, int, str]

DEFAULT_LINES: tuple[Line, ...] = (
    ("Tôm sú", "0.500", 170_000, "8%"),
    ("Rau muống", "2", 7_500, "5%"),
)


def _rate(rate: str) -> Decimal | None:
    return Decimal(rate[:-1]) if rate.endswith("%") else None


def invoice_xml(
    *,
    tax_code: str = "0401234566",
    form: str = "1",
    series: str | None = None,
    number: int = 1,
    issued_on: date | None = None,
    lines: Sequence[Line] = DEFAULT_LINES,
    cash_register_code: str | None = None,
    before_tax: int | None = None,
    tax: int | None = None,
    payable: int | None = None,
    invoice_id: str = "data",
) -> str:
    """One invoice; ``before_tax``/``tax``/``payable`` replace the computed totals (to make a
    wrong one)."""
    issued_on = issued_on or date.today()
    series = series or f"C{issued_on.year % 100:02d}TAA"
    rows: list[str] = []
    per_rate: dict[str, Decimal] = {}
    for index, (name, quantity, price, rate) in enumerate(lines, start=1):
        amount = (Decimal(quantity) * price).quantize(Decimal(1), ROUND_HALF_UP)
        per_rate[rate] = per_rate.get(rate, Decimal(0)) + amount
        rate_xml = f"<TSuat>{escape(rate)}</TSuat>" if rate else ""
        rows.append(
            f"<HHDVu><TChat>1</TChat><STT>{index}</STT><THHDVu>{escape(name)}</THHDVu>"
            f"<DVTinh>kg</DVTinh><SLuong>{quantity}</SLuong><DGia>{price}</DGia>"
            f"<ThTien>{amount}</ThTien>{rate_xml}</HHDVu>"
        )
    breakdown: list[str] = []
    total_tax = Decimal(0)
    for rate, amount in per_rate.items():
        percent = _rate(rate)
        rate_tax = (
            (amount * percent / 100).quantize(Decimal(1), ROUND_HALF_UP) if percent else Decimal(0)
        )
        total_tax += rate_tax
        if rate:
            breakdown.append(
                f"<LTSuat><TSuat>{escape(rate)}</TSuat><ThTien>{amount}</ThTien>"
                f"<TThue>{rate_tax}</TThue></LTSuat>"
            )
    total = sum(per_rate.values(), Decimal(0))
    before = Decimal(before_tax) if before_tax is not None else total
    tax_value = Decimal(tax) if tax is not None else total_tax
    to_pay = Decimal(payable) if payable is not None else before + tax_value
    rates = f"<THTTLTSuat>{''.join(breakdown)}</THTTLTSuat>" if breakdown else ""
    code = f"<MCCQT>{escape(cash_register_code or '')}</MCCQT>"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<HDon><DLHDon Id="{escape(invoice_id)}"><TTChung><PBan>2.1.0</PBan>'
        f"<THDon>Hóa đơn</THDon><KHMSHDon>{escape(form)}</KHMSHDon>"
        f"<KHHDon>{escape(series)}</KHHDon><SHDon>{number}</SHDon>"
        f"<NLap>{issued_on.isoformat()}</NLap><DVTTe>VND</DVTTe><TGia>1</TGia>"
        "<HTTToan>TM/CK</HTTToan>"
        "</TTChung><NDHDon>"
        f"<NBan><Ten>Hải sản Hùng</Ten><MST>{escape(tax_code)}</MST>"
        "<DChi>Chợ Hàn, Đà Nẵng</DChi></NBan><NMua><Ten>Khách lẻ</Ten></NMua>"
        f"<DSHHDVu>{''.join(rows)}</DSHHDVu>"
        f"<TToan>{rates}<TgTCThue>{before}</TgTCThue><TgTThue>{tax_value}</TgTThue>"
        f"<TgTTTBSo>{to_pay}</TgTTTBSo><TgTTTBChu>(bằng chữ)</TgTTTBChu></TToan>"
        f"</NDHDon></DLHDon>{code}<DSCKS><NBan/><NMua/><CQT/><CCKSKhac/></DSCKS></HDon>"
    )


def cash_register_code(*, form: str, year: int, prefix: str, sequence: int) -> str:
    """``M{form}-{YY}-{prefix}-{11 digits}``."""
    return f"M{form}-{year % 100:02d}-{prefix}-{sequence:011d}"
