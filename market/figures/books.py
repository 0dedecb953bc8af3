"""The books-agree check (ARCHITECTURE.md invariant 7): per merchant and local day, the money
(payments' intents, refunds and ledger) agrees with the sales (orders and their refunds), with
the daily closes, and with the e-invoices.

It reads from independent sources and reports every difference it finds, never fixing one:

* every paid intent is the payment of exactly one paid sale, for what it received, the way it
  came (bank, e-wallet, cash), at the time it settled; every paid sale has such a payment;
* every bank or e-wallet payment has one settlement in the ledger for its amount, and cash none;
* every refund of a sale's payment is linked to that sale; a refund that went through is in the
  ledger (unless cash) and in the sale's refunded amount, and nothing else is;
* per day: ledger money in for sales = cashless sales' paid amounts, ledger refunds = cashless
  refunds that went through;
* each daily close still says what its period holds, and no two closes overlap;
* each invoiced sale's invoice (with its adjustments) comes to exactly what the sale came to
  (a VAT invoice too: paid amounts are split into pre-tax + tax), every refund of an invoiced
  sale has its adjustment, and a sale of a merchant that invoices automatically has its invoice.

``manage.py books_check`` prints the figures and the differences and exits non-zero if any.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Q, Sum
from django.utils import timezone

from einvoice.models import Invoice, Series
from payments.models import LedgerEntry, PaymentIntent, Refund

from ..models import DailyClose, Order, OrderRefund
from . import day_close, periods

PAID = (
    PaymentIntent.Status.SUCCEEDED,
    PaymentIntent.Status.PARTIALLY_REFUNDED,
    PaymentIntent.Status.REFUNDED,
)
METHOD_OF = {"bank": "bank_qr", "ewallet": "ewallet", "cash": "cash"}
CLOSE_FIGURES = ("sales_count", "sales_total", "refunds_total", "unmatched_total", "cash_expected")


@dataclass(frozen=True)
class Difference:
    merchant_id: int
    day: date | None
    code: str
    detail: str

    def __str__(self) -> str:
        when = self.day.isoformat() if self.day else "-"
        return f"merchant {self.merchant_id} {when} {self.code}: {self.detail}"


@dataclass
class DayBooks:
    """One merchant's day as the money and as the sales see it (every amount int VND)."""

    merchant_id: int
    day: date
    ledger_sales: int = 0  # settlements in the ledger (bank + e-wallet)
    ledger_refunds: int = 0  # refunds in the ledger, as a positive amount
    ledger_unmatched: int = 0  # walk-ins and money for no sale or an already-paid one
    sales_cashless: int = 0  # what the bank / e-wallet sales of the day received
    sales_cash: int = 0
    refunds_cashless: int = 0
    refunds_cash: int = 0
    closes: int = 0
    invoiced: int = 0  # what the day's invoices (and adjustments) come to


@dataclass
class BooksReport:
    days: list[DayBooks] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.differences


def _day(moment: datetime | None) -> date | None:
    return timezone.localdate(moment) if moment is not None else None


def books_check(
    *,
    day: date | None = None,
    merchant_ids: Iterable[int] | None = None,
    now: datetime | None = None,
    invoice_grace: timedelta = timedelta(minutes=15),
) -> BooksReport:
    """Compare the books for ``day`` (every day when None) of the given merchants (all with any
    money when None)."""
    now = now or timezone.now()
    if merchant_ids is None:
        merchant_ids = set(
            PaymentIntent.objects.filter(status__in=PAID).values_list("merchant_id", flat=True)
        ) | set(LedgerEntry.objects.values_list("merchant_id", flat=True))
        merchant_ids |= set(
            Order.objects.filter(paid_at__isnull=False).values_list("merchant_id", flat=True)
        )
    report = BooksReport()
    for merchant_id in sorted(set(merchant_ids)):
        _merchant_books(report, merchant_id=merchant_id, day=day, now=now, grace=invoice_grace)
    return report


