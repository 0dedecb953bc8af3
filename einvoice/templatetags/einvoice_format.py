"""Numbers on the invoice PDF: dot-grouped whole đồng (1.447.860), as Vietnamese write them."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def dots(amount) -> str:
    if amount is None or amount == "":
        return ""
    value = int(amount)
    sign = "−" if value < 0 else ""
    return f"{sign}{abs(value):,}".replace(",", ".")


@register.filter
def qty(quantity) -> str:
    """0.3500 -> "0,35": a decimal comma, as on Vietnamese paper."""
    if quantity is None:
        return ""
    return format(quantity.normalize(), "f").replace(".", ",")
