"""The owner's "Báo có ngân hàng" pages: connect their own bank-alert account (SePay), see the
webhook URL and key once, and send a test notification that the page shows arriving."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.errors import ValidationFailed
from merchants.auth import AuthedRequest
from merchants.models import Merchant
from merchants.selectors import Principal, merchant_for

from . import bankalerts
from .models import BankAlertConnection

API_WEBHOOKS = "/api/v1/payments/webhooks"
SANDBOX_TOKEN = "sandbox-sepay-token"  # noqa: S105 - the sandbox's public development value


def _owned(request: AuthedRequest, merchant_id: int) -> Merchant:
    """Connecting bank alerts is the owner's: a cashier gets 403, anyone else 404."""
    return merchant_for(principal=Principal(user=request.user), merchant_id=merchant_id, owner=True)


def _connection(merchant: Merchant, connection_id: int) -> BankAlertConnection:
    connection = BankAlertConnection.objects.filter(
        pk=connection_id, merchant=merchant, disconnected_at__isnull=True
    ).first()
    if connection is None:
        raise Http404
    return connection


def webhook_url(request: AuthedRequest, connection: BankAlertConnection) -> str:
    return request.build_absolute_uri(f"{API_WEBHOOKS}/{connection.provider}/{connection.pk}")


@login_required
def bank_alerts(request: AuthedRequest, merchant_id: int) -> HttpResponse:
    """The list and the connect form; POST connects and shows the key once."""
    merchant = _owned(request, merchant_id)
    context: dict[str, object] = {"merchant": merchant, "errors": {}}
    status = 200
    if request.method == "POST":
        try:
            connected = bankalerts.bank_alert_connect(
                merchant=merchant,
                provider=request.POST.get("provider", ""),
                auth=request.POST.get("auth", ""),
                api_token=request.POST.get("api_token", ""),
                actor=request.user,
            )
        except ValidationFailed as exc:
            context["errors"] = exc.fields
            status = 422
        else:
            # Rendered here, never stored in the session: the key is shown this once.
            return render(
                request,
                "payments/bank_alert_connected.html",
                {
                    "merchant": merchant,
                    "connection": connected.connection,
                    "secret": connected.secret,
                    "webhook_url": webhook_url(request, connected.connection),
                },
            )
    context["connections"] = [
        (c, webhook_url(request, c))
        for c in merchant.bank_alert_connections.filter(disconnected_at__isnull=True)
    ]
    # The per-trader connection of the test bank-notification service is for development only.
    context["providers"] = [
        (value, label)
        for value, label in BankAlertConnection.Provider.choices
        if value == BankAlertConnection.Provider.SEPAY or settings.SANDBOX_LINKS
    ]
    context["auths"] = BankAlertConnection.Auth.choices
    context["has_account"] = merchant.bank_accounts.exists()
    # Demo aid: the sandbox SePay's API token (sandboxes/sepay/__main__.py), for reconciliation.
    context["sandbox_token"] = SANDBOX_TOKEN if settings.SANDBOX_LINKS else ""
    return render(request, "payments/bank_alerts.html", context, status=status)


@login_required
def bank_alert_detail(request: AuthedRequest, merchant_id: int, connection_id: int) -> HttpResponse:
    merchant = _owned(request, merchant_id)
    connection = _connection(merchant, connection_id)
    waiting = bool(connection.test_code) and (
        connection.last_test_at is None
        or (connection.test_requested_at or timezone.now()) > connection.last_test_at
    )
    return render(
        request,
        "payments/bank_alert_detail.html",
        {
            "merchant": merchant,
            "connection": connection,
            "webhook_url": webhook_url(request, connection),
            "waiting": waiting,
            "asked": request.GET.get("gui") == "1",
            "sandbox": settings.SANDBOX_LINKS,
        },
    )


@login_required
def bank_alert_status(request: AuthedRequest, merchant_id: int, connection_id: int) -> JsonResponse:
    """What the page needs after (re)connecting its live stream: has the test arrived?"""
    merchant = _owned(request, merchant_id)
    connection = _connection(merchant, connection_id)
    last = connection.last_test_at
    return JsonResponse(
        {
            "tested": bool(last and not connection.test_code),
            "last_test_at": timezone.localtime(last).isoformat() if last else None,
        }
    )


@login_required
@require_POST
def bank_alert_test(request: AuthedRequest, merchant_id: int, connection_id: int) -> HttpResponse:
    merchant = _owned(request, merchant_id)
    connection = _connection(merchant, connection_id)
    _conn, asked = bankalerts.bank_alert_test_request(
        connection_id=connection.pk,
        webhook_url=webhook_url(request, connection),
        actor=request.user,
    )
    url = reverse("bank_alert_detail", args=[merchant.pk, connection.pk])
    return redirect(f"{url}?gui={1 if asked else 0}#test")


@login_required
@require_POST
def bank_alert_disconnect(
    request: AuthedRequest, merchant_id: int, connection_id: int
) -> HttpResponse:
    merchant = _owned(request, merchant_id)
    connection = _connection(merchant, connection_id)
    bankalerts.bank_alert_disconnect(connection_id=connection.pk, actor=request.user)
    messages.success(request, _("Đã ngắt kết nối báo có."))
    return redirect("bank_alerts", merchant_id=merchant.pk)
