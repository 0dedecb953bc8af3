"""What the sandbox tax gateway checks in one invoice XML (``HDon``, GDT format).

Three layers, all reported together as reasons ``{"code", "message"}`` (PROTOCOL.md §Validation):

1. **Well-formed XML** with the elements the gateway needs (``TTChung``: form ``KHMSHDon``,
   series ``KHHDon``, number ``SHDon``, date ``NLap``; seller ``NBan/MST``; totals ``TToan``).
   Without them nothing else can be checked.
2. **The schema** ``einvoice/schema/hdon.xsd`` (the project's XSD), when it exists.
3. **Business rules**: the seller's tax code (MST) checksum, the series symbol and its year,
   totals that add up (lines per tax rate = ``LTSuat``; ``TgTCThue`` = Σ ``ThTien`` of the
   rates; ``TgTThue`` = Σ ``TThue``; tax of a rate = amount × rate within rounding; payable
   ``TgTTTBSo`` = ``TgTCThue`` + ``TgTThue`` + fees ``DSLPhi``, or that less the trade discount
   ``TTCKTMai``).
   Amounts are compared within less than one unit (providers round: 348655 against 348655.2
   is fine). A sales invoice (form 2) may leave out ``TgTCThue`` and ``TgTThue``: its payable is
   then checked against its lines. Only a VAT invoice (form 1) must state ``TgTCThue``.

Numbering (duplicates, consecutive numbers) and registration depend on the gateway's state and are
checked by the server. Elements are matched by local name, so a default namespace does no harm.
Needs lxml (for parsing and XSD) and python-stdnum (for the MST checksum); nothing from Django.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from lxml import etree
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.vn import mst

logger = logging.getLogger("sandboxes.taxgateway")

DEFAULT_XSD = Path(__file__).resolve().parents[2] / "einvoice" / "schema" / "hdon.xsd"

SERIES_RE = re.compile(r"^[CK]\d{2}[TDLMNBGH][A-Z0-9]{2}$")
# Cash-register code M{form}-{YY}-{XXXXX}-{11 digits} (Circular 78 Art. 4(1)(b)).
CASH_REGISTER_CODE_RE = re.compile(r"M([1-6])-(\d{2})-([A-Z0-9]{5})-(\d{11})")
PERSONAL_ID_RE = re.compile(r"^\d{12}$")
MAX_NUMBER = 99_999_999

Reason = dict[str, str]


def reason(code: str, message: str) -> Reason:
    return {"code": code, "message": message}


@dataclass
class Facts:
    """What the gateway reads off one invoice (``None`` when absent or unreadable)."""

    tax_code: str | None = None
    form: str | None = None
    series: str | None = None
    number: int | None = None
    issued_on: date | None = None
    cash_register_code: str | None = None
    reasons: list[Reason] = field(default_factory=list)

    @property
    def year(self) -> int | None:
        return self.issued_on.year if self.issued_on else None

    @property
    def is_cash_register(self) -> bool:
        return bool(self.series and len(self.series) == 6 and self.series[3] == "M")

    @property
    def is_coded(self) -> bool:
        return bool(self.series and self.series.startswith("C"))

    @property
    def kind(self) -> str:
        if self.is_cash_register:
            return "cash_register"
        return "coded" if self.is_coded else "uncoded"


# --------------------------------------------------------------------------- #
# XML helpers (namespace-agnostic)
# --------------------------------------------------------------------------- #


def _local(element: Any) -> str:
    tag = element.tag
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child(element: Any, name: str) -> Any:
    if element is None:
        return None
    for child in element:
        if _local(child) == name:
            return child
    return None


def _children(element: Any, name: str) -> list[Any]:
    if element is None:
        return []
    return [child for child in element if _local(child) == name]


def _path(element: Any, path: str) -> Any:
    for name in path.split("/"):
        element = _child(element, name)
        if element is None:
            return None
    return element


def _text(element: Any) -> str | None:
    if element is None or element.text is None:
        return None
    text: str = element.text.strip()
    return text or None


def _parser() -> etree.XMLParser:
    # No DTDs, no entities, no network: the body comes from outside.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def parse(xml: str) -> tuple[Any, list[Reason]]:
    """The ``HDon`` element of ``xml`` (the root, or the first ``HDon`` inside an envelope)."""
    try:
        root = etree.fromstring(xml.encode("utf-8"), _parser())
    except (etree.XMLSyntaxError, ValueError) as error:
        return None, [reason("xml_malformed", f"XML không đúng cú pháp: {error}")]
    if _local(root) == "HDon":
        return root, []
    for element in root.iter():
        if _local(element) == "HDon":
            return element, []
    return None, [reason("xml_malformed", "Không có phần tử HDon (hoá đơn).")]


# --------------------------------------------------------------------------- #
# The schema
# --------------------------------------------------------------------------- #


class Schema:
    """The project's XSD, loaded when the file exists (and reloaded when it changes)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or DEFAULT_XSD
        self._lock = threading.Lock()
        self._schema: etree.XMLSchema | None = None
        self._mtime: float | None = None
        self._warned = False

    @property
    def available(self) -> bool:
        return self._current() is not None

    def _current(self) -> etree.XMLSchema | None:
        with self._lock:
            try:
                mtime = self.path.stat().st_mtime
            except OSError:
                if not self._warned:
                    logger.warning(
                        "XSD %s not found: schema validation skipped (business rules still apply)",
                        self.path,
                    )
                    self._warned = True
                self._schema, self._mtime = None, None
                return None
            if self._schema is None or mtime != self._mtime:
                try:
                    self._schema = etree.XMLSchema(etree.parse(str(self.path)))
                    self._mtime = mtime
                    self._warned = False
                    logger.info("XSD %s loaded", self.path)
                except (etree.XMLSchemaParseError, etree.XMLSyntaxError, OSError) as error:
                    if not self._warned:
                        logger.error("XSD %s unusable, validation skipped: %s", self.path, error)
                        self._warned = True
                    self._schema = None
                    return None
            return self._schema

    def validate(self, hdon: Any) -> list[Reason]:
        schema = self._current()
        if schema is None:
            return []
        document = etree.ElementTree(etree.fromstring(etree.tostring(hdon), _parser()))
        with self._lock:  # an XMLSchema keeps one error log: one validation at a time
            if schema.validate(document):
                return []
            problems = [
                reason("xsd_invalid", f"Dòng {entry.line}: {entry.message}")
                for entry in list(schema.error_log)[:20]
            ]
        return problems or [reason("xsd_invalid", "XML không khớp lược đồ XSD.")]


