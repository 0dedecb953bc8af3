"""The reader of GDT invoice XML (einvoice/reader.py): real-world shapes read with no finding,
broken files give exactly their findings, and everything our writer produces reads back clean."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from lxml import etree

from einvoice import reader, services, xmlbuild
from einvoice.services import Buyer, LineInput

from .conftest import ISSUED_AT, goods, register_series, seller, vat_series

FIXTURES = Path(__file__).parent / "fixtures" / "real_world"
GOOD = sorted(p for p in FIXTURES.glob("*.xml") if not p.name.startswith("broken_"))
TODAY = date(2026, 1, 15)


def read(name: str) -> reader.ReadResult:
    return reader.read((FIXTURES / name).read_bytes(), today=TODAY)


def codes(result: reader.ReadResult) -> list[tuple[str, str]]:
    return [(f.code, f.where) for f in result.findings]


def test_it_has_at_least_ten_real_world_shapes():
    assert len(GOOD) >= 10


@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.stem)
def test_it_reads_every_real_world_file_without_a_finding(path):
    result = reader.read(path.read_bytes(), today=TODAY)

    assert [f.as_dict() for f in result.findings] == []
    assert result.invoices
    for invoice in result.invoices:
        assert invoice.seller.tax_code and invoice.lines and invoice.totals is not None


def test_it_reads_a_cash_register_invoice_with_its_m_code_and_rounded_tax():
    (invoice,) = read("mtt_vat_cash_register.xml").invoices

    assert (invoice.form, invoice.symbol, invoice.number) == ("1", "C25MHA", 1287)
    assert invoice.authority_code == "M1-25-QK7P2-00000012345"
    assert invoice.authority_code_id == "Id-MCCQT"
    assert invoice.exchange_rate is None and invoice.is_vnd
    assert invoice.extra == {"Mã tra cứu": "BX2511201287", "Quầy": "Quầy 2"}
    assert invoice.seller.extra == {"Ca bán": "Sáng"}
    assert invoice.seller.store_name == "Cửa hàng Thọ Quang"
    assert [line.code for line in invoice.lines] == ["HS-TUOI", "DA-VIEN", "THUNG-XOP"]
    assert invoice.totals is not None
    assert invoice.totals.tax == Decimal("348655")  # 4 358 190 × 8 % = 348 655.2
    assert invoice.signatures.names() == []


def test_it_reads_a_coded_invoice_with_every_signature_and_party_field():
    (invoice,) = read("coded_vat_34char.xml").invoices

    assert invoice.authority_code == "00A3F9C2D41B7E6058C9D2E1F4A7B3C6D8"
    assert len(invoice.authority_code) == 34
    assert invoice.number_text == "00000345" and invoice.number == 345
    assert invoice.signatures == reader.Signatures(seller=True, authority=True, other=1)
    assert invoice.seller.bank_account == "0041000123456"
    assert invoice.seller.fax == "02363888998" and invoice.seller.website == "songhanfood.vn"
    assert invoice.buyer.buyer_person == "Nguyễn Thị Lan"
    assert invoice.buyer.customer_code == "KH-00872"
    assert invoice.lines[0].discount_rate == 5
    assert invoice.lines[0].discount_amount == 82500
    assert invoice.general == {"HDCTTChinh": "0"}


def test_it_reads_corrections_with_their_related_invoice():
    (adjustment,) = read("adjustment.xml").invoices
    (replacement,) = read("replacement.xml").invoices

    assert adjustment.related == reader.Related(
        nature="2",
        kind="1",
        form="1",
        symbol="C25TAB",
        number="345",
        issued_on=date(2025, 10, 2),
        note="Điều chỉnh giảm đơn giá gạo ST25 theo biên bản thỏa thuận ngày 08/10/2025",
    )
    assert adjustment.related.nature_label == "adjustment"
    assert replacement.related is not None and replacement.related.nature_label == "replacement"
    assert replacement.general["MSTDVNUNLHDon"] == "0402003184"


def test_it_reads_a_sales_invoice_without_totals_before_tax():
    (invoice,) = read("sales_form2.xml").invoices

    assert invoice.totals is not None
    assert (invoice.totals.before_tax, invoice.totals.tax) == (None, None)
    assert invoice.totals.payable == 503000
    assert invoice.buyer.citizen_id == "048185002233"
    assert invoice.buyer.budget_unit_code == "1098765"
    assert invoice.totals.extra == {"Ghi chú": "Giao trước 6 giờ sáng"}


def test_it_reads_foreign_currency_with_its_exchange_rate():
    (invoice,) = read("foreign_currency_usd.xml").invoices

    assert (invoice.currency, invoice.exchange_rate) == ("USD", Decimal("25345.5"))
    assert invoice.totals is not None and invoice.totals.payable == Decimal("1771.55")


def test_it_reads_line_natures_and_empty_quantities():
    (promo,) = read("promotion_discount.xml").invoices
    (notes,) = read("notes_empty_fields.xml").invoices

    assert [line.nature for line in promo.lines] == ["1", "2", "1", "3"]
    assert [line.signed_amount for line in promo.lines] == [2300000, 0, 810000, -46000]
    assert [line.nature for line in notes.lines] == ["4", "1", "3", "4"]
    assert notes.lines[0].quantity is None and notes.lines[0].unit_price is None
    assert notes.lines[1].name == "Thịt heo ba chỉ"


def test_it_reads_special_goods_an_other_rate_and_a_buyer_signature():
    (invoice,) = read("special_goods_buyer_signed.xml").invoices

    assert [line.nature for line in invoice.lines] == ["5", "1"]
    assert invoice.lines[1].tax_rate == "KHAC:5.26%"
    assert invoice.signatures.names() == ["NBan", "NMua"]
    assert invoice.seller.tax_code == "0402003184-002"
    assert invoice.general == {"SBKe": "BK-0812", "NBKe": "2025-12-02"}


def test_it_reads_messages_200_and_202():
    sent = read("tdiep_200.xml")
    coded = read("tdiep_202.xml")

    assert sent.kind == "message" and sent.envelope is not None
    assert sent.envelope.message_type == "200" and sent.invoices[0].authority_code == ""
    assert coded.envelope is not None and coded.envelope.reply_to == sent.envelope.message_id
    assert [i.number for i in coded.invoices] == [346, 347]
    assert all(i.signatures.authority for i in coded.invoices)


def test_it_reports_exactly_the_broken_totals():
    assert codes(read("broken_totals.xml")) == [
        ("line_amount_mismatch", "HDon/DLHDon/NDHDon/DSHHDVu/HHDVu[2]/ThTien"),
        ("amount_in_words_missing", "HDon/DLHDon/NDHDon/TToan/TgTTTBChu"),
        ("rate_total_mismatch", "HDon/DLHDon/NDHDon/TToan/THTTLTSuat"),
        ("rate_tax_mismatch", "HDon/DLHDon/NDHDon/TToan/THTTLTSuat"),
        ("total_payable_mismatch", "HDon/DLHDon/NDHDon/TToan/TgTTTBSo"),
    ]
    messages = [f.message_vi for f in read("broken_totals.xml").findings]
    assert "Thuế suất 8%: tổng các dòng 1500000 khác LTSuat/ThTien 1600000." in messages


def test_it_reports_exactly_the_broken_tax_codes():
    result = read("broken_tax_codes.xml")

    assert codes(result) == [
        ("symbol_year_mismatch", "HDon/DLHDon/TTChung/KHHDon"),
        ("tax_code_invalid", "HDon/DLHDon/NDHDon/NBan/MST"),
        ("tax_code_invalid", "HDon/DLHDon/NDHDon/NMua/MST"),
    ]
    assert "'0401234567'" in result.findings[1].message_en


def test_it_reports_exactly_the_broken_envelope():
    result = read("broken_envelope.xml")

    assert codes(result) == [
        ("schema", "TDiep/DLieu/HDon/DLHDon/TTChung/GhiChuRieng"),
        ("message_count_mismatch", "TDiep/TTChung/SLuong"),
        ("message_tax_code_mismatch", "TDiep/DLieu/HDon/DLHDon/NDHDon/NBan/MST"),
        ("authority_code_missing", "TDiep/DLieu/HDon/MCCQT"),
    ]
    assert result.findings[0].line == 26


# --- small changes to good files are caught ------------------------------------------------------


def mutated(name: str, old: str, new: str) -> reader.ReadResult:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    return reader.read(text.replace(old, new, 1), today=TODAY)


@pytest.mark.parametrize(
    ("name", "old", "new", "code"),
    [
        ("mtt_vat_cash_register.xml", "<TgTThue>348655<", "<TgTThue>348657<", "total_tax_mismatch"),
        ("mtt_vat_cash_register.xml", "M1-25-QK7P2", "M2-25-QK7P2", "authority_code_mismatch"),
        ("mtt_vat_cash_register.xml", ">M1-25-QK7P2-", ">X1-25-QK7P2-", "authority_code_invalid"),
        (
            "coded_vat_34char.xml",
            "<TgTTTBSo>2215875<",
            "<TgTTTBSo>2215876<",
            "total_payable_mismatch",
        ),
        ("coded_vat_34char.xml", "<STCKhau>82500<", "<STCKhau>82000<", "line_discount_mismatch"),
        ("coded_vat_34char.xml", "<KHHDon>C25TAB<", "<KHHDon>C25HAB<", "symbol_form_mismatch"),
        ("coded_vat_34char.xml", "<KHHDon>C25TAB<", "<KHHDon>X25TAB<", "symbol_invalid"),
        ("coded_vat_34char.xml", "<KHMSHDon>1<", "<KHMSHDon>9<", "form_invalid"),
        ("coded_vat_34char.xml", "<SHDon>00000345<", "<SHDon>0<", "number_invalid"),
        ("coded_vat_34char.xml", "<NLap>2025-10-02<", "<NLap>2025-13-02<", "schema"),
        (
            "coded_vat_34char.xml",
            "<THDon>HÓA ĐƠN GIÁ TRỊ GIA TĂNG<",
            "<THDon>HÓA ĐƠN BÁN HÀNG<",
            "title_form_mismatch",
        ),
        (
            "coded_vat_34char.xml",
            "<TgTCThue>2085681.81<",
            "<TgTCThue>2085683<",
            "total_before_tax_mismatch",
        ),
        (
            "coded_vat_34char.xml",
            "<TSuat>5%</TSuat>\n        </HHDVu>",
            "</HHDVu>",
            "line_tax_rate_missing",
        ),
        ("coded_vat_34char.xml", "<TgTThue>130193.18</TgTThue>", "", "required_missing"),
        ("sales_form2.xml", "<TgTTTBSo>503000<", "<TgTTTBSo>503001<", "total_payable_mismatch"),
        ("sales_form2.xml", "<CCCDan>048185002233<", "<CCCDan>04818500223<", "citizen_id_invalid"),
        (
            "sales_form2.xml",
            "<KHHDon>K25THG</KHHDon>",
            "<KHHDon>K25THG</KHHDon><KHHDon>K25THG</KHHDon>",
            "element_repeated",
        ),
        ("foreign_currency_usd.xml", "<TGia>25345.5</TGia>", "", "exchange_rate_missing"),
        ("foreign_currency_usd.xml", "<DVTTe>USD<", "<DVTTe>usd<", "currency_invalid"),
        (
            "replacement.xml",
            "<NLHDCLQuan>2025-11-03<",
            "<NLHDCLQuan>2025-11-06<",
            "related_date_after",
        ),
        ("replacement.xml", "<TCHDon>1<", "<TCHDon>7<", "related_invalid"),
        ("replacement.xml", "<TThue>0</TThue>", "<TThue>3000</TThue>", "rate_tax_mismatch"),
        ("replacement.xml", "<HDCTTChinh>0<", "<HDCTTChinh>2<", "flag_invalid"),
        (
            "adjustment.xml",
            "<TSuat>5%</TSuat>\n        </HHDVu>",
            "<TSuat>5 %</TSuat></HHDVu>",
            "tax_rate_invalid",
        ),
        ("notes_empty_fields.xml", "<TChat>4</TChat>", "<TChat>7</TChat>", "line_nature_invalid"),
        ("notes_empty_fields.xml", "<NLap>2025-11-14<", "<NLap>2026-02-14<", "issue_date_future"),
        ("promotion_discount.xml", "<MST>0402003184<", "<MST>0402003180<", "tax_code_invalid"),
        ("tdiep_200.xml", "<SLuong>1</SLuong>", "<SLuong>3</SLuong>", "message_count_mismatch"),
        ("sales_with_fees.xml", "<TPhi>42500<", "<TPhi>42000<", "total_payable_mismatch"),
    ],
)
def test_it_catches_a_small_change_to_a_good_file(name, old, new, code):
    found = {f.code for f in mutated(name, old, new).findings}

    assert code in found


def test_it_tolerates_rounding_below_one_dong_but_not_one_dong():
    fine = mutated("mtt_vat_cash_register.xml", "<TgTTTBSo>4706845<", "<TgTTTBSo>4706845.2<")
    off = mutated("mtt_vat_cash_register.xml", "<TgTTTBSo>4706845<", "<TgTTTBSo>4706846<")

    assert fine.findings == []
    assert [f.code for f in off.findings] == ["total_payable_mismatch"]


# --- what is not a GDT invoice -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty"),
        (b"%PDF-1.7 not xml", "well-formed"),
        (b"<html><body>hello</body></html>", "root element is <html>"),
        (b"<HDon><DLHDon>", "well-formed"),
        (
            b'<?xml version="1.0"?><!DOCTYPE HDon [<!ENTITY a "aaaaaaaaaa">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><HDon>&b;</HDon>',
            "DOCTYPE",
        ),
        (b"<?xml version='1.0'?><!DOCTYPE x SYSTEM 'http://example.com/x.dtd'><HDon/>", "DOCTYPE"),
    ],
)
def test_it_refuses_what_is_not_an_invoice(data, says):
    with pytest.raises(reader.Unreadable) as caught:
        reader.read(data)

    assert says in caught.value.message_en
    assert caught.value.message_vi


def test_it_reads_an_invoice_in_a_default_namespace():
    text = (FIXTURES / "sales_form2.xml").read_text(encoding="utf-8")
    text = text.replace("<HDon>", '<HDon xmlns="http://example.com/provider">', 1)

    result = reader.read(text, today=TODAY)

    assert result.findings == [] and result.invoices[0].number == 214


# --- our own writer ------------------------------------------------------------------------------


def _assert_reads_clean(xml: str) -> reader.ReadInvoice:
    root = etree.fromstring(xml.encode())
    assert xmlbuild.schema_errors(root) == []  # the writer's strict schema still holds
    result = reader.read(xml)
    assert [f.as_dict() for f in result.findings] == []
    return result.invoices[0]


@pytest.mark.django_db
def test_it_reads_back_every_kind_of_invoice_our_writer_produces(deterministic):
    merchant = seller()
    vat_series(merchant)
    original = services.invoice_issue(
        merchant=merchant,
        buyer=Buyer(name="Công ty TNHH Hải Sản Biển Đông", tax_code="0401234566"),
        lines=[
            goods("Cá thu một nắng", "2.350", 280_000, "8%"),
            goods("Nước mắm Nam Ô", "3", 65_000, "10%", unit="chai"),
            goods("Muối", "1.5", 7_000, "KCT"),
            goods("Rau", "0.333", 14_999, "5%"),
            LineInput(name="Chiết khấu thương mại", amount=20_000, tax_rate="8%", kind="discount"),
            LineInput(name="Giao hàng tại cửa hàng người mua", kind="note"),
        ],
        issued_at=ISSUED_AT,
    )
    adjustment = services.invoice_adjust(
        original=original,
        lines=[
            LineInput(
                name="Điều chỉnh giảm",
                quantity=Decimal("-0.2"),
                unit_price=280_000,
                amount=-56_000,
                unit="kg",
                tax_rate="8%",
            )
        ],
        reason="Cân thiếu",
        issued_at=ISSUED_AT.replace(day=16),
    )
    replacement = services.invoice_replace(
        original=original,
        buyer=Buyer(name="Công ty TNHH Hải Sản Biển Đông", tax_code="0401234566-001"),
        lines=[goods("Cá thu một nắng", "2.350", 280_000, "8%")],
        reason="Sai mã số thuế người mua",
        issued_at=ISSUED_AT.replace(day=17),
    )
    other = seller()
    register_series(other, prefix="Z9Y8X")
    register = services.invoice_issue(
        merchant=other,
        lines=[goods("Cá thu", "0.350", 180_000, "KCT"), goods("Rau", "2", 10_000, "KCT")],
        issued_at=ISSUED_AT,
    )

    read_original = _assert_reads_clean(original.xml)
    assert read_original.totals is not None
    assert read_original.totals.payable == original.total_payable
    assert _assert_reads_clean(adjustment.xml).related is not None
    assert _assert_reads_clean(replacement.xml).related is not None
    assert _assert_reads_clean(register.xml).authority_code.startswith("M2-26-Z9Y8X-")


@pytest.mark.django_db
def test_it_reads_back_many_random_invoices_of_our_writer(deterministic):
    rng = random.Random(14)
    merchant = seller()
    vat_series(merchant)
    other = seller()
    register_series(other, prefix="Q1W2E")
    for n in range(25):
        lines = [
            goods(
                f"Hàng {n}-{i}",
                str(Decimal(rng.randint(1, 99_999)) / 1000),
                rng.randint(500, 2_000_000),
                rng.choice(["KCT", "0%", "5%", "8%", "10%"]),
            )
            for i in range(rng.randint(1, 12))
        ]
        invoice = services.invoice_issue(
            merchant=merchant if n % 2 else other, lines=lines, issued_at=ISSUED_AT
        )
        _assert_reads_clean(invoice.xml)
