"""The rules ``einvoice.reader`` checks on a read invoice or message, each a stable code.

Money is compared with a tolerance below one unit (1 đồng for VND): a stated value may differ
from what its parts give by a rounding (348655 against 348655.2 is fine, 348656.0 is not). A tax
computed from an amount and a rate may differ by less than one unit per line in its group, since
many providers (and our writer) round the tax per line and add the lines up.

What the format leaves open is accepted: the total payable may or may not subtract the trade
discount (``TTCKTMai``) and the 2.1.0 deductions (``TGTKCThue``, ``TGTKhac``), depending on
whether the provider wrote the discount as lines; a sales invoice (form 2) may omit
``TgTCThue``/``TgTThue``; a VND invoice may omit ``TGia``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from itertools import combinations
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils import timezone

from core.taxcode import normalize_tax_code

from .reader_types import Envelope, Finding, ReadInvoice
from .reader_xml import Block

if TYPE_CHECKING:
    from .reader_types import Line, Totals

SYMBOL_RE = re.compile(r"^[CK]\d{2}[TDLMNBGH][A-Z0-9]{2}$")
FORMS = ("1", "2", "3", "4", "5", "6")
# The kind letter of a symbol that fits one form only.
LETTER_FORMS = {"G": ("1",), "H": ("2",), "N": ("6",), "B": ("6",)}
CODED_RE = re.compile(r"^[0-9A-F]{34}$")  # MCCQT: transaction number + encrypted part
REGISTER_CODE_RE = re.compile(r"^M([1-6])-(\d{2})-[A-Z0-9]{5}-\d{11}$")
TAX_RATE_RE = re.compile(
    r"^(?:(\d{1,2}(?:\.\d{1,2})?)%|KCT|KKKNT|KHAC(?::(\d{1,2}(?:\.\d{1,2})?)%)?)$"
)
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
CITIZEN_ID_RE = re.compile(r"^\d{12}$")
INVOICE_MESSAGES = ("200", "202", "203")
ONE = Decimal(1)
ZERO = Decimal(0)


def _fmt(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


class _Report:
    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings

    def add(self, code: str, vi: str, en: str, where: str = "") -> None:
        self.findings.append(Finding(code, vi, en, where))

    def missing(self, block: Block, name: str) -> None:
        where = f"{block.where}/{name}" if block.where else name
        self.add(
            "required_missing",
            f"Thiếu {name}.",
            f"{name} is missing.",
            where,
        )


def tax_code_ok(value: str) -> bool:
    """10 digits with the check digit, a branch code 10 + "-" + 3 (14 characters), or a 12-digit
    personal identification number (household businesses since 1 July 2025)."""
    if not re.fullmatch(r"\d{10}|\d{10}-\d{3}|\d{12}", value):
        return False
    try:
        normalize_tax_code(value)
    except ValidationError:
        return False
    return True


def rate_percent(rate: str) -> Decimal | None:
    """``8%`` → 8, ``KHAC:5.26%`` → 5.26; KCT, KKKNT, KHAC and empty → None (no tax computed)."""
    match = TAX_RATE_RE.match(rate)
    if not match:
        return None
    percent = match.group(1) or match.group(2)
    return Decimal(percent) if percent else None


def _close(a: Decimal, b: Decimal, tolerance: Decimal = ONE) -> bool:
    return abs(a - b) < tolerance


# --------------------------------------------------------------------------- the invoice


def check_invoice(
    invoice: ReadInvoice, *, blocks: dict[str, Block], today: date | None = None
) -> None:
    report = _Report(invoice.findings)
    top, data, general, content = (
        blocks["HDon"],
        blocks["DLHDon"],
        blocks["TTChung"],
        blocks["NDHDon"],
    )
    for block, name in ((top, "DLHDon"), (data, "TTChung"), (data, "NDHDon")):
        if block.element is not None and not block.has(name):
            report.missing(block, name)
    if general.element is not None:
        for name in ("PBan", "THDon", "KHMSHDon", "KHHDon", "SHDon", "NLap", "DVTTe"):
            if not general.text(name):
                report.missing(general, name)
    _check_identity(invoice, report, general, today or timezone.localdate())
    _check_parties(invoice, report, content)
    _check_authority_code(invoice, report)
    if content.element is not None:
        _check_lines(invoice, report, content)
        totals = content.one("TToan")
        if totals is None:
            report.missing(content, "TToan")
        elif invoice.totals is not None:
            _check_totals(invoice, invoice.totals, report, Block(totals, []))


def _check_identity(invoice: ReadInvoice, report: _Report, general: Block, today: date) -> None:
    where = general.where
    form, symbol = invoice.form, invoice.symbol
    if form and form not in FORMS:
        report.add(
            "form_invalid",
            f"Ký hiệu mẫu số KHMSHDon phải là một chữ số từ 1 đến 6, không phải {form!r}.",
            f"The form KHMSHDon must be one digit from 1 to 6, not {form!r}.",
            f"{where}/KHMSHDon",
        )
    if symbol and not SYMBOL_RE.match(symbol):
        report.add(
            "symbol_invalid",
            f"Ký hiệu hóa đơn KHHDon {symbol!r} không đúng dạng C/K + 2 số năm + loại + 2 ký tự.",
            f"The symbol KHHDon {symbol!r} is not C/K + 2-digit year + kind letter + 2 characters.",
            f"{where}/KHHDon",
        )
    elif symbol and form in FORMS:
        letter = symbol[3]
        allowed = LETTER_FORMS.get(letter)
        if (allowed and form not in allowed) or (form == "6" and letter not in ("N", "B")):
            report.add(
                "symbol_form_mismatch",
                f"Ký hiệu {symbol} (loại {letter}) không dùng cho mẫu số {form}.",
                f"Symbol {symbol} (kind {letter}) is not used with form {form}.",
                f"{where}/KHHDon",
            )
    title = _fold(invoice.title)
    if title and form in ("1", "2"):
        vat_title = "giá trị gia tăng" in title or "gtgt" in title
        if (form == "1" and not vat_title) or (form == "2" and vat_title):
            report.add(
                "title_form_mismatch",
                f"Tên hóa đơn {invoice.title!r} không khớp mẫu số {form}.",
                f"The invoice title {invoice.title!r} does not fit form {form}.",
                f"{where}/THDon",
            )
    if invoice.number_text and (invoice.number is None or invoice.number < 1):
        report.add(
            "number_invalid",
            f"Số hóa đơn SHDon {invoice.number_text!r} phải từ 1 đến 99999999.",
            f"The number SHDon {invoice.number_text!r} must be from 1 to 99999999.",
            f"{where}/SHDon",
        )
    issued = invoice.issued_on
    if issued is not None:
        if SYMBOL_RE.match(symbol) and int(symbol[1:3]) != issued.year % 100:
            report.add(
                "symbol_year_mismatch",
                f"Năm trong ký hiệu {symbol} khác năm lập {issued.year}.",
                f"The year in symbol {symbol} differs from the issue year {issued.year}.",
                f"{where}/KHHDon",
            )
        if issued > today:
            report.add(
                "issue_date_future",
                f"Ngày lập {issued.isoformat()} ở tương lai.",
                f"The issue date {issued.isoformat()} is in the future.",
                f"{where}/NLap",
            )
    for flag in ("HDDCKPTQuan", "HDCTTChinh"):
        value = general.text(flag)
        if value and value not in ("0", "1"):
            report.add(
                "flag_invalid",
                f"{flag} phải là 0 hoặc 1, không phải {value!r}.",
                f"{flag} must be 0 or 1, not {value!r}.",
                f"{where}/{flag}",
            )
    _check_currency(invoice, report, general)
    for name in ("MSTTCGP", "MSTDVNUNLHDon"):
        value = general.text(name)
        if value and not tax_code_ok(value):
            _bad_tax_code(report, value, f"{where}/{name}")
    if invoice.related is not None:
        _check_related(invoice, report, f"{where}/TTHDLQuan")


def _check_currency(invoice: ReadInvoice, report: _Report, general: Block) -> None:
    where = general.where
    currency, rate = invoice.currency, invoice.exchange_rate
    if currency and not CURRENCY_RE.match(currency):
        report.add(
            "currency_invalid",
            f"Mã tiền tệ DVTTe {currency!r} phải là 3 chữ in hoa theo ISO 4217.",
            f"The currency DVTTe {currency!r} must be 3 capital letters (ISO 4217).",
            f"{where}/DVTTe",
        )
    elif currency and currency != "VND":
        if rate is None or rate <= 0:
            report.add(
                "exchange_rate_missing",
                f"Hóa đơn bằng {currency} cần tỷ giá TGia lớn hơn 0.",
                f"An invoice in {currency} needs an exchange rate TGia above 0.",
                f"{where}/TGia",
            )
    elif rate is not None and rate != 1:
        report.add(
            "exchange_rate_unexpected",
            f"Hóa đơn bằng VND có tỷ giá TGia {_fmt(rate)}, phải là 1 hoặc để trống.",
            f"A VND invoice has exchange rate TGia {_fmt(rate)}; it must be 1 or left out.",
            f"{where}/TGia",
        )


def _check_related(invoice: ReadInvoice, report: _Report, where: str) -> None:
    related = invoice.related
    assert related is not None
    problems: list[str] = []
    if related.nature not in ("1", "2"):
        problems.append(f"TCHDon={related.nature!r}")
    if related.kind not in ("1", "2", "3", "4"):
        problems.append(f"LHDCLQuan={related.kind!r}")
    if related.kind == "1":  # an e-invoice under Decree 123: today's identifiers
        if related.form not in FORMS:
            problems.append(f"KHMSHDCLQuan={related.form!r}")
        if not SYMBOL_RE.match(related.symbol):
            problems.append(f"KHHDCLQuan={related.symbol!r}")
        if not (related.number.isdigit() and len(related.number) <= 8 and int(related.number)):
            problems.append(f"SHDCLQuan={related.number!r}")
    elif not (related.form and related.symbol and related.number):
        problems.append("KHMSHDCLQuan/KHHDCLQuan/SHDCLQuan")
    if related.issued_on is None:
        problems.append("NLHDCLQuan")
    if problems:
        listed = ", ".join(problems)
        report.add(
            "related_invalid",
            f"Thông tin hóa đơn liên quan TTHDLQuan thiếu hoặc sai: {listed}.",
            f"The related-invoice block TTHDLQuan is incomplete or wrong: {listed}.",
            where,
        )
    if related.issued_on and invoice.issued_on and related.issued_on > invoice.issued_on:
        report.add(
            "related_date_after",
            f"Hóa đơn liên quan lập ngày {related.issued_on.isoformat()}, sau hóa đơn này.",
            f"The related invoice is dated {related.issued_on.isoformat()}, after this one.",
            f"{where}/NLHDCLQuan",
        )


def _bad_tax_code(report: _Report, value: str, where: str) -> None:
    report.add(
        "tax_code_invalid",
        f"Mã số thuế {value!r} không hợp lệ (10 số có số kiểm tra đúng, 10 số-3 số, "
        f"hoặc số định danh 12 số).",
        f"Tax code {value!r} is not valid (10 digits with a correct check digit, "
        f"10 digits-3 digits, or a 12-digit personal ID).",
        where,
    )


def _check_parties(invoice: ReadInvoice, report: _Report, content: Block) -> None:
    if content.element is None:
        return
    seller_element = content.one("NBan")
    if seller_element is None:
        report.missing(content, "NBan")
    else:
        seller = Block(seller_element, [])
        for name in ("Ten", "MST", "DChi"):
            if not seller.text(name):
                report.missing(seller, name)
        if invoice.seller.tax_code and not tax_code_ok(invoice.seller.tax_code):
            _bad_tax_code(report, invoice.seller.tax_code, f"{seller.where}/MST")
    buyer_element = content.one("NMua")
    if buyer_element is not None:
        buyer = Block(buyer_element, [])
        if invoice.buyer.tax_code and not tax_code_ok(invoice.buyer.tax_code):
            _bad_tax_code(report, invoice.buyer.tax_code, f"{buyer.where}/MST")
        citizen = invoice.buyer.citizen_id
        if citizen and not CITIZEN_ID_RE.match(citizen):
            report.add(
                "citizen_id_invalid",
                f"Số CCCD {citizen!r} phải có 12 chữ số.",
                f"The citizen ID {citizen!r} must have 12 digits.",
                f"{buyer.where}/CCCDan",
            )


def _check_authority_code(invoice: ReadInvoice, report: _Report) -> None:
    code, symbol = invoice.authority_code, invoice.symbol
    if not code:
        return
    where = f"{invoice.where}/MCCQT"
    register = REGISTER_CODE_RE.match(code)
    if not register and not CODED_RE.match(code):
        report.add(
            "authority_code_invalid",
            f"Mã của cơ quan thuế MCCQT {code!r} không đúng dạng (34 ký tự, hoặc mã máy tính "
            f"tiền M…).",
            f"The authority code MCCQT {code!r} has the wrong shape (34 characters, or a "
            f"cash-register M… code).",
            where,
        )
        return
    if symbol.startswith("K"):
        report.add(
            "authority_code_unexpected",
            f"Ký hiệu {symbol} là hóa đơn không có mã (K) nhưng có MCCQT.",
            f"Symbol {symbol} is an uncoded invoice (K) but carries an MCCQT.",
            where,
        )
    if register and (
        register.group(1) != invoice.form
        or (SYMBOL_RE.match(symbol) and register.group(2) != symbol[1:3])
    ):
        report.add(
            "authority_code_mismatch",
            f"Mã máy tính tiền {code} không khớp mẫu số {invoice.form} và ký hiệu {symbol}.",
            f"Cash-register code {code} does not match form {invoice.form} and symbol {symbol}.",
            where,
        )


def _check_lines(invoice: ReadInvoice, report: _Report, content: Block) -> None:
    if not invoice.lines:
        report.add(
            "lines_missing",
            "Hóa đơn không có dòng hàng hóa, dịch vụ (DSHHDVu/HHDVu) nào.",
            "The invoice has no lines (DSHHDVu/HHDVu).",
            f"{content.where}/DSHHDVu",
        )
    vat = invoice.form == "1"
    for line in invoice.lines:
        if line.nature not in ("1", "2", "3", "4", "5"):
            report.add(
                "line_nature_invalid",
                f"Tính chất dòng TChat {line.nature!r} phải từ 1 đến 5.",
                f"The line nature TChat {line.nature!r} must be from 1 to 5.",
                f"{line.where}/TChat",
            )
            continue
        if not line.name:
            report.add("required_missing", "Thiếu THHDVu.", "THHDVu is missing.", line.where)
        if line.nature in ("1", "3", "5") and line.amount is None:
            report.add("required_missing", "Thiếu ThTien.", "ThTien is missing.", line.where)
        if line.tax_rate and not TAX_RATE_RE.match(line.tax_rate):
            report.add(
                "tax_rate_invalid",
                f"Thuế suất TSuat {line.tax_rate!r} không hợp lệ.",
                f"The tax rate TSuat {line.tax_rate!r} is not valid.",
                f"{line.where}/TSuat",
            )
        elif vat and line.nature in ("1", "3", "5") and not line.tax_rate:
            report.add(
                "line_tax_rate_missing",
                "Dòng của hóa đơn GTGT thiếu thuế suất TSuat.",
                "A line of a VAT invoice has no tax rate TSuat.",
                line.where,
            )
        _check_line_amounts(line, report)


def _check_line_amounts(line: Line, report: _Report) -> None:
    q, p, amount = line.quantity, line.unit_price, line.amount
    if line.nature in ("1", "5") and q is not None and p is not None and amount is not None:
        gross = q * p
        after = gross - (line.discount_amount or ZERO)
        if not (_close(amount, gross) or _close(amount, after)):
            report.add(
                "line_amount_mismatch",
                f"Thành tiền {_fmt(amount)} khác số lượng × đơn giá = {_fmt(gross)}.",
                f"The amount {_fmt(amount)} differs from quantity × price = {_fmt(gross)}.",
                f"{line.where}/ThTien",
            )
    rate, discount = line.discount_rate, line.discount_amount
    if q is not None and p is not None and rate is not None and discount is not None:
        expected = q * p * rate / 100
        if not _close(discount, expected):
            report.add(
                "line_discount_mismatch",
                f"Tiền chiết khấu {_fmt(discount)} khác {_fmt(rate)}% × {_fmt(q * p)}.",
                f"The discount {_fmt(discount)} differs from {_fmt(rate)}% × {_fmt(q * p)}.",
                f"{line.where}/STCKhau",
            )
    percent = rate_percent(line.tax_rate)
    if line.tax is not None and amount is not None:
        expected = abs(amount) * percent / 100 if percent is not None else ZERO
        if not _close(abs(line.tax), expected):
            report.add(
                "line_tax_mismatch",
                f"Tiền thuế của dòng {_fmt(line.tax)} khác {_fmt(amount)} × {line.tax_rate}.",
                f"The line's tax {_fmt(line.tax)} differs from {_fmt(amount)} × {line.tax_rate}.",
                f"{line.where}/TThue",
            )


def _check_totals(invoice: ReadInvoice, totals: Totals, report: _Report, block: Block) -> None:
    where = block.where
    vat = invoice.form == "1"
    if vat:
        for name, value in (("TgTCThue", totals.before_tax), ("TgTThue", totals.tax)):
            if value is None:
                report.missing(block, name)
    if totals.payable is None:
        report.missing(block, "TgTTTBSo")
    if not totals.in_words:
        report.add(
            "amount_in_words_missing",
            "Thiếu tổng tiền thanh toán bằng chữ TgTTTBChu.",
            "The total in words TgTTTBChu is missing.",
            f"{where}/TgTTTBChu",
        )

    lines_by_rate: dict[str, Decimal] = {}
    count_by_rate: dict[str, int] = {}
    for line in invoice.lines:
        if line.nature not in ("1", "3", "5") or line.amount is None:
            continue
        lines_by_rate[line.tax_rate] = lines_by_rate.get(line.tax_rate, ZERO) + line.signed_amount
        count_by_rate[line.tax_rate] = count_by_rate.get(line.tax_rate, 0) + 1
    lines_total = sum(lines_by_rate.values(), ZERO)

    if totals.by_rate:
        stated: dict[str, tuple[Decimal, Decimal]] = {}
        for entry in totals.by_rate:
            amount, tax = stated.get(entry.tax_rate, (ZERO, ZERO))
            stated[entry.tax_rate] = (amount + (entry.amount or ZERO), tax + (entry.tax or ZERO))
        for rate in sorted(set(stated) | set(lines_by_rate)):
            amount, tax = stated.get(rate, (ZERO, ZERO))
            from_lines = lines_by_rate.get(rate, ZERO)
            shown = rate or "(không/none)"
            if not _close(amount, from_lines):
                report.add(
                    "rate_total_mismatch",
                    f"Thuế suất {shown}: tổng các dòng {_fmt(from_lines)} khác LTSuat/ThTien "
                    f"{_fmt(amount)}.",
                    f"Tax rate {shown}: the lines add up to {_fmt(from_lines)}, LTSuat/ThTien "
                    f"says {_fmt(amount)}.",
                    f"{where}/THTTLTSuat",
                )
            percent = rate_percent(rate)
            expected = amount * percent / 100 if percent is not None else ZERO
            tolerance = Decimal(max(1, count_by_rate.get(rate, 0)))
            if not _close(tax, expected, tolerance):
                report.add(
                    "rate_tax_mismatch",
                    f"Thuế suất {shown}: tiền thuế {_fmt(tax)} khác {_fmt(amount)} × {shown} "
                    f"= {_fmt(expected)}.",
                    f"Tax rate {shown}: the tax {_fmt(tax)} differs from {_fmt(amount)} × "
                    f"{shown} = {_fmt(expected)}.",
                    f"{where}/THTTLTSuat",
                )
        stated_amount = sum((a for a, _ in stated.values()), ZERO)
        stated_tax = sum((t for _, t in stated.values()), ZERO)
    else:
        stated_amount = lines_total
        stated_tax = ZERO
        for rate, amount in lines_by_rate.items():
            percent = rate_percent(rate)
            if percent is not None:
                stated_tax += amount * percent / 100
    if totals.before_tax is not None and not _close(totals.before_tax, stated_amount):
        report.add(
            "total_before_tax_mismatch",
            f"Tổng tiền chưa thuế TgTCThue {_fmt(totals.before_tax)} khác tổng "
            f"{_fmt(stated_amount)}.",
            f"The total before tax TgTCThue {_fmt(totals.before_tax)} differs from the sum "
            f"{_fmt(stated_amount)}.",
            f"{where}/TgTCThue",
        )
    tax_tolerance = ONE if totals.by_rate else Decimal(max(1, len(invoice.lines)))
    if totals.tax is not None and not _close(totals.tax, stated_tax, tax_tolerance):
        report.add(
            "total_tax_mismatch",
            f"Tổng tiền thuế TgTThue {_fmt(totals.tax)} khác tổng {_fmt(stated_tax)}.",
            f"The total tax TgTThue {_fmt(totals.tax)} differs from the sum {_fmt(stated_tax)}.",
            f"{where}/TgTThue",
        )
    if totals.payable is not None:
        base = totals.before_tax if totals.before_tax is not None else lines_total
        gross = base + (totals.tax or ZERO) + totals.fees
        candidates = list(_minus_any(gross, _deductions(totals)))
        if not any(_close(totals.payable, c) for c in candidates):
            report.add(
                "total_payable_mismatch",
                f"Tổng tiền thanh toán TgTTTBSo {_fmt(totals.payable)} khác tiền chưa thuế + "
                f"thuế + phí = {_fmt(gross)}.",
                f"The total payable TgTTTBSo {_fmt(totals.payable)} differs from before tax + "
                f"tax + fees = {_fmt(gross)}.",
                f"{where}/TgTTTBSo",
            )


def _deductions(totals: Totals) -> list[Decimal]:
    values = (totals.discount, totals.untaxed_deductions, totals.other_deductions)
    return [v for v in values if v]


def _minus_any(gross: Decimal, deductions: list[Decimal]) -> Iterable[Decimal]:
    """``gross`` less every subset of the deductions (the format leaves which apply open)."""
    for size in range(len(deductions) + 1):
        for chosen in combinations(deductions, size):
            yield gross - sum(chosen, ZERO)


# --------------------------------------------------------------------------- the message


def check_envelope(envelope: Envelope, invoices: list[ReadInvoice], header: Block) -> list[Finding]:
    findings: list[Finding] = []
    report = _Report(findings)
    if header.element is None:
        report.add("required_missing", "Thiếu TTChung.", "TTChung is missing.", "TDiep/TTChung")
        return findings
    for name in ("PBan", "MNGui", "MLTDiep", "MTDiep"):
        if not header.text(name):
            report.missing(header, name)
    kind = envelope.message_type
    where = header.where
    if kind and not re.fullmatch(r"\d{3}", kind):
        report.add(
            "message_type_invalid",
            f"Mã loại thông điệp MLTDiep {kind!r} phải có 3 chữ số.",
            f"The message type MLTDiep {kind!r} must have 3 digits.",
            f"{where}/MLTDiep",
        )
    if kind in INVOICE_MESSAGES and not invoices:
        report.add(
            "message_without_invoice",
            f"Thông điệp {kind} không chứa hóa đơn (DLieu/HDon) nào.",
            f"Message {kind} holds no invoice (DLieu/HDon).",
            "TDiep/DLieu",
        )
    count = envelope.count
    if count and kind in INVOICE_MESSAGES and count != str(len(invoices)):
        report.add(
            "message_count_mismatch",
            f"TTChung/SLuong = {count} nhưng thông điệp chứa {len(invoices)} hóa đơn.",
            f"TTChung/SLuong is {count} but the message holds {len(invoices)} invoice(s).",
            f"{where}/SLuong",
        )
    if envelope.tax_code:
        if not tax_code_ok(envelope.tax_code):
            _bad_tax_code(report, envelope.tax_code, f"{where}/MST")
        for invoice in invoices:
            if invoice.seller.tax_code and invoice.seller.tax_code != envelope.tax_code:
                report.add(
                    "message_tax_code_mismatch",
                    f"Mã số thuế người bán {invoice.seller.tax_code} khác MST của thông điệp "
                    f"{envelope.tax_code}.",
                    f"The seller's tax code {invoice.seller.tax_code} differs from the "
                    f"message's MST {envelope.tax_code}.",
                    f"{invoice.where}/DLHDon/NDHDon/NBan/MST",
                )
    if kind == "202":
        for invoice in invoices:
            if not invoice.authority_code:
                report.add(
                    "authority_code_missing",
                    "Thông điệp 202 (hóa đơn đã cấp mã) nhưng hóa đơn không có MCCQT.",
                    "Message 202 (coded invoice) but the invoice has no MCCQT.",
                    f"{invoice.where}/MCCQT",
                )
    return findings