# --------------------------------------------------------------------------- #
# Business rules
# --------------------------------------------------------------------------- #


def tax_code_valid(value: str) -> bool:
    """A 10-digit MST with its check digit, a branch MST (10 + "-" + 3), or a 12-digit personal
    identification number (household businesses since 1 July 2025)."""
    if PERSONAL_ID_RE.match(value):
        return 1 <= int(value[:3]) <= 96
    try:
        mst.validate(value)
    except StdnumError:
        return False
    return True


def _amount(element: Any, what: str, problems: list[Reason]) -> Decimal | None:
    text = _text(element)
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        problems.append(reason("amount_invalid", f"{what} không phải số: {text!r}."))
        return None
    if not value.is_finite():
        problems.append(reason("amount_invalid", f"{what} không phải số: {text!r}."))
        return None
    return value


def _rate_percent(rate: str) -> Decimal | None:
    """``"8%"`` → 8; ``KCT``/``KKKNT``/``KHAC…``/empty → ``None`` (no tax computed)."""
    text = rate.strip()
    if text.endswith("%"):
        try:
            return Decimal(text[:-1])
        except InvalidOperation:
            return None
    return None


def _fmt(value: Decimal) -> str:
    return f"{value.normalize():f}"


def read_facts(hdon: Any) -> Facts:
    """Identifiers and the reasons found by the business rules."""
    facts = Facts()
    problems = facts.reasons
    general = _path(hdon, "DLHDon/TTChung")
    content = _path(hdon, "DLHDon/NDHDon")
    if general is None or content is None:
        problems.append(reason("xml_incomplete", "Thiếu DLHDon/TTChung hoặc DLHDon/NDHDon."))
        return facts

    facts.form = _text(_child(general, "KHMSHDon"))
    facts.series = _text(_child(general, "KHHDon"))
    number_text = _text(_child(general, "SHDon"))
    issued_text = _text(_child(general, "NLap"))
    facts.tax_code = _text(_path(content, "NBan/MST"))

    if facts.form is None or facts.form not in "123456" or len(facts.form) != 1:
        problems.append(reason("form_invalid", f"Ký hiệu mẫu số KHMSHDon sai: {facts.form!r}."))
    if facts.series is None or not SERIES_RE.match(facts.series):
        problems.append(reason("series_invalid", f"Ký hiệu hoá đơn KHHDon sai: {facts.series!r}."))
    if number_text is None or not number_text.isdigit() or len(number_text) > 8:
        problems.append(reason("number_invalid", f"Số hoá đơn SHDon sai: {number_text!r}."))
    else:
        facts.number = int(number_text)
        if not 1 <= facts.number <= MAX_NUMBER:
            problems.append(reason("number_invalid", f"Số hoá đơn SHDon sai: {number_text!r}."))
            facts.number = None
    try:
        facts.issued_on = date.fromisoformat((issued_text or "")[:10])
    except ValueError:
        problems.append(reason("date_invalid", f"Ngày lập NLap sai: {issued_text!r}."))
    if (
        facts.series
        and facts.issued_on
        and SERIES_RE.match(facts.series)
        and int(facts.series[1:3]) != facts.issued_on.year % 100
    ):
        problems.append(
            reason(
                "series_year_mismatch",
                f"Năm trong ký hiệu {facts.series} khác năm lập {facts.issued_on.year}.",
            )
        )
    if facts.tax_code is None:
        problems.append(reason("seller_tax_code_missing", "Thiếu mã số thuế người bán NBan/MST."))
    elif not tax_code_valid(facts.tax_code):
        problems.append(
            reason("seller_tax_code_invalid", f"Mã số thuế người bán sai: {facts.tax_code}.")
        )

    for text in (_text(_child(hdon, "MCCQT")), *(t for t in hdon.itertext())):
        match = CASH_REGISTER_CODE_RE.search(text or "")
        if match:
            facts.cash_register_code = match.group(0)
            break

    _check_totals(content, problems, vat=facts.form == "1")
    return facts


