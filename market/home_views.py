"""The trader's home ("/", and "Trang chính" at /trang-chinh/): it gathers what merchants knows
(memberships, the first-day checklist) and what market knows (stalls, stall applications, the
decisions' notices), so it lives in market, which may read both (merchants may not import market).
"""

from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from merchants import selectors
from merchants.auth import AuthedRequest
from merchants.models import Membership

from .stalls import selectors as market_selectors


def home(request: HttpRequest) -> HttpResponse:
    """A trader's home; a visitor who is not signed in (most likely a shopper) lands on the
    marketplace, which has its own way in for traders. A trader ready to sell at their stall
    (``selectors.opens_on_keypad``) lands on the keypad, unless a stall decision's notice waits
    to be read on home; the full home is "Trang chính"."""
    if not request.user.is_authenticated:
        return redirect("marketplace")
    user = cast(AuthedRequest, request).user
    merchant = selectors.opens_on_keypad(user=user)
    if merchant is not None and not market_selectors.decision_notices(user=user):
        return redirect("pos", merchant_id=merchant.pk)
    return _trader_home(cast(AuthedRequest, request))


@login_required
def trader_home(request: AuthedRequest) -> HttpResponse:
    """ "Trang chính": the full home at its own address, whatever ``home`` opens on."""
    return _trader_home(request)


def _trader_home(request: AuthedRequest) -> HttpResponse:
    user = request.user
    memberships = list(selectors.memberships_for_user(user=user))
    merchants = [m.merchant for m in memberships]
    first_days = selectors.first_days(merchants=merchants)
    context = {
        "memberships": memberships,
        # "Bán hàng" leads home only for a shop that can be paid (a QR needs a bank account).
        "sellable": [m for m in memberships if first_days[m.merchant_id].can_take_payment],
        # The owner's first-day checklist of each shop not yet set up (templates/merchants/
        # _first_day.html); a new trader without a shop is shown the way to make one.
        "first_days": [
            first_days[m.merchant_id]
            for m in memberships
            if m.role == Membership.Role.OWNER and not first_days[m.merchant_id].done
        ],
        "stalls": market_selectors.stalls_of_merchants(merchants=merchants),
        "applications": market_selectors.applications_of_merchants(merchants=merchants)[:10],
        "is_reviewer": user.has_perm("market.review_stallapplication"),
    }
    return render(request, "merchants/home.html", context)
