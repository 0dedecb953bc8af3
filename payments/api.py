from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Header, Router, Status
from ninja.pagination import paginate

from core.errors import NotAuthenticated, ValidationFailed
from core.idempotency import effect_key, idempotent_post
from core.schemas import errors
from merchants.auth import merchant_auth, principal
from merchants.selectors import merchant_for

from . import notifications, refunds, selectors, services
from .providers import banknotify
from .schemas import IntentIn, IntentOut, RefundIn, WebhookAck

router = Router(tags=["payments"])


@router.post(
    "/intents",
    response={201: IntentOut, 200: IntentOut, **errors(403, 404, 409, 503)},
    auth=merchant_auth,
    summary="Create a payment intent (dynamic VietQR); honours Idempotency-Key",
)
def create_intent(
    request: HttpRequest,
    payload: IntentIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    who = principal(request)
    merchant = merchant_for(principal=who, merchant_id=payload.merchant_id)

    def handler():
        intent = services.intent_create(
            merchant=merchant,
            amount=payload.amount,
            method=payload.method,
            actor=who.user,
            actor_label=who.label,
            reference=payload.reference,
            description=payload.description,
            request_key=effect_key(f"{who.label}:intent", idempotency_key),
        )
        return 201, IntentOut.from_orm(intent).model_dump(mode="json")

    return idempotent_post(
        request, scope=who.label, key=idempotency_key, payload=payload.dict(), handler=handler
    )


@router.get("/intents", response={200: list[IntentOut], **errors(404)}, auth=merchant_auth)
@paginate
def list_intents(request: HttpRequest, merchant_id: int, status: str = "", reference: str = ""):
    merchant = merchant_for(principal=principal(request), merchant_id=merchant_id)
    return selectors.intents_of(merchant=merchant, status=status, reference=reference)


@router.get("/intents/{intent_id}", response={200: IntentOut, **errors(404)}, auth=merchant_auth)
def get_intent(request: HttpRequest, intent_id: int):
    return selectors.intent_for(principal=principal(request), intent_id=intent_id)


@router.post(
    "/intents/{intent_id}/cancel",
    response={200: IntentOut, **errors(403, 404, 409, 503)},
    auth=merchant_auth,
)
def cancel_intent(request: HttpRequest, intent_id: int):
    who = principal(request)
    intent = selectors.intent_for(principal=who, intent_id=intent_id)
    return services.intent_cancel(intent_id=intent.pk, actor=who.user, actor_label=who.label)


@router.post(
    "/intents/{intent_id}/refund",
    response={200: IntentOut, 201: IntentOut, **errors(403, 404, 409, 503)},
    auth=merchant_auth,
    summary="Give money back on a paid intent (owner); honours Idempotency-Key",
)
def refund_intent(
    request: HttpRequest,
    intent_id: int,
    payload: RefundIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    who = principal(request)
    intent = selectors.intent_for(principal=who, intent_id=intent_id, owner=True)

    def handler():
        refunded = refunds.intent_refund(
            intent_id=intent.pk,
            amount=payload.amount,
            reason=payload.reason,
            actor=who.user,
            actor_label=who.label,
            request_key=effect_key(who.label, idempotency_key),
        )
        return 200, IntentOut.from_orm(refunded).model_dump(mode="json")

    return idempotent_post(
        request, scope=who.label, key=idempotency_key, payload=payload.dict(), handler=handler
    )


@router.post(
    "/webhooks/ewallet",
    response={200: WebhookAck, **errors(401, 413, 422)},
    auth=None,
    summary="E-wallet provider webhook (authenticated by its HMAC signature only)",
)
def ewallet_webhook(request: HttpRequest):
    from .providers import ewallet as wallet
    from .wallet_events import wallet_event_receive

    try:
        event = wallet.parse_event(request.body, request.headers.get("Wallet-Signature"))
    except wallet.WalletSignatureError as exc:
        raise NotAuthenticated(
            _("Chữ ký sự kiện ví điện tử không hợp lệ."), code="bad_signature"
        ) from exc
    except ValueError as exc:
        raise ValidationFailed(str(exc), code="bad_payload") from exc
    row = wallet_event_receive(event=event)
    return Status(200, {"success": True, "outcome": row.outcome})


@router.post(
    "/webhooks/momo",
    response={204: None, **errors(401, 413, 422)},
    auth=None,
    summary="MoMo payment gateway IPN (authenticated by its HMAC-SHA256 signature only)",
)
def momo_ipn(request: HttpRequest):
    from .momo import momo_ipn_receive
    from .providers import momo

    try:
        data = momo.parse_ipn(request.body)
    except momo.MomoSignatureError as exc:
        raise NotAuthenticated(
            _("Chữ ký IPN của MoMo không hợp lệ."), code="bad_signature"
        ) from exc
    except momo.MomoPayloadError as exc:
        raise ValidationFailed(str(exc), code="bad_payload") from exc
    momo_ipn_receive(data=data)
    return Status(204, None)  # MoMo's documented acknowledgement


@router.post(
    "/webhooks/banknotify",
    response={200: WebhookAck, **errors(401, 413, 422)},
    auth=None,
    summary="Bank-notification webhook (authenticated by its HMAC signature only)",
)
def banknotify_webhook(request: HttpRequest):
    body = request.body
    try:
        banknotify.verify_signature(
            body,
            request.headers.get(banknotify.SIGNATURE_HEADER),
            settings.BANKNOTIFY_WEBHOOK_SECRET,
            tolerance=settings.BANKNOTIFY_TOLERANCE_SECONDS,
        )
    except banknotify.SignatureError as exc:
        raise NotAuthenticated(
            _("Chữ ký thông báo ngân hàng không hợp lệ."), code="bad_signature"
        ) from exc
    try:
        tx = banknotify.parse_notification(body)
    except banknotify.PayloadError as exc:
        raise ValidationFailed(str(exc), code="bad_payload") from exc
    row = notifications.notification_receive(tx=tx)
    return Status(200, {"success": True, "outcome": row.outcome})


@router.post(
    "/webhooks/sepay/{connection_id}",
    response={200: WebhookAck, **errors(401, 403, 404, 413, 422)},
    auth=None,
    summary="SePay bank-alert webhook of one trader's connection (its API key or HMAC only)",
)
def sepay_webhook(request: HttpRequest, connection_id: int):
    from .bankalerts import bank_alert_receive

    outcome = bank_alert_receive(
        connection_id=connection_id, provider="sepay", body=request.body, headers=request.headers
    )
    # SePay stops retrying on a 2xx with {"success": true}.
    return Status(200, {"success": True, "outcome": outcome})


@router.post(
    "/webhooks/banknotify/{connection_id}",
    response={200: WebhookAck, **errors(401, 403, 404, 413, 422)},
    auth=None,
    summary="Bank-notification webhook of one trader's connection (its HMAC signature only)",
)
def banknotify_connection_webhook(request: HttpRequest, connection_id: int):
    from .bankalerts import bank_alert_receive

    outcome = bank_alert_receive(
        connection_id=connection_id,
        provider="banknotify",
        body=request.body,
        headers=request.headers,
    )
    return Status(200, {"success": True, "outcome": outcome})
