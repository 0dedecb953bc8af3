"""Reads for the stall's keypad screen ("Bán hàng", ``sales/views.py``)."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, QuerySet
from django.utils import timezone

from merchants.models import Merchant, Product

from ..models import Order, OrderLine

# Quick amounts when the stall has no history yet: the sums a market sale most often comes to.
POS_DEFAULT_AMOUNTS = (10_000, 20_000, 50_000, 100_000)
POS_QUICK_AMOUNTS = 4
POS_QUICK_AMOUNT_DAYS = 30


def pos_products(*, merchant: Merchant) -> list[Product]:
    """The products on the keypad screen: the stall's favourites ("hay bán") first, then the
    rest, each by name."""
    return list(merchant.products.filter(is_active=True).order_by("-pos_favourite", "name", "id"))


def pos_quick_amounts(*, merchant: Merchant) -> list[int]:
    """Amounts for one tap on the keypad screen, smallest first: the amounts most often keyed as
    a sale of one amount line at this stall in the last 30 days, filled up with the usual sums
    (10.000, 20.000, 50.000, 100.000 đ)."""
    since = timezone.now() - timedelta(days=POS_QUICK_AMOUNT_DAYS)
    one_line = (
        Order.objects.filter(merchant=merchant, channel=Order.Channel.POS, created_at__gte=since)
        .exclude(status=Order.Status.CANCELED)
        .annotate(line_total=Count("lines"))
        .filter(line_total=1)
        .values("pk")
    )
    frequent = (
        OrderLine.objects.filter(order__in=one_line, product__isnull=True, quantity=1)
        .values("unit_price")
        .annotate(times=Count("id"))
        .filter(times__gte=2, unit_price__gte=1_000)
        .order_by("-times", "unit_price")
        .values_list("unit_price", flat=True)[:POS_QUICK_AMOUNTS]
    )
    amounts = list(frequent)
    for usual in POS_DEFAULT_AMOUNTS:
        if len(amounts) >= POS_QUICK_AMOUNTS:
            break
        if usual not in amounts:
            amounts.append(usual)
    return sorted(amounts)


def pos_recent_sales(*, merchant: Merchant, limit: int = 5) -> QuerySet[Order]:
    """ "Đơn gần đây" on the keypad screen: the stall's latest sales, newest first."""
    return (
        merchant.orders.filter(channel=Order.Channel.POS)
        .exclude(status=Order.Status.CANCELED)
        .order_by("-created_at", "-id")[:limit]
    )