def _in_scope(day: date | None, moment: datetime | None) -> bool:
    return day is None or _day(moment) == day


def _merchant_books(
    report: BooksReport, *, merchant_id: int, day: date | None, now: datetime, grace: timedelta
) -> None:
    days: dict[date, DayBooks] = {}

    def book(moment: datetime | None) -> DayBooks | None:
        when = _day(moment)
        if when is None or (day is not None and when != day):
            return None
        if when not in days:
            days[when] = DayBooks(merchant_id=merchant_id, day=when)
        return days[when]

    def differ(moment: datetime | None, code: str, detail: str) -> None:
        report.differences.append(Difference(merchant_id, _day(moment), code, detail))

    intents = {
        i.pk: i
        for i in PaymentIntent.objects.filter(merchant_id=merchant_id, status__in=PAID).only(
            "pk",
            "status",
            "method",
            "paid_via",
            "amount",
            "amount_received",
            "amount_refunded",
            "succeeded_at",
            "reference",
            "merchant_id",
        )
    }
    orders = list(
        Order.objects.filter(merchant_id=merchant_id)
        .filter(Q(paid_at__isnull=False) | Q(intent_id__in=list(intents)))
        .only(
            "pk",
            "number",
            "status",
            "intent_id",
            "payment_method",
            "total",
            "amount_paid",
            "amount_refunded",
            "paid_at",
            "merchant_id",
        )
    )
    order_of_intent: dict[int, list[Order]] = defaultdict(list)
    for order in orders:
        if order.intent_id is not None:
            order_of_intent[order.intent_id].append(order)
    ledger = list(LedgerEntry.objects.filter(merchant_id=merchant_id))
    settlements: dict[int, list[LedgerEntry]] = defaultdict(list)
    refund_entries: dict[int, list[LedgerEntry]] = defaultdict(list)
    for entry in ledger:
        books = book(entry.created_at)
        if entry.kind == LedgerEntry.Kind.SETTLEMENT:
            settlements[entry.intent_id or 0].append(entry)
            if books:
                books.ledger_sales += entry.amount
        elif entry.kind == LedgerEntry.Kind.REFUND:
            refund_entries[entry.refund_id or 0].append(entry)
            if books:
                books.ledger_refunds -= entry.amount
        elif books:
            books.ledger_unmatched += entry.amount

    # Every paid intent is one paid sale's payment; cashless ones are settled once in the ledger.
    for intent in intents.values():
        if not _in_scope(day, intent.succeeded_at):
            continue
        sales = order_of_intent.get(intent.pk, [])
        if len(sales) != 1:
            differ(
                intent.succeeded_at,
                "money_without_one_sale",
                f"intent {intent.pk} ({intent.amount_received} đ) is the payment of "
                f"{len(sales)} sales",
            )
        for sale in sales:
            expected = (
                True,
                intent.amount_received,
                METHOD_OF.get(intent.paid_via, "?"),
                intent.succeeded_at,
            )
            found = (sale.is_paid, sale.amount_paid, sale.payment_method, sale.paid_at)
            if expected != found:
                differ(
                    intent.succeeded_at,
                    "sale_disagrees_with_payment",
                    f"sale {sale.number}: paid/amount/method/time {found[:3]} "
                    f"but its payment {intent.pk} says {expected[:3]}",
                )
        entries = settlements.pop(intent.pk, [])
        if intent.paid_via == PaymentIntent.PaidVia.CASH:
            if entries:
                differ(intent.succeeded_at, "cash_in_ledger", f"cash intent {intent.pk}")
        elif [e.amount for e in entries] != [intent.amount_received]:
            differ(
                intent.succeeded_at,
                "payment_not_settled_once",
                f"intent {intent.pk} received {intent.amount_received} đ, ledger settlements "
                f"{[e.amount for e in entries]}",
            )
    for intent_id, entries in settlements.items():
        for entry in entries:
            if _in_scope(day, entry.created_at):
                differ(
                    entry.created_at,
                    "settlement_without_paid_intent",
                    f"ledger entry {entry.pk} ({entry.amount} đ) for intent {intent_id or '-'}",
                )

    # Every paid sale has its payment, and counts in the day's figures.
    for order in orders:
        if not order.is_paid:
            continue
        if order.intent_id not in intents and _in_scope(day, order.paid_at):
            differ(
                order.paid_at,
                "sale_without_payment",
                f"sale {order.number} is {order.status} but has no paid payment",
            )
        books = book(order.paid_at)
        if books:
            if order.payment_method == Order.PaymentMethod.CASH:
                books.sales_cash += order.amount_paid
            else:
                books.sales_cashless += order.amount_paid

    # Refunds: linked to their sale, counted once in the ledger and in the sale.
    refunds = list(Refund.objects.filter(intent__merchant_id=merchant_id).select_related("intent"))
    links = {
        link.payment_refund_id: link
        for link in OrderRefund.objects.filter(order__merchant_id=merchant_id)
    }
    refunded: dict[int, int] = defaultdict(int)
    for refund in refunds:
        intent = refund.intent
        moment = refund.confirmed_at or refund.created_at
        link = links.get(refund.pk)
        sale_orders = order_of_intent.get(intent.pk, [])
        unlinked = sale_orders and (link is None or link.amount != refund.amount)
        if unlinked and _in_scope(day, moment):
            differ(moment, "refund_without_sale", f"refund {refund.pk} of intent {intent.pk}")
        if refund.status != Refund.Status.SUCCEEDED:
            if refund_entries.pop(refund.pk, []) and _in_scope(day, moment):
                differ(moment, "unconfirmed_refund_in_ledger", f"refund {refund.pk}")
            continue
        refunded[intent.pk] += refund.amount
        booked = [e.amount for e in refund_entries.pop(refund.pk, [])]
        cash = intent.paid_via == PaymentIntent.PaidVia.CASH
        if booked != ([] if cash else [-refund.amount]) and _in_scope(day, moment):
            differ(
                moment,
                "refund_not_booked_once",
                f"refund {refund.pk} of {refund.amount} đ, ledger {booked}",
            )
        books = book(refund.confirmed_at)
        if books:
            if cash:
                books.refunds_cash += refund.amount
            else:
                books.refunds_cashless += refund.amount
    for entries in refund_entries.values():
        for entry in entries:
            if _in_scope(day, entry.created_at):
                differ(entry.created_at, "ledger_refund_unknown", f"ledger entry {entry.pk}")
    for intent in intents.values():
        if intent.amount_refunded != refunded[intent.pk] and _in_scope(day, intent.succeeded_at):
            differ(
                intent.succeeded_at,
                "intent_refunded_disagrees",
                f"intent {intent.pk} says {intent.amount_refunded} đ refunded, refunds "
                f"{refunded[intent.pk]} đ",
            )
    for order in orders:
        if not order.is_paid or not _in_scope(day, order.paid_at):
            continue
        if order.amount_refunded != refunded.get(order.intent_id or 0, 0):
            differ(
                order.paid_at,
                "sale_refunded_disagrees",
                f"sale {order.number} says {order.amount_refunded} đ refunded, its payment's "
                f"refunds {refunded.get(order.intent_id or 0, 0)} đ",
            )

    for books in days.values():
        if books.ledger_sales != books.sales_cashless:
            differ(
                datetime_of(books.day),
                "day_money_in_disagrees",
                f"ledger settlements {books.ledger_sales} đ, bank/e-wallet sales "
                f"{books.sales_cashless} đ",
            )
        if books.ledger_refunds != books.refunds_cashless:
            differ(
                datetime_of(books.day),
                "day_refunds_disagree",
                f"ledger refunds {books.ledger_refunds} đ, bank/e-wallet refunds "
                f"{books.refunds_cashless} đ",
            )

    _closes(report, merchant_id=merchant_id, day=day, book=book)
    _invoices(report, merchant_id=merchant_id, day=day, orders=orders, now=now, grace=grace)
    for books in days.values():
        books.invoiced = _invoiced(merchant_id, books.day)
    report.days.extend(sorted(days.values(), key=lambda b: b.day))


