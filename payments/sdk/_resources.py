"""``client.payments`` and ``client.refunds``: one method per endpoint of the wallet API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

from ._errors import APIError, InvalidRequestError
from ._http import Requestor
from ._objects import ListPage, Payment, Refund, WalletResponse

__all__ = ["PaymentsResource", "RefundsResource"]

R = TypeVar("R")


def _build(
    parse: Callable[[Any, WalletResponse], R], data: dict[str, Any], meta: WalletResponse
) -> R:
    """Parse an answer; a malformed one is the provider's fault, reported as an APIError."""
    try:
        return parse(data, meta)
    except ValueError as exc:
        err = APIError(
            f"The wallet answered with an object this SDK cannot read: {exc}",
            http_status=meta.http_status,
            request_id=meta.request_id,
            json_body=data,
            headers=meta.headers,
        )
        err.idempotency_key = meta.idempotency_key
        raise err from exc


def _path_id(value: str, what: str) -> str:
    """The id, URL-quoted for a path segment (``../`` cannot escape ``/v1/payments/``)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequestError(
            f"Could not determine which URL to request: {what} id {value!r} is not a "
            "non-empty string",
            param="id",
        )
    return quote(value, safe="")


class _Resource:
    def __init__(self, requestor: Requestor) -> None:
        self._requestor = requestor


class PaymentsResource(_Resource):
    """``/v1/payments``."""

    def create(
        self,
        *,
        amount: int,
        merchant_reference: str,
        merchant_name: str = "",
        description: str = "",
        expires_in: int | None = None,
        metadata: dict[str, str] | None = None,
        currency: str = "vnd",
        idempotency_key: str | None = None,
    ) -> Payment:
        """Create a ``pending`` payment; show the shopper its ``pay_url`` (as a QR code).

        ``amount`` is whole đồng (1 000 – 50 000 000). Without ``merchant_name`` the provider
        shows the API key's account name. ``expires_in`` is in seconds (60 – 86 400;
        the provider's default is 900). Give an ``idempotency_key`` derived from your own order
        (e.g. ``f"order-{order.pk}"``) so that a retry after a crash cannot create a second
        payment; without one, a fresh UUID protects this call's own retries only.
        """
        body: dict[str, Any] = {
            "amount": amount,
            "currency": currency,
            "merchant_reference": merchant_reference,
        }
        # Empty strings are left out, so that the provider's defaults apply (the merchant name
        # defaults to the API key's account name).
        if merchant_name:
            body["merchant_name"] = merchant_name
        if description:
            body["description"] = description
        if expires_in is not None:
            body["expires_in"] = expires_in
        if metadata is not None:
            body["metadata"] = dict(metadata)
        data, meta = self._requestor.request(
            "POST", "/v1/payments", body=body, idempotency_key=idempotency_key
        )
        return _build(Payment.from_dict, data, meta)

    def retrieve(self, id: str) -> Payment:
        """The payment as it is now (use it to double-check a webhook or to poll)."""
        data, meta = self._requestor.request("GET", f"/v1/payments/{_path_id(id, 'payment')}")
        return _build(Payment.from_dict, data, meta)

    def list(
        self,
        *,
        status: str | None = None,
        merchant_reference: str | None = None,
        limit: int | None = None,
        starting_after: str | None = None,
    ) -> ListPage[Payment]:
        """One page of payments, newest first; ``page.auto_paging_iter()`` walks all pages."""

        def fetch_after(last_id: str) -> ListPage[Payment]:
            return self.list(
                status=status,
                merchant_reference=merchant_reference,
                limit=limit,
                starting_after=last_id,
            )

        params = {
            "status": status,
            "merchant_reference": merchant_reference,
            "limit": limit,
            "starting_after": starting_after,
        }
        data, meta = self._requestor.request("GET", "/v1/payments", params=params)
        return _build(
            lambda d, m: ListPage.from_dict(d, Payment.from_dict, fetch_after, last_response=m),
            data,
            meta,
        )

    def cancel(self, id: str, *, idempotency_key: str | None = None) -> Payment:
        """Cancel a ``pending`` payment (else InvalidRequestError ``payment_not_cancelable``)."""
        data, meta = self._requestor.request(
            "POST",
            f"/v1/payments/{_path_id(id, 'payment')}/cancel",
            body={},
            idempotency_key=idempotency_key,
        )
        return _build(Payment.from_dict, data, meta)


class RefundsResource(_Resource):
    """``/v1/refunds``."""

    def create(
        self,
        *,
        payment: str | Payment,
        amount: int,
        reason: str = "",
        idempotency_key: str | None = None,
    ) -> Refund:
        """Refund ``amount`` đồng of a paid payment (a :class:`Payment` or its id).

        More than the payment's ``amount_refundable`` → ``InvalidRequestError`` with code
        ``amount_too_large``. As for payments, pass an ``idempotency_key`` tied to your own
        refund record so that a retry cannot refund twice.
        """
        payment_id = payment.id if isinstance(payment, Payment) else payment
        body: dict[str, Any] = {"payment": payment_id, "amount": amount}
        if reason:
            body["reason"] = reason
        data, meta = self._requestor.request(
            "POST", "/v1/refunds", body=body, idempotency_key=idempotency_key
        )
        return _build(Refund.from_dict, data, meta)

    def retrieve(self, id: str) -> Refund:
        data, meta = self._requestor.request("GET", f"/v1/refunds/{_path_id(id, 'refund')}")
        return _build(Refund.from_dict, data, meta)
