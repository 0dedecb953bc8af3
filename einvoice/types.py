"""The engine's input: who buys and what is sold. The order system builds these."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Buyer:
    """The buyer, all optional. ``tax_code`` is a tax code (MST, 10 or 10-3 digits) or a
    12-digit personal identification number (số định danh cá nhân / CCCD)."""

    name: str = ""
    tax_code: str = ""
    email: str = ""
    address: str = ""
    phone: str = ""


@dataclass(frozen=True)
class LineInput:
    """One invoice line.

    ``kind``: "goods" (hàng hóa, dịch vụ), "discount" (chiết khấu thương mại: a positive
    ``amount`` that is taken off its tax-rate group) or "note" (ghi chú: name only).
    ``amount`` must equal ``quantity × unit_price`` rounded half-up to whole đồng for goods.
    ``tax_rate``: "KCT", "KKKNT", "0%", "5%", "8%" or "10%" (XML TSuat).
    """

    name: str
    amount: int = 0
    quantity: Decimal | None = None
    unit_price: int | None = None
    unit: str = ""
    tax_rate: str = "KCT"
    kind: str = "goods"
