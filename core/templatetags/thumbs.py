"""``{{ product.photo|thumb }}``: a small square rendition's URL (core/thumbs.py)."""

from __future__ import annotations

from django import template

from core.thumbs import POS_THUMB_SIDE, thumbnail_url

register = template.Library()


@register.filter
def thumb(photo, side: int = POS_THUMB_SIDE) -> str:
    return thumbnail_url(photo, int(side))
