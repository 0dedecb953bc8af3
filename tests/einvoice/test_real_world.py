"""Issue 14, "E-invoices the real world accepts": the engine's side.

Series carry their own year and only the seller may register T/D/M… kinds (not L); an invoice's
identity is unique by construction; dates never go backwards in a series; note lines carry
ThTien 0; tax-inclusive prices split into pre-tax + tax that add up to exactly what was paid;
the solution provider's tax code is a validated setting.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from lxml import etree

from core.errors import Conflict, ValidationFailed
from einvoice import rounding, services, totals, xmlbuild
from einvoice.models import Invoice, SeriesCounter
from einvoice.services import LineInput

from .conftest import ISSUED_AT, VN, goods, seller, vat_series

pytestmark = pytest.mark.django_db


# --------------------------------------------------------------------------------------------
# Item 3: one identity per invoice; a series carries its own year


def test_it_prints_each_series_with_its_own_year_so_identities_never_collide():
    merchant = seller()
    old = vat_series(merchant, "C25TAD")
    new = vat_series(merchant, "C26TAD")
    a = services.invoice_issue(
        merchant=merchant,
        series=old,
        lines=[goods()],
        issued_at=datetime(2025, 12, 30, 10, tzinfo=VN),
    )
    b = services.invoice_issue(merchant=merchant, series=new, lines=[goods()], issued_at=ISSUED_AT)
    assert (a.full_symbol, a.number, a.year) == ("1C25TAD", 1, 2025)
    assert (b.full_symbol, b.number, b.year) == ("1C26TAD", 1, 2026)
    assert "<KHHDon>C25TAD</KHHDon>" in a.xml and "<KHHDon>C26TAD</KHHDon>" in b.xml


def test_it_refuses_to_issue_a_2026_invoice_on_a_series_of_another_year():
    merchant = seller()
    series = vat_series(merchant, "C25TAD")
    with pytest.raises(Conflict) as err:
        services.invoice_issue(
            merchant=merchant, series=series, lines=[goods()], issued_at=ISSUED_AT
        )
    assert err.value.code == "series_year_mismatch"
    assert "C25TAD" in str(err.value.message) and "2026" in str(err.value.message)
    assert Invoice.objects.count() == 0
    # The year is Vietnam's: 31 Dec 23:30 in Da Nang is still 2025 (16:30 UTC).
    late = services.invoice_issue(
        merchant=merchant,
        series=series,
        lines=[goods()],
        issued_at=datetime(2025, 12, 31, 23, 30, tzinfo=VN),
    )
    assert late.series_symbol == "C25TAD"


def test_the_default_series_is_one_of_the_issue_year():
    merchant = seller()
    vat_series(merchant, "C25TAD")
    current = vat_series(merchant, "C26TAE")
    invoice = services.invoice_issue(merchant=merchant, lines=[goods()], issued_at=ISSUED_AT)
    assert invoice.series == current


def test_the_database_refuses_two_invoices_with_one_identity():
    merchant = seller()
    series = vat_series(merchant, "C26TAD")
    first = services.invoice_issue(
        merchant=merchant, series=series, lines=[goods()], issued_at=ISSUED_AT
    )
    other = vat_series(merchant, "C26TAF")
    second = services.invoice_issue(
        merchant=merchant, series=other, lines=[goods()], issued_at=ISSUED_AT
    )
    row = Invoice.objects.filter(pk=second.pk).values().get()
    row.update(
        id=None,
        uuid=first.uuid.hex[:-4] + "ffff",
        series_symbol=first.series_symbol,
        lookup_code="DUPLICATE0001",
        source_ref="",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Invoice.objects.create(**row)


# --------------------------------------------------------------------------------------------
# Item 5: L (per-occurrence invoices of the tax authority) is not the seller's to register


@pytest.mark.parametrize("form,symbol", [("1", "C26LAB"), ("2", "K26LAB")])
def test_it_refuses_a_series_of_kind_L_with_a_clear_message(form, symbol):
    with pytest.raises(ValidationFailed) as err:
        services.series_create(merchant=seller(), form=form, symbol=symbol)
    message = str(err.value.fields["symbol"])
    assert "L" in message and "cơ quan thuế" in message


# --------------------------------------------------------------------------------------------
# Item 4: dates never go backwards in a series; the sale date is referenced


def test_it_refuses_an_invoice_dated_before_the_last_one_of_its_series():
    merchant = seller()
    series = vat_series(merchant)
    services.invoice_issue(merchant=merchant, series=series, lines=[goods()], issued_at=ISSUED_AT)
    with pytest.raises(Conflict) as err:
        services.invoice_issue(
            merchant=merchant,
            series=series,
            lines=[goods()],
            issued_at=ISSUED_AT - timedelta(days=28),
        )
    assert err.value.code == "invoice_date_backwards"


def test_the_counter_keeps_the_last_invoices_time_and_fills_it_for_older_rows():
    from importlib import import_module

    from django.apps import apps

    merchant = seller()
    series = vat_series(merchant)
    services.invoice_issue(merchant=merchant, series=series, lines=[goods()], issued_at=ISSUED_AT)
    later = services.invoice_issue(merchant=merchant, series=series, lines=[goods()])
    counter = SeriesCounter.objects.get(series=series)
    assert counter.last_issued_at == later.issued_at > ISSUED_AT
    SeriesCounter.objects.filter(pk=counter.pk).update(last_issued_at=None)  # before 0005
    import_module("einvoice.migrations.0005_seriescounter_last_issued_at").fill(apps, None)
    counter.refresh_from_db()
    assert counter.last_issued_at == later.issued_at
    with pytest.raises(Conflict):
        services.invoice_issue(
            merchant=merchant, series=series, lines=[goods()], issued_at=ISSUED_AT
        )


def test_a_late_invoice_is_dated_today_and_names_the_sale_date():
    merchant = seller()
    vat_series(merchant)
    invoice = services.invoice_issue(
        merchant=merchant,
        lines=[goods()],
        issued_at=ISSUED_AT,
        sold_on=date(2026, 2, 14),
    )
    assert invoice.sold_on == date(2026, 2, 14)
    root = etree.fromstring(invoice.xml.encode())
    assert root.findtext("DLHDon/TTChung/NLap") == "2026-03-14"
    field = root.find("DLHDon/TTChung/TTKhac/TTin")
    assert field is not None
    assert (field.findtext("TTruong"), field.findtext("DLieu")) == ("NgayBan", "2026-02-14")
    with pytest.raises(ValidationFailed):
        services.invoice_issue(
            merchant=merchant, lines=[goods()], issued_at=ISSUED_AT, sold_on=date(2026, 3, 15)
        )


# --------------------------------------------------------------------------------------------
# Item 7: note lines carry ThTien 0


def test_a_note_line_carries_thtien_zero_and_the_schema_wants_it():
    merchant = seller()
    vat_series(merchant)
    invoice = services.invoice_issue(
        merchant=merchant,
        lines=[goods(), LineInput(name="Hàng đổi trả trong 3 ngày", kind="note")],
        issued_at=ISSUED_AT,
    )
    root = etree.fromstring(invoice.xml.encode())
    note = next(i for i in root.iter("HHDVu") if i.findtext("TChat") == "4")
    assert note.findtext("ThTien") == "0"
    # The schema requires ThTien on every line now.
    del note[list(note).index(note.find("ThTien"))]
    assert xmlbuild.schema_errors(root)


# --------------------------------------------------------------------------------------------
# Item 8: tax-inclusive prices → exact totals


def test_it_splits_tax_inclusive_amounts_so_the_total_is_what_was_paid():
    merchant = seller()
    vat_series(merchant)
    lines = [
        goods("Cá thu", "0.35", 180_000, "8%"),
        goods("Nước mắm", "3", 215_667, "10%"),
        goods("Rau", "1", 1, "5%"),
    ]
    paid = sum(line.amount for line in lines)
    invoice = services.invoice_issue(
        merchant=merchant, lines=lines, issued_at=ISSUED_AT, prices_include_tax=True
    )
    assert invoice.total_payable == paid
    assert invoice.total_before_tax + invoice.total_tax == paid
    stored = list(invoice.lines.order_by("position"))
    assert sum(line.amount + line.tax_amount for line in stored) == paid
    assert xmlbuild.schema_errors(etree.fromstring(invoice.xml.encode())) == []


@st.composite
def baskets(draw):
    n = draw(st.integers(min_value=1, max_value=12))
    return [
        (
            draw(st.integers(min_value=0, max_value=50_000_000)),
            draw(st.sampled_from(["KCT", "0%", "5%", "8%", "10%"])),
        )
        for _ in range(n)
    ]


@given(baskets())
@hsettings(max_examples=300, deadline=None)
def test_the_split_of_any_basket_adds_up_to_the_paid_amount(basket):
    split = rounding.split_tax_inclusive(basket)
    assert len(split) == len(basket)
    for (gross, rate), (net, tax) in zip(basket, split, strict=True):
        assert net + tax == gross
        percent = totals.TAX_RATES[rate]
        exact = Decimal(gross) * percent / (100 + percent)
        assert abs(tax - exact) < 1
    for rate in {r for _, r in basket}:
        gross = sum(g for g, r in basket if r == rate)
        tax = sum(t for (g, r), (_, t) in zip(basket, split, strict=True) if r == rate)
        percent = totals.TAX_RATES[rate]
        assert tax == int(
            (Decimal(gross) * percent / (100 + percent)).quantize(Decimal(1), "ROUND_HALF_UP")
        )


@given(baskets())
@hsettings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_an_invoice_of_any_basket_totals_exactly_the_paid_amount(basket):
    merchant = seller()
    series = vat_series(merchant)
    lines = [
        LineInput(
            name=f"Hàng {i}", quantity=Decimal(1), unit_price=g, amount=g, unit="cái", tax_rate=r
        )
        for i, (g, r) in enumerate(basket)
    ]
    paid = sum(g for g, _ in basket)
    if paid == 0:
        return
    invoice = services.invoice_issue(
        merchant=merchant, series=series, lines=lines, prices_include_tax=True
    )
    assert invoice.total_payable == paid
    assert xmlbuild.schema_errors(etree.fromstring(invoice.xml.encode())) == []


# --------------------------------------------------------------------------------------------
# Item 9: MSTTCGP is a validated setting


def test_the_provider_tax_code_comes_from_the_setting(settings):
    settings.EINVOICE_PROVIDER_TAX_CODE = "0100109106"
    merchant = seller()
    vat_series(merchant)
    invoice = services.invoice_issue(merchant=merchant, lines=[goods()], issued_at=ISSUED_AT)
    assert "<MSTTCGP>0100109106</MSTTCGP>" in invoice.xml
    settings.EINVOICE_PROVIDER_TAX_CODE = ""
    other = services.invoice_issue(
        merchant=merchant, lines=[goods()], issued_at=ISSUED_AT + timedelta(minutes=1)
    )
    assert "MSTTCGP" not in other.xml


def test_the_provider_tax_code_setting_is_validated_as_an_mst(monkeypatch):
    from config.env import env_tax_code

    monkeypatch.setenv("EINVOICE_PROVIDER_TAX_CODE", " 0100109106 ")
    assert env_tax_code("EINVOICE_PROVIDER_TAX_CODE") == "0100109106"
    monkeypatch.setenv("EINVOICE_PROVIDER_TAX_CODE", "")
    assert env_tax_code("EINVOICE_PROVIDER_TAX_CODE") == ""
    for bad in ("0312000006", "123", "010010910X", "048099000001"):
        monkeypatch.setenv("EINVOICE_PROVIDER_TAX_CODE", bad)
        with pytest.raises(ImproperlyConfigured, match="EINVOICE_PROVIDER_TAX_CODE"):
            env_tax_code("EINVOICE_PROVIDER_TAX_CODE")
