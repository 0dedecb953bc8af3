"""Adapter for the e-wallet provider: the only module that imports the SDK (payments/sdk).

It turns the provider's objects into our dataclasses and its errors into two of ours: the
provider is unreachable or failing (try later), or it refused the request (tell the person why).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings

from payments import sdk

log = logging.getLogger(__name__)


class WalletUnavailable(Exception):
    """The provider could not be reached or answered with a server error, after retries."""


class WalletRejected(Exception):
    """The provider refused the request (validation, state); the message says why."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class WalletSignatureError(Exception):
    pass


@dataclass(frozen=True)
class WalletPayment:
    id: str
    status: str  # pending | succeeded | failed | canceled | partially_refunded | refunded
    amount: int
    amount_refunded: int
    pay_url: str
    merchant_reference: str
    failure_reason: str


@dataclass(frozen=True)
class WalletRefund:
    id: str
    payment_id: str
    amount: int
    status: str


@dataclass(frozen=True)
class WalletEventData:
    id: str
    type: str  # payment.succeeded | payment.failed | refund.succeeded
    payment: WalletPayment | None
    refund: WalletRefund | None
    raw: dict


def _client() -> sdk.Client:
    return sdk.Client(
        settings.EWALLET_API_KEY,
        settings.EWALLET_URL,
        timeout=float(settings.EWALLET_TIMEOUT_SECONDS),
        max_retries=2,
    )


def _payment(obj) -> WalletPayment:
    return WalletPayment(
        id=obj.id,
        status=obj.status,
        amount=obj.amount,
        amount_refunded=obj.amount_refunded,
        pay_url=obj.pay_url,
        merchant_reference=obj.merchant_reference,
        failure_reason=obj.failure_reason or "",
    )


def _refund(obj) -> WalletRefund:
    return WalletRefund(id=obj.id, payment_id=obj.payment, amount=obj.amount, status=obj.status)


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except (sdk.APIConnectionError, sdk.APIError, sdk.RateLimitError) as exc:
        raise WalletUnavailable(str(exc)) from exc
    except sdk.WalletError as exc:
        raise WalletRejected(str(getattr(exc, "user_message", "") or exc), exc.code or "") from exc


def create_payment(
    *, intent_id: int, amount: int, reference_code: str, merchant_name: str, expires_in: int
) -> WalletPayment:
    # One provider payment per intent, however often this is retried.
    payment = _call(
        _client().payments.create,
        amount=amount,
        merchant_reference=reference_code,
        merchant_name=merchant_name[:80],
        description=f"Chợ Số {reference_code}",
        expires_in=expires_in,
        idempotency_key=f"choso-intent-{intent_id}",
    )
    return _payment(payment)


def retrieve_payment(payment_id: str) -> WalletPayment:
    return _payment(_call(_client().payments.retrieve, payment_id))


def cancel_payment(payment_id: str) -> WalletPayment:
    return _payment(_call(_client().payments.cancel, payment_id))


def create_refund(*, refund_id: int, payment_id: str, amount: int, reason: str) -> WalletRefund:
    refund = _call(
        _client().refunds.create,
        payment=payment_id,
        amount=amount,
        reason=reason[:140],
        idempotency_key=f"choso-refund-{refund_id}",
    )
    return _refund(refund)


def parse_event(payload: bytes, signature_header: str | None) -> WalletEventData:
    secret = settings.EWALLET_WEBHOOK_SECRET
    if not secret or not secret.strip():
        # Refused, not a 422 (the SDK's ValueError): nothing unsigned is ever read.
        log.error("e-wallet event refused: EWALLET_WEBHOOK_SECRET is not configured")
        raise WalletSignatureError("no webhook secret is configured")
    try:
        event = sdk.webhooks.construct_event(payload, signature_header or "", secret)
    except sdk.SignatureVerificationError as exc:
        raise WalletSignatureError(str(exc)) from exc
    obj = event.data_object
    payment = _payment(obj) if isinstance(obj, sdk.Payment) else None
    refund = _refund(obj) if isinstance(obj, sdk.Refund) else None
    return WalletEventData(
        id=event.id, type=event.type, payment=payment, refund=refund, raw=event.raw
    )
