"""A new trader's first day, page side: after each set-up step is saved, straight on to the next.

The steps and their done flags are read by ``merchants.selectors.first_day_steps``; home shows
them as a checklist (templates/merchants/_first_day.html).
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from . import selectors
from .models import Merchant


def first_day_next(
    request: HttpRequest, merchant: Merchant, *, after: str, default: str
) -> HttpResponse:
    """The answer to a saved first-day step: the next step not yet done, so a new trader needs
    no detour through home; once those are done (a shop long set up) ``default``. ``after`` is
    the key of the step just saved ("" for the shop itself, which comes before every step)."""
    steps = selectors.first_day_steps(merchant)
    keys = [step.key for step in steps]
    later = steps[keys.index(after) + 1 :] if after else steps
    step = next((s for s in later if not s.done), None)
    if step is None:
        return redirect(default)
    if step.key == "sale":
        messages.info(
            request,
            _(
                "Bán thử một đơn: chạm vào món hàng, rồi “Thu tiền QR”, rồi tự trả bằng ngân "
                "hàng thử nghiệm."
            ),
        )
    return redirect(step.url)
