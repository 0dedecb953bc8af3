"""Python client for the e-wallet provider's API (see README.md in this directory).

Depends only on ``requests`` and the standard library::

    from payments import sdk

    client = sdk.Client("sk_test_…", "http://127.0.0.1:8102")
    payment = client.payments.create(amount=85_000, merchant_reference="CS7K4PX")
    print(payment.pay_url)
"""

from . import webhooks
from ._errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    IdempotencyError,
    InvalidRequestError,
    PaymentDeclinedError,
    PermissionDeniedError,
    RateLimitError,
    SignatureVerificationError,
    WalletError,
)
from ._objects import PAYMENT_STATUSES, Event, EventData, ListPage, Payment, Refund, WalletResponse
from ._resources import PaymentsResource, RefundsResource
from ._version import __version__
from .client import Client
from .webhooks import SIGNATURE_HEADER

__all__ = [
    "PAYMENT_STATUSES",
    "SIGNATURE_HEADER",
    "APIConnectionError",
    "APIError",
    "AuthenticationError",
    "Client",
    "Event",
    "EventData",
    "IdempotencyError",
    "InvalidRequestError",
    "ListPage",
    "Payment",
    "PaymentDeclinedError",
    "PaymentsResource",
    "PermissionDeniedError",
    "RateLimitError",
    "Refund",
    "RefundsResource",
    "SignatureVerificationError",
    "WalletError",
    "WalletResponse",
    "__version__",
    "webhooks",
]
