"""``{% decision_notices as notices %}``: the signed-in trader's stall decisions not yet
dismissed, for templates/merchants/_decision_notice.html (a read; dismissing is a POST)."""

from __future__ import annotations

from django import template

from market.stalls.selectors import decision_notices as notices_of

register = template.Library()


@register.simple_tag(takes_context=True)
def decision_notices(context: template.Context) -> list:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    return notices_of(user=user)
