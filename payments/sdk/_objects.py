"""Typed, immutable views of the wallet's JSON objects.

Each class is a frozen dataclass built by ``from_dict``. Fields the SDK does not know are
ignored (the provider may add fields at any time) and stay reachable through ``raw``, the dict
as received. A field that is present with the wrong type, or a missing ``id``, makes
``from_dict`` raise :class:`ValueError`: the client turns that into an :class:`~.APIError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["Event", "EventData", "ListPage", "Payment", "Refund", "WalletResponse"]

PAYMENT_STATUSES = ("pending", "succeeded", "failed", "canceled", "partially_refunded", "refunded")


@dataclass(frozen=True)
class WalletResponse:
    """How an object arrived: kept on results as ``last_response`` (as stripe-python does).

    ``idempotent_replayed`` is true when the provider replayed the first answer to an earlier
    request with the same ``idempotency_key``; ``attempts`` counts the SDK's tries (1 = no retry).
    """

    http_status: int
    request_id: str | None
    headers: Mapping[str, str] = field(hash=False, repr=False)
    idempotency_key: str | None = None
    attempts: int = 1

    @property
    def idempotent_replayed(self) -> bool:
        return self.headers.get("Idempotent-Replayed", "").strip().lower() == "true"

    @property
    def original_request_id(self) -> str | None:
        """On a replay, the ``Request-Id`` of the request that did the work."""
        return self.headers.get("Original-Request")


def _check(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object for {what}, got {type(data).__name__}")
    return data


def _str(data: dict[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key)
    if value is None and default is not None:
        return default
    if not isinstance(value, str):
        raise ValueError(f"field {key!r} should be a string, got {value!r}")
    return value


def _opt_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"field {key!r} should be a string or null, got {value!r}")
    return value


def _int(data: dict[str, Any], key: str, default: int | None = None) -> int:
    value = data.get(key)
    if value is None and default is not None:
        return default
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"field {key!r} should be an integer, got {value!r}")
    return value


def _opt_int(data: dict[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    return _int(data, key)


def _metadata(data: dict[str, Any]) -> dict[str, str]:
    value = data.get("metadata")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"field 'metadata' should be an object, got {value!r}")
    return {str(k): v if isinstance(v, str) else str(v) for k, v in value.items()}


@dataclass(frozen=True)
class Payment:
    """A wallet payment (``pay_…``). ``status`` is one of :data:`PAYMENT_STATUSES` (kept a plain
    string so that a status added by the provider does not break parsing)."""

    id: str
    amount: int
    status: str
    currency: str = "vnd"
    amount_refunded: int = 0
    merchant_reference: str = ""
    merchant_name: str = ""
    description: str = ""
    pay_url: str = ""
    qr_payload: str = ""
    failure_reason: str | None = None
    wallet_phone: str | None = None
    created: int = 0
    expires_at: int | None = None
    metadata: dict[str, str] = field(default_factory=dict, hash=False)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)
    last_response: WalletResponse | None = field(
        default=None, repr=False, compare=False, hash=False
    )

    @property
    def amount_refundable(self) -> int:
        """What a refund may still take back: ``amount - amount_refunded`` once paid, else 0."""
        if self.status not in ("succeeded", "partially_refunded"):
            return 0
        return max(self.amount - self.amount_refunded, 0)

    @classmethod
    def from_dict(cls, data: Any, last_response: WalletResponse | None = None) -> Payment:
        data = _check(data, "a payment")
        pay_url = _str(data, "pay_url", "")
        return cls(
            id=_str(data, "id"),
            amount=_int(data, "amount"),
            status=_str(data, "status"),
            currency=_str(data, "currency", "vnd"),
            amount_refunded=_int(data, "amount_refunded", 0),
            merchant_reference=_str(data, "merchant_reference", ""),
            merchant_name=_str(data, "merchant_name", ""),
            description=_str(data, "description", ""),
            pay_url=pay_url,
            qr_payload=_str(data, "qr_payload", pay_url),
            failure_reason=_opt_str(data, "failure_reason"),
            wallet_phone=_opt_str(data, "wallet_phone"),
            created=_int(data, "created", 0),
            expires_at=_opt_int(data, "expires_at"),
            metadata=_metadata(data),
            raw=data,
            last_response=last_response,
        )


@dataclass(frozen=True)
class Refund:
    """A refund (``re_…``) of part or all of a payment; ``payment`` is the payment's id."""

    id: str
    payment: str
    amount: int
    status: str
    reason: str = ""
    created: int = 0
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)
    last_response: WalletResponse | None = field(
        default=None, repr=False, compare=False, hash=False
    )

    @classmethod
    def from_dict(cls, data: Any, last_response: WalletResponse | None = None) -> Refund:
        data = _check(data, "a refund")
        return cls(
            id=_str(data, "id"),
            payment=_str(data, "payment"),
            amount=_int(data, "amount"),
            status=_str(data, "status"),
            reason=_str(data, "reason", ""),
            created=_int(data, "created", 0),
            raw=data,
            last_response=last_response,
        )


