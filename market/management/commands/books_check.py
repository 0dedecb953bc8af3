"""``manage.py books_check [--date YYYY-MM-DD] [--merchant ID]``: do the books agree with the
money? Prints each merchant's day and every difference; exits 1 if there is any."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from market.figures import books
from market.figures.periods import parse_day


class Command(BaseCommand):
    help = "Compare payments' ledger, sales, daily closes and e-invoices per merchant and day."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--date", help="one local day (YYYY-MM-DD or DD/MM/YYYY); default all")
        parser.add_argument("--merchant", type=int, action="append", help="merchant id (repeat)")
        parser.add_argument("--quiet", action="store_true", help="print the differences only")

    def handle(self, *args, **options) -> None:
        try:
            day = parse_day(options["date"], field_name="date")
        except Exception as exc:  # ValidationFailed: a clear message, not a traceback
            raise CommandError(f"--date: {getattr(exc, 'message', exc)}") from None
        report = books.books_check(day=day, merchant_ids=options["merchant"])
        if not options["quiet"]:
            self.stdout.write(
                "merchant  day         ledger_in  sales_qr+wallet  ledger_out  refunds_qr+wallet"
                "  cash_in  cash_out  unmatched  closes  invoiced"
            )
            for d in report.days:
                self.stdout.write(
                    f"{d.merchant_id:>8}  {d.day.isoformat()}  {d.ledger_sales:>9}  "
                    f"{d.sales_cashless:>15}  {d.ledger_refunds:>10}  {d.refunds_cashless:>17}  "
                    f"{d.sales_cash:>7}  {d.refunds_cash:>8}  {d.ledger_unmatched:>9}  "
                    f"{d.closes:>6}  {d.invoiced:>8}"
                )
        for difference in report.differences:
            self.stderr.write(f"DIFFERENCE {difference}")
        days = len(report.days)
        if report.differences:
            self.stderr.write(f"books_check: {len(report.differences)} differences in {days} days")
            raise SystemExit(1)
        self.stdout.write(f"books_check: the books agree ({days} merchant-days)")
