"""Fixtures for the e-invoice engine tests: a seller with series, lines, deterministic ids."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from einvoice import services
from einvoice.models import Series
from einvoice.services import LineInput
from merchants.models import Merchant
from tests.factories import MerchantFactory

VN = ZoneInfo("Asia/Ho_Chi_Minh")
ISSUED_AT = datetime(2026, 3, 14, 9, 30, tzinfo=VN)


def seller(**kwargs) -> Merchant:
    return MerchantFactory(**kwargs)


def vat_series(merchant: Merchant, symbol: str = "C26TAA") -> Series:
    return services.series_create(merchant=merchant, form="1", symbol=symbol)


def register_series(merchant: Merchant, symbol: str = "C26MAB", prefix: str = "A1B2C") -> Series:
    return services.series_create(
        merchant=merchant, form="2", symbol=symbol, register_prefix=prefix, auto_issue=True
    )


def goods(
    name: str = "Cá thu",
    quantity: str = "1",
    price: int = 100_000,
    rate: str = "8%",
    unit: str = "kg",
) -> LineInput:
    q = Decimal(quantity)
    from decimal import ROUND_HALF_UP

    amount = int((q * price).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return LineInput(
        name=name, quantity=q, unit_price=price, amount=amount, unit=unit, tax_rate=rate
    )


@pytest.fixture
def deterministic(monkeypatch):
    """Fixed uuids, lookup codes and signing time, so the XML is the same on every run."""
    counter = itertools.count(1)
    monkeypatch.setattr(services, "new_lookup_code", lambda: f"TESTCODE{next(counter):04d}")
    uuids = itertools.count(1)
    monkeypatch.setattr(services, "new_uuid", lambda: uuid.UUID(int=next(uuids)))
    monkeypatch.setattr(services, "signing_time", lambda: ISSUED_AT)
    return counter