EventObject = Payment | Refund | dict[str, Any]


@dataclass(frozen=True)
class EventData:
    """``event.data``: ``object`` is a :class:`Payment` for ``payment.*`` events, a
    :class:`Refund` for ``refund.*`` events, and the plain dict for event types this SDK does not
    know yet."""

    object: EventObject = field(hash=False)


def _event_object(event_type: str, obj: Any) -> EventObject:
    obj = _check(obj, "data.object")
    prefix = event_type.split(".", 1)[0] if "." in event_type else obj.get("object")
    if prefix == "payment":
        return Payment.from_dict(obj)
    if prefix == "refund":
        return Refund.from_dict(obj)
    return obj


@dataclass(frozen=True)
class Event:
    """A webhook event (``evt_…``): ``type`` such as ``"payment.succeeded"``, ``created`` (unix
    seconds) and ``data.object`` (also reachable as :attr:`data_object`)."""

    id: str
    type: str
    created: int
    data: EventData
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)

    @property
    def data_object(self) -> EventObject:
        return self.data.object

    @classmethod
    def from_dict(cls, data: Any) -> Event:
        data = _check(data, "an event")
        event_type = _str(data, "type")
        body = _check(data.get("data"), "data")
        return cls(
            id=_str(data, "id"),
            type=event_type,
            created=_int(data, "created", 0),
            data=EventData(object=_event_object(event_type, body.get("object"))),
            raw=data,
        )


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_HasId)


@dataclass(frozen=True)
class ListPage(Generic[T]):
    """One page of a list, newest first. Iterate over it for this page only; call
    :meth:`auto_paging_iter` to walk every later page too (requests are made lazily)."""

    data: tuple[T, ...]
    has_more: bool
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False, hash=False)
    last_response: WalletResponse | None = field(
        default=None, repr=False, compare=False, hash=False
    )
    _fetch_after: Callable[[str], ListPage[T]] | None = field(
        default=None, repr=False, compare=False, hash=False
    )

    def __iter__(self) -> Iterator[T]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:
        return bool(self.data)

    def next_page(self) -> ListPage[T] | None:
        """The following page (same filters, ``starting_after`` the last item), or ``None``."""
        if not self.has_more or not self.data or self._fetch_after is None:
            return None
        return self._fetch_after(self.data[-1].id)

    def auto_paging_iter(self) -> Iterator[T]:
        """Every item of this page and of all the following ones."""
        page: ListPage[T] | None = self
        while page is not None:
            yield from page.data
            page = page.next_page()

    @classmethod
    def from_dict(
        cls,
        data: Any,
        parse: Callable[[Any], T],
        fetch_after: Callable[[str], ListPage[T]] | None = None,
        last_response: WalletResponse | None = None,
    ) -> ListPage[T]:
        data = _check(data, "a list")
        items = data.get("data")
        if not isinstance(items, list):
            raise ValueError(f"field 'data' should be an array, got {items!r}")
        has_more = data.get("has_more", False)
        if not isinstance(has_more, bool):
            raise ValueError(f"field 'has_more' should be a boolean, got {has_more!r}")
        return cls(
            data=tuple(parse(item) for item in items),
            has_more=has_more,
            raw=data,
            last_response=last_response,
            _fetch_after=fetch_after,
        )