def _differ(a: Decimal, b: Decimal) -> bool:
    """Two amounts differ by one unit (đồng) or more: less is a provider's rounding."""
    return abs(a - b) >= 1


def _check_totals(content: Any, problems: list[Reason], *, vat: bool = True) -> None:
    totals = _child(content, "TToan")
    if totals is None:
        problems.append(reason("totals_missing", "Thiếu phần tổng tiền TToan."))
        return
    # Lines: TChat 1 goods/service, 2 promotion, 5 special add; 3 trade discount subtracts;
    # 4 note carries no amount.
    per_rate: dict[str, Decimal] = {}
    lines_per_rate: dict[str, int] = {}
    lines = _children(_child(content, "DSHHDVu"), "HHDVu")
    if not lines:
        problems.append(reason("lines_missing", "Hoá đơn không có dòng hàng hoá, dịch vụ nào."))
    for index, line in enumerate(lines, start=1):
        nature = _text(_child(line, "TChat")) or "1"
        if nature == "4":
            continue
        amount = _amount(_child(line, "ThTien"), f"Dòng {index} ThTien", problems)
        if amount is None:
            continue
        rate = _text(_child(line, "TSuat")) or ""
        # A trade discount is written as a positive amount taken off its rate group.
        signed = -abs(amount) if nature == "3" else amount
        per_rate[rate] = per_rate.get(rate, Decimal(0)) + signed
        lines_per_rate[rate] = lines_per_rate.get(rate, 0) + 1

    before_tax = _amount(_child(totals, "TgTCThue"), "TgTCThue", problems)
    tax = _amount(_child(totals, "TgTThue"), "TgTThue", problems) or Decimal(0)
    payable = _amount(_child(totals, "TgTTTBSo"), "TgTTTBSo", problems)
    discount = _amount(_child(totals, "TTCKTMai"), "TTCKTMai", problems) or Decimal(0)
    fees = sum(
        (
            _amount(_child(fee, "TPhi"), "LPhi/TPhi", problems) or Decimal(0)
            for fee in _children(_child(totals, "DSLPhi"), "LPhi")
        ),
        Decimal(0),
    )
    lines_total = sum(per_rate.values(), Decimal(0))

    breakdown = _children(_child(totals, "THTTLTSuat"), "LTSuat")
    if breakdown:
        stated: dict[str, tuple[Decimal, Decimal]] = {}
        for entry in breakdown:
            rate = _text(_child(entry, "TSuat")) or ""
            amount = _amount(_child(entry, "ThTien"), f"LTSuat {rate} ThTien", problems)
            rate_tax = _amount(_child(entry, "TThue"), f"LTSuat {rate} TThue", problems)
            stated[rate] = (amount or Decimal(0), rate_tax or Decimal(0))
        for rate in sorted(set(stated) | set(per_rate)):
            amount, rate_tax = stated.get(rate, (Decimal(0), Decimal(0)))
            lines_amount = per_rate.get(rate, Decimal(0))
            if _differ(amount, lines_amount):
                problems.append(
                    reason(
                        "rate_total_mismatch",
                        f"Thuế suất {rate or '(không)'}: tổng các dòng {_fmt(lines_amount)} "
                        f"khác LTSuat/ThTien {_fmt(amount)}.",
                    )
                )
            percent = _rate_percent(rate)
            expected = (
                (amount * percent / 100).quantize(Decimal(1), ROUND_HALF_UP)
                if percent is not None
                else Decimal(0)
            )
            tolerance = max(1, lines_per_rate.get(rate, 0)) if percent else 0
            if abs(rate_tax - expected) > tolerance:
                problems.append(
                    reason(
                        "rate_tax_mismatch",
                        f"Thuế suất {rate or '(không)'}: tiền thuế {_fmt(rate_tax)} khác "
                        f"{_fmt(expected)} (= {_fmt(amount)} × {rate}).",
                    )
                )
        stated_amount = sum((a for a, _ in stated.values()), Decimal(0))
        stated_tax = sum((t for _, t in stated.values()), Decimal(0))
        if before_tax is not None and _differ(before_tax, stated_amount):
            problems.append(
                reason(
                    "total_before_tax_mismatch",
                    f"TgTCThue {_fmt(before_tax)} khác tổng theo thuế suất {_fmt(stated_amount)}.",
                )
            )
        if _differ(tax, stated_tax):
            problems.append(
                reason(
                    "total_tax_mismatch",
                    f"TgTThue {_fmt(tax)} khác tổng tiền thuế theo thuế suất {_fmt(stated_tax)}.",
                )
            )
    elif before_tax is not None and _differ(before_tax, lines_total):
        problems.append(
            reason(
                "total_before_tax_mismatch",
                f"TgTCThue {_fmt(before_tax)} khác tổng các dòng {_fmt(lines_total)}.",
            )
        )

    if before_tax is None and vat:
        problems.append(reason("totals_missing", "Thiếu TgTCThue (tổng tiền chưa thuế)."))
    if payable is None:
        problems.append(reason("totals_missing", "Thiếu TgTTTBSo (tổng tiền thanh toán)."))
        return
    base = before_tax if before_tax is not None else lines_total
    gross = base + tax + fees
    if _differ(payable, gross) and (not discount or _differ(payable, gross - discount)):
        what = "TgTCThue + TgTThue" if before_tax is not None else "tổng các dòng + TgTThue"
        problems.append(
            reason(
                "total_payable_mismatch",
                f"TgTTTBSo {_fmt(payable)} khác {what} + phí = {_fmt(gross)}.",
            )
        )


def examine(xml: str, schema: Schema | None) -> Facts:
    """Parse, validate against the schema (if any) and apply the business rules."""
    hdon, problems = parse(xml)
    if hdon is None:
        return Facts(reasons=problems)
    schema_problems = schema.validate(hdon) if schema is not None else []
    facts = read_facts(hdon)
    facts.reasons[:0] = schema_problems
    return facts
