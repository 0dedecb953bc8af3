"""What the trader's and shopper's screens show of a payment intent, for any app's pages.

``spoken_phrase`` is what the phone says aloud when the money has arrived; ``sandbox_pay_link``
is the demo's "play the shopper" link (only with ``SANDBOX_LINKS``). Used by the collect pages
(payments.views), the POS and the web-shop order pages (market).
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings

from core.vnwords import spoken_amount

from .models import PaymentIntent


def spoken_phrase(amount: int) -> str:
    """What the phone says aloud: always Vietnamese, the voice is vi-VN whatever the UI language."""
    return f"Đã nhận {spoken_amount(amount)}"


def sandbox_pay_link(intent: PaymentIntent) -> str:
    """Demo aid: where a person can play the shopper for this QR."""
    if not settings.SANDBOX_LINKS:
        return ""
    if intent.method == PaymentIntent.Method.EWALLET:
        return intent.qr_payload  # the provider's own pay page
    return f"{settings.BANKNOTIFY_URL}/?{urlencode({'payload': intent.qr_payload})}"