def datetime_of(day: date) -> datetime:
    return periods.local_midnight(day)


def _closes(report: BooksReport, *, merchant_id: int, day: date | None, book) -> None:
    previous: DailyClose | None = None
    for close in DailyClose.objects.filter(merchant_id=merchant_id).order_by("period_start", "pk"):
        if previous is not None and close.period_start < previous.period_end:
            report.differences.append(
                Difference(
                    merchant_id,
                    close.business_date,
                    "closes_overlap",
                    f"close {close.business_date} starts before close "
                    f"{previous.business_date} ended",
                )
            )
        previous = close
        if day is not None and close.business_date != day:
            continue
        books = book(periods.local_midnight(close.business_date))
        if books:
            books.closes += 1
        now = day_close.close_figures(
            merchant=close.merchant, start=close.period_start, end=close.period_end
        ).as_json()
        for name in CLOSE_FIGURES:
            if close.figures.get(name) != now.get(name):
                report.differences.append(
                    Difference(
                        merchant_id,
                        close.business_date,
                        "close_disagrees",
                        f"close {close.business_date} says {name} = {close.figures.get(name)}, "
                        f"its period now holds {now.get(name)}",
                    )
                )


def _invoiced(merchant_id: int, day: date) -> int:
    start, end = periods.day_range(day, day)
    return int(
        Invoice.objects.filter(merchant_id=merchant_id, issued_at__gte=start, issued_at__lt=end)
        .exclude(status=Invoice.Status.CANCELED)
        .aggregate(t=Sum("total_payable"))["t"]
        or 0
    )


