"""The trader's "Thu tiền" (collect money) pages: QR, live confirmation, today's list."""

from __future__ import annotations

import json
import random
import time
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core import live, qr
from core.errors import ApplicationError
from core.idempotency import effect_key, run_idempotent
from core.text import parse_digits
from merchants.auth import AuthedRequest
from merchants.banks import bank_by_bin
from merchants.models import Membership
from merchants.selectors import Principal, memberships_for_user, merchant_for, role_in

from . import refunds, selectors
from .screens import sandbox_pay_link, spoken_phrase


def _merchant(request: AuthedRequest, merchant_id: int, owner: bool = False):
    return merchant_for(
        principal=Principal(user=request.user),
        merchant_id=merchant_id,
        owner=owner,
    )


@login_required
def collect_start(request: AuthedRequest) -> HttpResponse:
    memberships = list(memberships_for_user(user=request.user))
    if len(memberships) == 1:
        return redirect("collect", merchant_id=memberships[0].merchant_id)
    return render(request, "payments/choose_merchant.html", {"memberships": memberships})


@login_required
def collect_qr(
    request: AuthedRequest, merchant_id: int, intent_id: int, refund_error: str = ""
) -> HttpResponse:
    merchant = _merchant(request, merchant_id)
    intent = selectors.intent_for(principal=Principal(user=request.user), intent_id=intent_id)
    if intent.merchant_id != merchant.pk:
        return redirect("collect_qr", merchant_id=intent.merchant_id, intent_id=intent.pk)
    bank = bank_by_bin(intent.bank_bin)
    return render(
        request,
        "payments/collect_qr.html",
        {
            "is_owner": role_in(user=request.user, merchant=merchant) == Membership.Role.OWNER,
            "refunds": intent.refunds.order_by("created_at"),
            "refund_error": refund_error,
            "idempotency_key": uuid.uuid4().hex,
            "merchant": merchant,
            "intent": intent,
            "qr_svg": qr.qr_svg(intent.qr_payload),
            "sandbox_pay_url": sandbox_pay_link(intent),
            "bank_name": bank.short_name if bank else intent.bank_bin,
            "spoken": spoken_phrase(intent.amount_received) if intent.amount_received else "",
        },
    )


@login_required
@require_POST
def collect_refund(request: AuthedRequest, merchant_id: int, intent_id: int) -> HttpResponse:
    """The owner gives money back: through the e-wallet, or recorded as paid out for a transfer."""
    _merchant(request, merchant_id, owner=True)
    intent = selectors.intent_for(
        principal=Principal(user=request.user), intent_id=intent_id, owner=True
    )
    text = request.POST.get("amount", "").replace(".", "").replace(" ", "").strip()
    reason = request.POST.get("reason", "")
    form_key = request.POST.get("idempotency_key") or None
    scope = f"intent-refund:{intent.merchant_id}"

    def refund() -> tuple[int, dict[str, int]]:
        refunds.intent_refund(
            intent_id=intent.pk,
            amount=parse_digits(text, 0),
            reason=reason,
            actor=request.user,
            request_key=effect_key(scope, form_key),
        )
        return 201, {"intent_id": intent.pk}

    try:
        # The form's key, drawn when the page was shown: a double tap refunds once.
        run_idempotent(
            scope=scope,
            key=form_key,
            method="POST",
            path=request.path,
            payload={"amount": text, "reason": reason},
            handler=refund,
        )
    except ApplicationError as exc:
        message = "; ".join(str(m) for msgs in exc.fields.values() for m in msgs)
        response = collect_qr(
            request, merchant_id, intent_id, refund_error=message or str(exc.message)
        )
        response.status_code = exc.status
        return response
    messages.success(request, _("Đã hoàn tiền cho khách."))
    return redirect("collect_qr", merchant_id=intent.merchant_id, intent_id=intent.pk)


@login_required
def payments_today(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    merchant = _merchant(request, merchant_id)
    entries = list(selectors.payments_today(merchant=merchant))
    total_in = sum(e.amount for e in entries if e.amount > 0)
    return render(
        request,
        "payments/today.html",
        {"merchant": merchant, "entries": entries, "total_in": total_in},
    )


@login_required
def live_events(request: AuthedRequest, merchant_id: int) -> StreamingHttpResponse:
    """Server-Sent Events: each settled or received payment of this merchant, as it happens."""
    merchant = _merchant(request, merchant_id)
    return _event_stream(merchant.pk)


@login_required
def trader_events(request: AuthedRequest) -> StreamingHttpResponse | HttpResponse:
    """Server-Sent Events for the trader-wide live channel: every payment of every shop the
    signed-in user belongs to, each event with its ``merchant_id``. Every trader page listens
    (static/js/live.js), so a payment is said aloud and shown wherever the trader is. Only the
    user's own shops: the list comes from their memberships, never from the request."""
    merchant_ids = list(
        Membership.objects.filter(user=request.user).values_list("merchant_id", flat=True)
    )
    if not merchant_ids:
        return HttpResponse(status=404)
    return _event_stream(merchant_ids)


def _event_stream(merchant_ids: int | list[int]) -> StreamingHttpResponse:
    """The SSE answer relaying `live.listen(merchant_ids)` (one shop, or a trader's shops)."""

    def stream():
        # The stream may stay open for minutes and needs no database: give the connection back
        # (not from inside a transaction, as when a test calls the view directly).
        if not connection.in_atomic_block:
            connection.close()
        # A stream ends after LIVE_STREAM_MAX_SECONDS (jittered, so screens opened together do
        # not all come back together) and the browser reconnects after `retry`: the thread goes
        # back to the live process's pool, and a restarted or added process gets its share.
        lifetime = settings.LIVE_STREAM_MAX_SECONDS * random.uniform(0.9, 1.0)
        deadline = time.monotonic() + lifetime
        # Subscribed before the first byte: the page checks the intent's state when the stream
        # opens, and a payment settled after that check must still come down the stream.
        listener = live.listen(merchant_ids, timeout=min(15.0, lifetime))
        try:
            yield "retry: 2000\n\n"
            for event in listener:
                if event is not None:
                    event["spoken"] = spoken_phrase(event["amount"])
                    data = json.dumps(event, ensure_ascii=False)
                    yield f"event: {event['type']}\ndata: {data}\n\n"
                if time.monotonic() >= deadline:
                    break
                if event is None:
                    yield ": keep-alive\n\n"
        finally:
            listener.close()

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
