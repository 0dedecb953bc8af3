"""The XML of four kinds of invoice, compared with snapshots under snapshots/.

Volatile parts are fixed (uuid, lookup code, signing time: the ``deterministic`` fixture) or
normalised (SignatureValue and X509Certificate, which depend on the merchant's random key). The
digests stay: they prove DLHDon and the SigningTime object are byte-for-byte the same.

Set ``UPDATE_SNAPSHOTS=1`` to rewrite the files after an intended change, then read the diff.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from einvoice import services, xmlbuild
from einvoice.services import Buyer, LineInput

from .conftest import ISSUED_AT, goods, register_series, seller, vat_series

pytestmark = pytest.mark.django_db

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.fixture(autouse=True)
def _provider(settings):
    settings.EINVOICE_PROVIDER_TAX_CODE = "0312000005"  # MSTTCGP: a setting (a valid MST)


DS = "{http://www.w3.org/2000/09/xmldsig#}"


def normalised(xml: str) -> str:
    root = etree.fromstring(xml.encode(), etree.XMLParser(remove_blank_text=True))
    for tag in ("SignatureValue", "X509Certificate"):
        for el in root.iter(f"{DS}{tag}"):
            el.text = "(varies with the merchant's key)"
    return etree.tostring(root, encoding="unicode", pretty_print=True)


def assert_snapshot(name: str, xml: str) -> None:
    assert xmlbuild.schema_errors(etree.fromstring(xml.encode())) == []
    text = normalised(xml)
    path = SNAPSHOTS / f"{name}.xml"
    if os.environ.get("UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def fixed_seller():
    return seller(
        legal_name="Hộ kinh doanh Nguyễn Thị Lan",
        display_name="Sạp cá Cô Lan",
        tax_code="048099000001",
        address="Sạp A-12, chợ Hàn, 119 Trần Phú, Hải Châu, Đà Nẵng",
        phone="0905123456",
    )


def vat_invoice():
    merchant = fixed_seller()
    vat_series(merchant)
    return services.invoice_issue(
        merchant=merchant,
        buyer=Buyer(
            name="Công ty TNHH Hải Sản Biển Đông",
            tax_code="0401234566",
            address="12 Bạch Đằng, Hải Châu, Đà Nẵng",
            email="ketoan@biendong.vn",
        ),
        lines=[
            goods("Cá thu một nắng", "2.350", 280_000, "8%"),
            goods("Mực lá", "1.2", 420_000, "8%"),
            goods("Nước mắm Nam Ô", "3", 65_000, "10%", unit="chai"),
            LineInput(name="Chiết khấu thương mại", amount=20_000, tax_rate="8%", kind="discount"),
            LineInput(name="Giao hàng tại cửa hàng người mua", kind="note"),
        ],
        payment_method="CK",
        issued_at=ISSUED_AT,
        source_ref="DH-2026-0001",
    )


def test_it_writes_a_vat_invoice(deterministic):
    invoice = vat_invoice()
    # 8%: 658.000 + 504.000 - 20.000 discount; 10%: 195.000. Tax per line: 52.640 + 40.320
    # - 1.600 + 19.500.
    assert (invoice.total_before_tax, invoice.total_tax) == (1_337_000, 110_860)
    assert invoice.total_payable == 1_447_860
    assert_snapshot("vat_invoice", invoice.xml)


def test_it_writes_a_cash_register_sales_invoice(deterministic):
    merchant = fixed_seller()
    register_series(merchant)
    invoice = services.invoice_issue(
        merchant=merchant,
        lines=[
            goods("Cá thu", "0.350", 180_000, "KCT"),
            goods("Rau muống", "2", 10_000, "KCT", unit="bó"),
        ],
        payment_method="Chuyển khoản",
        issued_at=ISSUED_AT,
    )
    assert invoice.amount_in_words == "Tám mươi ba nghìn đồng"
    assert not invoice.is_signed
    assert_snapshot("cash_register_invoice", invoice.xml)


def test_it_writes_an_adjustment(deterministic):
    original = vat_invoice()
    adjustment = services.invoice_adjust(
        original=original,
        lines=[
            LineInput(
                name="Điều chỉnh giảm số lượng Mực lá",
                quantity=Decimal("-0.2"),
                unit_price=420_000,
                amount=-84_000,
                unit="kg",
                tax_rate="8%",
            )
        ],
        reason="Cân thiếu 0,2 kg mực, hai bên đã thỏa thuận",
        issued_at=ISSUED_AT.replace(day=16),
    )
    assert adjustment.total_payable == -90_720
    assert adjustment.amount_in_words == "Điều chỉnh giảm chín mươi nghìn bảy trăm hai mươi đồng"
    assert_snapshot("adjustment", adjustment.xml)


def test_it_writes_a_replacement(deterministic):
    original = vat_invoice()
    replacement = services.invoice_replace(
        original=original,
        buyer=Buyer(
            name="Công ty TNHH Hải Sản Biển Đông",
            tax_code="0401234566-001",
            address="Chi nhánh Sơn Trà, 5 Ngô Quyền, Đà Nẵng",
        ),
        lines=[goods("Cá thu một nắng", "2.350", 280_000, "8%")],
        reason="Sai mã số thuế người mua (phải là chi nhánh)",
        issued_at=ISSUED_AT.replace(day=15),
    )
    assert_snapshot("replacement", replacement.xml)