def _invoices(
    report: BooksReport,
    *,
    merchant_id: int,
    day: date | None,
    orders: list[Order],
    now: datetime,
    grace: timedelta,
) -> None:
    invoices = list(Invoice.objects.filter(merchant_id=merchant_id).exclude(source_ref=""))
    if not invoices and not Series.objects.filter(merchant_id=merchant_id).exists():
        return
    by_ref = {inv.source_ref: inv for inv in invoices}
    auto = (
        Series.objects.filter(merchant_id=merchant_id, is_active=True, auto_issue=True)
        .order_by("created_at")
        .first()
    )
    links: dict[int, list[OrderRefund]] = defaultdict(list)
    for link in OrderRefund.objects.filter(
        order__merchant_id=merchant_id, payment_refund__status=Refund.Status.SUCCEEDED
    ):
        links[link.order_id].append(link)

    def differ(order: Order, code: str, detail: str) -> None:
        report.differences.append(Difference(merchant_id, _day(order.paid_at), code, detail))

    for order in orders:
        if not order.is_paid or not _in_scope(day, order.paid_at):
            continue
        standing = by_ref.get(f"{order.number}/R") or by_ref.get(order.number)
        if standing is None:
            due = (
                auto is not None
                and order.paid_at is not None
                and order.paid_at >= auto.created_at
                and order.paid_at < now - grace
                and order.status != Order.Status.REFUNDED
            )
            if due:
                differ(order, "sale_without_invoice", f"sale {order.number}")
            continue
        if standing.status == Invoice.Status.CANCELED:
            continue
        total = standing.total_payable
        for link in links.get(order.pk, []):
            adjustment = by_ref.get(f"{order.number}/A{link.pk}")
            if adjustment is None:
                differ(
                    order,
                    "refund_without_adjustment",
                    f"sale {order.number}: refund {link.pk} ({link.amount} đ) has no "
                    "adjustment invoice",
                )
                continue
            total += adjustment.total_payable
        expected = order.total - min(order.amount_refunded, order.total)  # an overpaid rest
        # Exact for VAT invoices too: the engine splits paid amounts into pre-tax + tax.
        if total != expected:
            differ(
                order,
                "invoice_disagrees",
                f"sale {order.number} came to {expected} đ, its invoices to {total} đ",
            )
