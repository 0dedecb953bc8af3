"""Template helpers for exhibition pages."""

from __future__ import annotations

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def buy_url() -> str:
    """Where the booth's "Mua" form posts: the storefront cart, when the storefront is installed
    (it takes product, qty, source = "expo:<exhibition>:<booth>" and next)."""
    try:
        return reverse("cart_add")
    except NoReverseMatch:
        return ""


@register.filter
def minutes(value: int | None) -> str:
    """Minutes as people say them: 45 -> "45 phút", 135 -> "2 giờ 15 phút"."""
    if value is None:
        return "—"
    value = int(value)
    if value < 60:
        return _("%(m)s phút") % {"m": value}
    hours, rest = divmod(value, 60)
    if hours >= 48:
        return _("%(d)s ngày") % {"d": round(value / 1440)}
    if rest:
        return _("%(h)s giờ %(m)s phút") % {"h": hours, "m": rest}
    return _("%(h)s giờ") % {"h": hours}
