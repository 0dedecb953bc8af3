"""Pages for figures: the daily close (chốt sổ), takings (doanh thu), the household-tax estimate
(ước tính thuế) with its revenue book (sổ doanh thu), and the staff dashboard per market.

Owner-only pages go through ``merchant_for(..., owner=True)``: a cashier gets 403, another
merchant's owner 404. Charts are inline SVG drawn on the server (core.charts, no JavaScript).
"""

from __future__ import annotations

from datetime import date, datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core.charts import BarChart, bar_chart, short_vnd
from core.csvexport import csv_response
from core.errors import ApplicationError, ValidationFailed
from core.templatetags.money import format_vnd
from core.text import parse_digits
from merchants.auth import AuthedRequest
from merchants.models import Merchant
from merchants.selectors import Principal, merchant_for

from ..models import DailyClose, Order
from . import (
    closing,
    dashboard,
    day_close,
    periods,
    takings_figures,
    tax_estimator,
    tax_figures,
    tax_rules,
)

# --- small helpers ----------------------------------------------------------------------------


def _owned(request: AuthedRequest, merchant_id: int) -> Merchant:
    return merchant_for(principal=Principal(user=request.user), merchant_id=merchant_id, owner=True)


def parse_amount(text: str) -> int | None:
    """'1.250.000', '1 250 000' or '1250000' → 1250000; anything else → None."""
    cleaned = (text or "").replace(".", "").replace(" ", "").replace("\u00a0", "").strip()
    return parse_digits(cleaned, max_digits=13)


# --- daily close (chốt sổ) --------------------------------------------------------------------


METHOD_LABELS = dict(Order.PaymentMethod.choices)


def _method_rows(figures: dict) -> list[dict]:
    return [
        {
            "method": m,
            "label": METHOD_LABELS[m],
            "count": figures["sales_by_method"][m]["count"],
            "total": figures["sales_by_method"][m]["total"],
            "refund_count": figures["refunds_by_method"][m]["count"],
            "refund_total": figures["refunds_by_method"][m]["total"],
        }
        for m in periods.METHODS
    ]


