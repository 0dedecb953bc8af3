"""``manage.py einvoice``: look at GDT e-invoice XML from anywhere.

python manage.py einvoice check hoa-don.xml          # what it is, and every rule it breaks
python manage.py einvoice check thong-diep.xml --json

Exit code 0 when no rule is broken, 1 when some are, 2 when the file cannot be read as a GDT
invoice (``HDon``) or message (``TDiep``): not a file, not XML, another XML.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from einvoice import reader

FINDINGS_EXIT = 1
UNREADABLE_EXIT = 2


class Command(BaseCommand):
    help = "Read GDT e-invoice XML (HDon or TDiep) and report the rules it breaks."
    # Pure file work: no models, URLs or database.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{check}")
        check = actions.add_parser("check", help="read one invoice or message and check it")
        check.add_argument("file", help="the XML file (one HDon, or a TDiep message)")
        check.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        self._check(Path(options["file"]), as_json=options["json"])

    def _check(self, path: Path, *, as_json: bool) -> None:
        try:
            size = path.stat().st_size
            if not path.is_file():
                raise IsADirectoryError(str(path))
            if size > reader.MAX_BYTES:
                raise reader.Unreadable(
                    f"Tệp quá lớn ({size} byte, tối đa {reader.MAX_BYTES}).",
                    f"The file is too large ({size} bytes, at most {reader.MAX_BYTES}).",
                )
            result = reader.read(path.read_bytes())
        except OSError as error:
            raise CommandError(
                f"Không đọc được tệp / cannot read the file {path}: {error.strerror or error}",
                returncode=UNREADABLE_EXIT,
            ) from None
        except reader.Unreadable as error:
            raise CommandError(
                f"{path}: {error.message_vi} / {error.message_en}", returncode=UNREADABLE_EXIT
            ) from None
        if as_json:
            self.stdout.write(json.dumps(result.summary(), ensure_ascii=False, indent=2))
        else:
            self._print(result)
        if result.findings:
            raise CommandError(
                f"{len(result.findings)} lỗi / rule(s) broken", returncode=FINDINGS_EXIT
            )

    def _print(self, result: reader.ReadResult) -> None:
        out = self.stdout.write
        envelope = result.envelope
        if envelope is not None:
            out(
                f"Thông điệp / Message {envelope.message_type or '?'} "
                f"{envelope.message_id} ({envelope.sender} → {envelope.receiver}), "
                f"{len(result.invoices)} hóa đơn / invoice(s)"
            )
        for invoice in result.invoices:
            totals = invoice.totals
            kind = invoice.related.nature_label if invoice.related else "original"
            out(
                f"Hóa đơn / Invoice {invoice.form}{invoice.symbol} số/no. {invoice.number_text}"
                f", {invoice.issued_on or '?'} ({kind})"
            )
            out(f"  Người bán / Seller: {invoice.seller.name} (MST {invoice.seller.tax_code})")
            buyer = invoice.buyer
            out(
                f"  Người mua / Buyer: {buyer.name or '-'}"
                + (f" (MST {buyer.tax_code})" if buyer.tax_code else "")
            )
            if totals is not None:
                out(
                    f"  Tổng / Totals ({invoice.currency or 'VND'}): "
                    f"trước thuế/before tax {_n(totals.before_tax)}, "
                    f"thuế/tax {_n(totals.tax)}, thanh toán/payable {_n(totals.payable)}"
                )
            out(f"  Dòng / Lines: {len(invoice.lines)}")
            out(f"  MCCQT: {invoice.authority_code or '-'}")
            out(f"  Chữ ký / Signatures: {', '.join(invoice.signatures.names()) or '-'}")
        if not result.findings:
            out("Không có lỗi / No rule broken.")
            return
        out(f"Lỗi / Rules broken ({len(result.findings)}):")
        for finding in result.findings:
            place = finding.where + (f" (dòng/line {finding.line})" if finding.line else "")
            out(f"  ✗ [{finding.code}] {place}")
            out(f"      {finding.message_vi}")
            out(f"      {finding.message_en}")


def _n(value: Any) -> str:
    return "-" if value is None else format(value.normalize(), "f")
