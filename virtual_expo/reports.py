"""Visits counted on our own server and the outcome report of an exhibition: visits, unique
visitors, inquiries, answers and answer time, orders and revenue from booths (orders whose
``source_ref`` is "expo:<exhibition>:<booth>"), per booth and per category."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count
from django.utils.translation import gettext as _

from core.text import parse_digits
from market.models import Order

from .models import Booth, Exhibition, Inquiry, Visit

PAID = [Order.Status.PAID, Order.Status.PARTIALLY_REFUNDED, Order.Status.REFUNDED]


def visitor_hash(token: str) -> str:
    """A salted hash of the visitor's cookie token (or IP + browser + day): never stored raw."""
    return hashlib.sha256(f"{settings.SECRET_KEY}:expo-visitor:{token}".encode()).hexdigest()


def visit_record(*, exhibition: Exhibition, booth: Booth | None, visitor: str) -> None:
    Visit.objects.create(exhibition=exhibition, booth=booth, visitor=visitor[:64])


@dataclass
class Row:
    key: str
    label: str
    visits: int = 0
    visitors: int = 0
    inquiries: int = 0
    answered: int = 0
    answer_seconds: list[int] = field(default_factory=list)
    orders: int = 0
    revenue: int = 0

    @property
    def median_answer_minutes(self) -> int | None:
        if not self.answer_seconds:
            return None
        times = sorted(self.answer_seconds)
        mid = len(times) // 2
        seconds = times[mid] if len(times) % 2 else (times[mid - 1] + times[mid]) // 2
        return round(seconds / 60)

    @property
    def answer_rate(self) -> int:
        return round(100 * self.answered / self.inquiries) if self.inquiries else 0


@dataclass
class ExhibitionReport:
    exhibition: Exhibition
    total: Row
    booths: list[Row]
    categories: list[Row]
    home_visits: int


def exhibition_report(*, exhibition: Exhibition) -> ExhibitionReport:
    booths = list(
        Booth.objects.filter(exhibition=exhibition)
        .exclude(approved_at__isnull=True)
        .select_related("merchant", "category")
        .order_by("-featured", "position", "id")
    )
    uncategorised = _("Chưa xếp ngành")
    rows = {b.pk: Row(key=str(b.pk), label=b.merchant.display_name) for b in booths}
    category_of = {b.pk: (b.category.name if b.category else uncategorised) for b in booths}
    total = Row(key="all", label=_("Cả hội chợ"))

    visits = Visit.objects.filter(exhibition=exhibition)
    total.visits = visits.count()
    total.visitors = visits.values("visitor").distinct().count()
    home_visits = visits.filter(booth__isnull=True).count()
    per_booth = (
        visits.filter(booth__isnull=False)
        .values("booth_id")
        .annotate(n=Count("id"), u=Count("visitor", distinct=True))
    )
    for item in per_booth:
        row = rows.get(item["booth_id"])
        if row:
            row.visits, row.visitors = item["n"], item["u"]

    inquiries = Inquiry.objects.filter(exhibition=exhibition).exclude(
        moderation=Inquiry.Moderation.HIDDEN
    )
    for inquiry in inquiries.only("booth_id", "created_at", "first_answered_at"):
        for row in (total, rows.get(inquiry.booth_id)):
            if row is None:
                continue
            row.inquiries += 1
            if inquiry.first_answered_at is not None:
                row.answered += 1
                row.answer_seconds.append(inquiry.response_seconds or 0)

    prefix = f"expo:{exhibition.pk}:"
    orders = Order.objects.filter(source_ref__startswith=prefix, status__in=PAID).only(
        "source_ref", "total", "amount_refunded", "status"
    )
    for order in orders:
        booth_id = order.source_ref[len(prefix) :]
        booth = parse_digits(booth_id)
        row = rows.get(booth) if booth is not None else None
        for target in (total, row):
            if target is not None:
                target.orders += 1
                target.revenue += order.net_amount

    categories: dict[str, Row] = {}
    visitors_by_category: dict[str, set[str]] = defaultdict(set)
    for visit in visits.filter(booth__isnull=False).values("booth_id", "visitor"):
        visitors_by_category[category_of.get(visit["booth_id"], uncategorised)].add(
            visit["visitor"]
        )
    for booth in booths:
        name = category_of[booth.pk]
        cat = categories.setdefault(name, Row(key=name, label=name))
        row = rows[booth.pk]
        cat.visits += row.visits
        cat.inquiries += row.inquiries
        cat.answered += row.answered
        cat.answer_seconds += row.answer_seconds
        cat.orders += row.orders
        cat.revenue += row.revenue
    for name, cat in categories.items():
        cat.visitors = len(visitors_by_category.get(name, ()))
    return ExhibitionReport(
        exhibition=exhibition,
        total=total,
        booths=[rows[b.pk] for b in booths],
        categories=list(categories.values()),
        home_visits=home_visits,
    )


def report_csv_rows(report: ExhibitionReport) -> list[list[object]]:
    head: list[object] = [
        _("Loại"),
        _("Tên"),
        _("Lượt xem"),
        _("Khách (không trùng)"),
        _("Câu hỏi"),
        _("Đã trả lời"),
        _("Trả lời sau (phút, trung vị)"),
        _("Đơn đã thanh toán"),
        _("Doanh thu (đồng)"),
    ]
    out: list[list[object]] = [head]

    def line(kind: str, row: Row) -> list[object]:
        median = row.median_answer_minutes
        return [
            kind,
            row.label,
            row.visits,
            row.visitors,
            row.inquiries,
            row.answered,
            "" if median is None else median,
            row.orders,
            row.revenue,
        ]

    out.append(line(_("Tổng"), report.total))
    out += [line(_("Ngành hàng"), r) for r in report.categories]
    out += [line(_("Gian hàng"), r) for r in report.booths]
    return out
