"""Template context for every page: the trader-wide live channel (static/js/live.js)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from .models import Membership


def trader_live(request: HttpRequest) -> dict[str, Any]:
    """``trader_live``: true for a signed-in member of a shop, whose every page then listens to
    `/cua-hang/su-kien/` and announces each payment of theirs. Lazy: one EXISTS query, only on
    pages that render base.html's header."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"trader_live": False}
    return {
        "trader_live": SimpleLazyObject(
            lambda: Membership.objects.filter(user=user).exists()  # type: ignore[misc]
        )
    }