@login_required
@require_http_methods(["GET", "POST"])
def close_page(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    """Preview today's close and confirm it with the counted cash."""
    merchant = _owned(request, merchant_id)
    errors: dict[str, str] = {}
    error = ""
    status = 200
    cash_text = request.POST.get("cash_counted", "")
    note = request.POST.get("note", "")
    if request.method == "POST":
        cash = parse_amount(cash_text)
        if cash is None:
            errors["cash_counted"] = _("Nhập số tiền mặt đếm được, ví dụ 1.250.000.")
            status = 422
        else:
            try:
                close = closing.daily_close_create(
                    merchant=merchant, cash_counted=cash, note=note, actor=request.user
                )
            except ApplicationError as exc:
                status = exc.status
                for name, msgs in exc.fields.items():
                    errors[name] = " ".join(str(m) for m in msgs)
                if not exc.fields:
                    error = str(exc.message)
            else:
                messages.success(request, _("Đã chốt sổ."))
                return redirect("close_detail", merchant_id=merchant.pk, close_id=close.pk)
    today_close = day_close.close_today(merchant=merchant)
    # Today's period only; earlier unclosed days with activity are closed on their own first.
    plan = day_close.close_plan(merchant=merchant, now=timezone.now())
    preview = day_close.close_preview(merchant=merchant, plan=plan)
    figures = preview.as_json()
    return render(
        request,
        "market/reports/close.html",
        {
            "merchant": merchant,
            "tab": "close",
            "figures": figures,
            "preview": preview,
            "methods": _method_rows(figures),
            "credits": _credits(figures),
            "today_close": today_close,
            "earlier_days": [p.business_date for p in plan.earlier],
            "errors": errors,
            "error": error,
            "cash_text": cash_text,
            "note": note,
        },
        status=status,
    )


@login_required
@require_GET
def close_history(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    merchant = _owned(request, merchant_id)
    return render(
        request,
        "market/reports/close_history.html",
        {
            "merchant": merchant,
            "tab": "close",
            "closes": day_close.closes_of(merchant=merchant)[:120],
        },
    )


def _close_context(close: DailyClose) -> dict:
    figures = close.figures
    return {
        "close": close,
        "figures": figures,
        "methods": _method_rows(figures),
        "credits": _credits(figures),
        "period_start": _parse_iso(figures["period_start"]),
        "period_end": _parse_iso(figures["period_end"]),
    }


def _parse_iso(text: str) -> datetime:
    return timezone.localtime(datetime.fromisoformat(text))


def _credits(figures: dict) -> list[dict]:
    return [{**c, "when": _parse_iso(c["time"])} for c in figures["unmatched_credits"]]


@login_required
@require_GET
def close_detail(request: AuthedRequest, merchant_id: int, close_id: int) -> HttpResponse:
    merchant = _owned(request, merchant_id)
    close = day_close.close_of(merchant=merchant, close_id=close_id)
    return render(
        request,
        "market/reports/close_detail.html",
        {"merchant": merchant, "tab": "close", **_close_context(close)},
    )


def close_csv_rows(close: DailyClose) -> list[list[object]]:
    """A close as a spreadsheet: the figures stored at closing, then each sale and money line."""
    f = close.figures
    local = timezone.localtime
    rows: list[list[object]] = [
        [_("Chốt sổ"), close.merchant.display_name, close.business_date.strftime("%d/%m/%Y")],
        [_("Từ"), local(close.period_start).strftime("%d/%m/%Y %H:%M")],
        [_("Đến"), local(close.period_end).strftime("%d/%m/%Y %H:%M")],
        [],
        [_("Hình thức"), _("Số đơn"), _("Doanh thu (đ)"), _("Số lần hoàn"), _("Hoàn tiền (đ)")],
    ]
    for m in _method_rows(f):
        rows.append([m["label"], m["count"], m["total"], m["refund_count"], m["refund_total"]])
    rows += [
        [_("Tổng"), f["sales_count"], f["sales_total"], f["refunds_count"], f["refunds_total"]],
        [_("Doanh thu sau hoàn (đ)"), f["net_total"]],
        [_("Khách chuyển khoản không kèm đơn (đ)"), f["walk_in_total"], f["walk_in_count"]],
        [_("Tiền mặt theo sổ (đ)"), close.cash_expected],
        [_("Tiền mặt đếm được (đ)"), close.cash_counted],
        [_("Chênh lệch (đ)"), close.cash_difference],
        [_("Ghi chú"), close.note],
        [],
        [
            _("Loại"),
            _("Thời gian"),
            _("Số đơn / mã GD"),
            _("Hình thức"),
            _("Hàng hóa / nội dung"),
            _("Số tiền (đ)"),
            _("Người chuyển"),
        ],
    ]
    for order in day_close.close_orders(close=close):
        assert order.paid_at is not None
        rows.append(
            [
                _("Bán hàng"),
                local(order.paid_at).strftime("%d/%m/%Y %H:%M"),
                order.number,
                METHOD_LABELS.get(order.payment_method, order.payment_method),
                tax_figures.items_text(order),
                order.total,
                order.buyer_name,
            ]
        )
    for refund in day_close.close_refunds(close=close):
        assert refund.confirmed_at is not None
        rows.append(
            [
                _("Hoàn tiền"),
                local(refund.confirmed_at).strftime("%d/%m/%Y %H:%M"),
                refund.order.number,
                METHOD_LABELS.get(refund.order.payment_method, refund.order.payment_method),
                refund.reason,
                -refund.amount,
                "",
            ]
        )
    for credit in f["unmatched_credits"]:
        rows.append(
            [
                _("Tiền vào không khớp đơn")
                + (f" ({credit['flag']})" if credit.get("flag") else ""),
                _parse_iso(credit["time"]).strftime("%d/%m/%Y %H:%M"),
                credit["bank_reference"],
                _("Chuyển khoản"),
                credit["description"],
                credit["amount"],
                credit["counter_name"],
            ]
        )
    return rows


@login_required
@require_GET
def close_csv(request: AuthedRequest, merchant_id: int, close_id: int) -> HttpResponse:
    merchant = _owned(request, merchant_id)
    close = day_close.close_of(merchant=merchant, close_id=close_id)
    return csv_response(f"chot-so-{close.business_date:%Y-%m-%d}.csv", close_csv_rows(close))


# --- takings (doanh thu) --------------------------------------------------------------------


def _tick(i: int, day: date, count: int) -> str:
    """Every seventh day counted back from today is labelled; today says so. The date a week
    ago is left out: at a readable size on a phone it would run into "Hôm nay"."""
    if i == count - 1:
        return _("Hôm nay")
    back = count - 1 - i
    return day.strftime("%d/%m") if back % 7 == 0 and back >= 14 else ""


def takings_chart(days: list[takings_figures.DayTakings]) -> BarChart:
    values = [d.net for d in days]
    high = max([*values, 0])
    return bar_chart(
        title=_("Doanh thu 30 ngày gần nhất"),
        desc=_("Mỗi cột là doanh thu sau hoàn tiền của một ngày, cột cuối là hôm nay."),
        values=values,
        labels=[d.day.strftime("%d/%m") for d in days],
        value_text=[format_vnd(v) for v in values],
        tick_labels=[_tick(i, d.day, len(days)) for i, d in enumerate(days)],
        top_label=short_vnd(high),
    )


@login_required
@require_GET
def takings_page(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    merchant = _owned(request, merchant_id)
    data = takings_figures.takings(merchant=merchant)
    month_total = sum(d.net for d in data.days)
    return render(
        request,
        "market/reports/takings.html",
        {
            "merchant": merchant,
            "tab": "takings",
            "data": data,
            "chart": takings_chart(data.days),
            "days_total": month_total,
        },
    )


# --- household-tax estimate and revenue book -------------------------------------------------


def _year(raw: str | None, today: date) -> int:
    if not raw:
        return today.year
    if not (raw.isascii() and raw.isdigit() and len(raw) == 4) or not 2000 <= int(raw) <= 2100:
        raise ValidationFailed(_("Năm không hợp lệ, ví dụ 2026."), code="bad_year")
    return int(raw)


def tax_chart(months: list[int], year: int) -> BarChart:
    return bar_chart(
        title=_("Doanh thu từng tháng năm %(year)s") % {"year": year},
        desc=_("Mỗi cột là doanh thu một tháng (đơn đã thanh toán, trừ tiền đã hoàn)."),
        values=months,
        labels=[_("Tháng %(m)s") % {"m": i} for i in range(1, len(months) + 1)],
        value_text=[format_vnd(v) for v in months],
        tick_labels=[f"T{i}" for i in range(1, len(months) + 1)],
        top_label=short_vnd(max([*months, 0])),
        highlight_last=False,
    )


@login_required
@require_GET
def tax_page(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    merchant = _owned(request, merchant_id)
    today = timezone.localdate()
    year = _year(request.GET.get("nam"), today)
    page = tax_figures.tax_estimate(merchant=merchant, year=year, today=today)
    est = page.estimate
    ytd = sum(page.revenue_by_month)
    threshold = est.threshold if est else 0
    return render(
        request,
        "market/reports/tax.html",
        {
            "merchant": merchant,
            "tab": "tax",
            "page": page,
            "est": est,
            "rule_set": tax_rules.rule_set_for_year(year),
            "revenue_ytd": ytd,
            "threshold_left": max(0, threshold - ytd),
            "threshold_width": min(100, ytd * 100 // threshold) if threshold else 0,
            "vat_rate": tax_estimator.format_rate(est.vat_rate) if est else "",
            "pit_rate": tax_estimator.format_rate(est.pit_rate) if est else "",
            "years": tax_figures.tax_years(today=today),
            "chart": tax_chart(page.revenue_by_month, year) if page.revenue_by_month else None,
            "months": [(i, amount) for i, amount in enumerate(page.revenue_by_month, start=1)],
            "book_from": date(year, 1, 1),
            "book_to": today if year == today.year else date(year, 12, 31),
        },
    )


def _book(request: AuthedRequest, merchant_id: int) -> tax_figures.RevenueBook:
    merchant = _owned(request, merchant_id)
    first, last = periods.book_period(
        raw_from=request.GET.get("tu"), raw_to=request.GET.get("den"), today=timezone.localdate()
    )
    return tax_figures.revenue_book(merchant=merchant, first=first, last=last)


def _book_name(book: tax_figures.RevenueBook, ext: str) -> str:
    return f"so-doanh-thu-{book.first:%Y%m%d}-{book.last:%Y%m%d}.{ext}"


@login_required
@require_GET
def revenue_book_csv(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    book = _book(request, merchant_id)
    rows: list[list[object]] = [
        [_("Sổ doanh thu"), book.merchant.legal_name, book.merchant.tax_code],
        [
            _("Từ ngày"),
            book.first.strftime("%d/%m/%Y"),
            _("Đến ngày"),
            book.last.strftime("%d/%m/%Y"),
        ],
        [],
        [
            _("Ngày"),
            _("Giờ"),
            _("Số đơn"),
            _("Hình thức"),
            _("Hàng hóa"),
            _("Số tiền (đ)"),
            _("Đã hoàn (đ)"),
            _("Doanh thu (đ)"),
        ],
    ]
    for r in book.rows:
        rows.append(
            [
                r.paid_at.strftime("%d/%m/%Y"),
                r.paid_at.strftime("%H:%M"),
                r.number,
                r.method_label,
                r.items,
                r.amount,
                r.refunded,
                r.net,
            ]
        )
    rows.append([_("Tổng cộng"), "", len(book.rows), "", "", book.total, book.refunded, book.net])
    return csv_response(_book_name(book, "csv"), rows)


def render_revenue_book_pdf(book: tax_figures.RevenueBook) -> bytes:
    from weasyprint import HTML  # imported on first use: ~1 s, not needed to serve pages

    html = render_to_string(
        "market/reports/revenue_book_pdf.html",
        {"book": book, "printed_at": timezone.localtime()},
    )
    return HTML(string=html).write_pdf()


@login_required
@require_GET
def revenue_book_pdf(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    book = _book(request, merchant_id)
    response = HttpResponse(render_revenue_book_pdf(book), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{_book_name(book, "pdf")}"'
    return response


# --- staff dashboard per market -------------------------------------------------------------

DASHBOARD_DAYS = (7, 30, 90)


def _days(raw: str | None) -> int:
    if not raw:
        return 30
    days = parse_digits(raw)
    if days not in DASHBOARD_DAYS:
        raise ValidationFailed(_("Chọn 7, 30 hoặc 90 ngày."), code="bad_period")
    return days


def trend_chart(weeks: list[dashboard.WeekShare]) -> BarChart:
    values = [int(w.share_by_value or 0) for w in weeks]
    return bar_chart(
        title=_("Tỷ lệ không dùng tiền mặt theo tuần (8 tuần)"),
        desc=_("Mỗi cột là phần trăm giá trị bán hàng không dùng tiền mặt của một tuần."),
        values=values,
        labels=[_("Tuần từ %(d)s") % {"d": w.week_start.strftime("%d/%m")} for w in weeks],
        value_text=[
            f"{w.share_by_value}%".replace(".", ",") if w.share_by_value is not None else "—"
            for w in weeks
        ],
        # Every other week, counted back from the last: eight dates side by side do not fit a
        # phone's width at a readable size.
        tick_labels=[
            w.week_start.strftime("%d/%m") if (len(weeks) - 1 - i) % 2 == 0 else ""
            for i, w in enumerate(weeks)
        ],
        top_label="100%",
        max_value=100,
    )


@login_required  # anonymous: to the sign-in page; signed in without the permission: 403
@permission_required(periods.DASHBOARD_PERMISSION, raise_exception=True)
@require_GET
def market_dashboard_page(request: AuthedRequest, slug: str) -> HttpResponse:
    market = dashboard.market_for_dashboard(user=request.user, slug=slug)
    days = _days(request.GET.get("ngay"))
    data = dashboard.market_dashboard(market=market, days=days)
    return render(
        request,
        "market/reports/dashboard.html",
        {
            "market": market,
            "data": data,
            "chart": trend_chart(data.weeks),
            "choices": DASHBOARD_DAYS,
        },
    )


def _percent(value) -> str:
    return "" if value is None else f"{value}".replace(".", ",")


@login_required
@permission_required(periods.DASHBOARD_PERMISSION, raise_exception=True)
@require_GET
def market_dashboard_csv(request: AuthedRequest, slug: str) -> HttpResponse:
    market = dashboard.market_for_dashboard(user=request.user, slug=slug)
    days = _days(request.GET.get("ngay"))
    data = dashboard.market_dashboard(market=market, days=days)
    rows: list[list[object]] = [
        [
            _("Báo cáo chợ"),
            market.name,
            data.first.strftime("%d/%m/%Y"),
            data.last.strftime("%d/%m/%Y"),
        ],
        [
            _("Sạp"),
            _("Cửa hàng"),
            _("Người bán"),
            _("Điện thoại"),
            _("Số lần bán"),
            _("Không tiền mặt (lần)"),
            _("Doanh số (đ)"),
            _("Không tiền mặt (đ)"),
            _("Tỷ lệ không tiền mặt (%)"),
            _("Khách chuyển khoản QR tĩnh (đ)"),
            _("Bán gần nhất"),
            _("Hoạt động 7 ngày"),
        ],
    ]
    for s in data.stalls:
        rows.append(
            [
                s.code,
                s.merchant_name,
                s.trader_name,
                s.trader_phone,
                s.sales_count,
                s.cashless_count,
                s.sales_total,
                s.cashless_total,
                _percent(s.cashless_share),
                s.walk_in_total,
                timezone.localtime(s.last_sale_at).strftime("%d/%m/%Y %H:%M")
                if s.last_sale_at
                else "",
                _("Có") if s.active else _("Không"),
            ]
        )
    return csv_response(f"bao-cao-{market.slug}-{data.last:%Y%m%d}.csv", rows)
