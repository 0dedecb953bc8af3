"""``manage.py einvoice check``: what a file is, the rules it breaks, exit codes 0/1/2."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

FIXTURES = Path(__file__).parent / "fixtures" / "real_world"
ROOT = Path(__file__).resolve().parents[2]


def check(*args: str) -> tuple[str, int]:
    out = StringIO()
    try:
        call_command("einvoice", "check", *args, stdout=out)
    except CommandError as error:
        return out.getvalue() + f"\n!{error}", error.returncode
    return out.getvalue(), 0


def test_it_prints_what_a_clean_invoice_is_and_exits_0():
    text, code = check(str(FIXTURES / "coded_vat_34char.xml"))

    assert code == 0
    assert "Hóa đơn / Invoice 1C25TAB số/no. 00000345, 2025-10-02 (original)" in text
    assert "Seller: Công ty Cổ phần Thực phẩm Sông Hàn (MST 0309887764)" in text
    assert "Buyer: Hộ kinh doanh Nguyễn Thị Lan (MST 048099000001)" in text
    assert "payable 2215875" in text and "Lines: 2" in text
    assert "MCCQT: 00A3F9C2D41B7E6058C9D2E1F4A7B3C6D8" in text
    assert "Signatures: NBan, CQT, CCKSKhac×1" in text
    assert "No rule broken." in text


def test_it_prints_a_message_with_its_invoices():
    text, code = check(str(FIXTURES / "tdiep_202.xml"))

    assert code == 0
    assert "Thông điệp / Message 202" in text and "2 hóa đơn / invoice(s)" in text
    assert text.count("Hóa đơn / Invoice 1C25TAB") == 2


def test_it_lists_every_broken_rule_and_exits_1():
    text, code = check(str(FIXTURES / "broken_totals.xml"))

    assert code == 1
    assert "Rules broken (5):" in text
    assert "✗ [rate_total_mismatch] HDon/DLHDon/NDHDon/TToan/THTTLTSuat" in text
    assert "Thuế suất 8%: tổng các dòng 1500000 khác LTSuat/ThTien 1600000." in text
    assert "!5 lỗi / rule(s) broken" in text


def test_it_prints_json():
    text, code = check(str(FIXTURES / "broken_tax_codes.xml"), "--json")

    assert code == 1
    data = json.loads(text.split("\n!")[0])
    assert data["kind"] == "invoice" and data["message"] is None
    (invoice,) = data["invoices"]
    assert (invoice["form"], invoice["symbol"], invoice["number"]) == ("2", "C24TBH", "12")
    assert invoice["total_payable"] == "320000" and invoice["lines"] == 1
    assert [f["code"] for f in data["findings"]] == [
        "symbol_year_mismatch",
        "tax_code_invalid",
        "tax_code_invalid",
    ]


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"just text", "Not a well-formed XML file"),
        (b"<invoice><total>1</total></invoice>", "root element is <invoice>"),
        (b"", "The file is empty"),
    ],
)
def test_it_exits_2_on_what_is_not_a_gdt_file(tmp_path, content, says):
    path = tmp_path / "x.xml"
    path.write_bytes(content)

    text, code = check(str(path))

    assert code == 2 and says in text


def test_it_exits_2_on_a_missing_file_or_a_directory(tmp_path):
    assert check(str(tmp_path / "nope.xml"))[1] == 2
    assert check(str(tmp_path))[1] == 2


def test_it_never_prints_a_traceback_from_the_shell(tmp_path):
    path = tmp_path / "x.xml"
    path.write_bytes(b"\xff\xfe not xml")
    done = subprocess.run(
        [sys.executable, "manage.py", "einvoice", "check", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "Not a well-formed XML file" in done.stderr
