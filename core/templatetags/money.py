"""Money in templates: whole đồng with dot grouping, as Vietnamese write it (150.000 đ)."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


def format_vnd(amount: int) -> str:
    sign = "−" if amount < 0 else ""
    return f"{sign}{abs(int(amount)):,}".replace(",", ".") + " đ"


@register.filter
def vnd(amount) -> str:
    if amount is None or amount == "":
        return ""
    return format_vnd(int(amount))


@register.filter
def vnd_signed(amount) -> str:
    if amount is None or amount == "":
        return ""
    value = int(amount)
    return ("+" if value > 0 else "") + format_vnd(value)


@register.filter
def qty(value) -> str:
    """A quantity the Vietnamese way: 0.350 -> "0,35", 2.000 -> "2"."""
    if value in (None, ""):
        return ""
    text = f"{Decimal(value).normalize():f}"
    return text.replace(".", ",")


@register.filter
def vn_phone(value) -> str:
    """A stored number shown to people as they write it: "+84905111002" -> "0905 111 002"."""
    if not value:
        return ""
    from core.phone import display_vn_phone

    return display_vn_phone(str(value))


@register.filter
def digit_groups(value) -> str:
    """An account number as a bank app shows it, in groups of four: "0041 0001 2345 6"."""
    text = str(value or "")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))
