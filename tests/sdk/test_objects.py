"""Typed objects built from the wallet's JSON."""

from __future__ import annotations

import ast
import dataclasses
import pickle
from pathlib import Path

import pytest

from payments import sdk

from .conftest import payment_json, refund_json

SDK_DIR = Path(sdk.__file__).parent


def test_it_builds_a_payment_and_ignores_unknown_fields():
    data = payment_json(risk_score=3, status="partially_refunded", amount_refunded=20000)
    payment = sdk.Payment.from_dict(data)
    assert payment.amount_refundable == 65000
    assert payment.raw is data and payment.raw["risk_score"] == 3
    assert payment.expires_at == 1_790_000_900 and payment.created == 1_790_000_000
    assert "risk_score" not in repr(payment)


def test_it_fills_defaults_for_fields_the_provider_leaves_out():
    payment = sdk.Payment.from_dict({"id": "pay_1", "amount": 1000, "status": "pending"})
    assert payment.currency == "vnd" and payment.amount_refunded == 0
    assert payment.metadata == {} and payment.failure_reason is None
    assert payment.amount_refundable == 0  # not paid yet


@pytest.mark.parametrize(
    "broken",
    [
        {"amount": 1000, "status": "pending"},  # no id
        payment_json(amount="85000"),
        payment_json(amount=True),
        payment_json(metadata=["x"]),
        payment_json(failure_reason=3),
        "not an object",
    ],
)
def test_it_rejects_a_payment_with_wrong_types(broken):
    with pytest.raises(ValueError):
        sdk.Payment.from_dict(broken)


def test_it_makes_frozen_hashable_comparable_picklable_objects():
    payment = sdk.Payment.from_dict(payment_json())
    with pytest.raises(dataclasses.FrozenInstanceError):
        payment.status = "succeeded"  # type: ignore[misc]
    assert payment == sdk.Payment.from_dict(payment_json(extra="ignored"))
    assert len({payment, sdk.Payment.from_dict(payment_json())}) == 1
    assert pickle.loads(pickle.dumps(payment)) == payment  # noqa: S301 - our own bytes


def test_it_builds_a_refund():
    refund = sdk.Refund.from_dict(refund_json(currency="vnd"))
    assert (refund.id, refund.payment, refund.amount, refund.status, refund.reason) == (
        "re_0123456789abcdef01234567",
        "pay_0123456789abcdef01234567",
        20000,
        "succeeded",
        "thiếu hàng",
    )
    assert refund.raw["currency"] == "vnd"


@pytest.mark.parametrize(
    ("event_type", "obj", "expected"),
    [
        ("payment.succeeded", payment_json(status="succeeded"), sdk.Payment),
        ("payment.failed", payment_json(status="failed"), sdk.Payment),
        ("refund.succeeded", refund_json(), sdk.Refund),
        ("payout.paid", {"id": "po_1", "object": "payout"}, dict),
    ],
)
def test_it_types_the_event_object_by_the_event_type(event_type, obj, expected):
    event = sdk.Event.from_dict(
        {
            "id": "evt_1",
            "object": "event",
            "type": event_type,
            "created": 1,
            "data": {"object": obj},
        }
    )
    assert isinstance(event.data.object, expected)
    assert event.data_object is event.data.object
    assert event.type == event_type and event.raw["data"]["object"] == obj


def test_it_builds_a_list_page():
    page = sdk.ListPage.from_dict(
        {
            "object": "list",
            "data": [payment_json(id="pay_2"), payment_json(id="pay_1")],
            "has_more": False,
        },
        sdk.Payment.from_dict,
    )
    assert [p.id for p in page] == ["pay_2", "pay_1"] and not page.has_more
    assert page.next_page() is None
    assert [p.id for p in page.auto_paging_iter()] == ["pay_2", "pay_1"]


def test_it_imports_nothing_but_requests_and_the_standard_library():
    import sys

    allowed = set(sys.stdlib_module_names) | {"requests"}
    for path in SDK_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.name} imports {name}"


def test_it_exports_the_public_api():
    for name in (
        "Client",
        "Payment",
        "Refund",
        "Event",
        "ListPage",
        "WalletError",
        "APIConnectionError",
        "AuthenticationError",
        "PermissionDeniedError",
        "InvalidRequestError",
        "IdempotencyError",
        "RateLimitError",
        "PaymentDeclinedError",
        "APIError",
        "SignatureVerificationError",
        "webhooks",
    ):
        assert hasattr(sdk, name), name
        assert name in sdk.__all__
    assert issubclass(sdk.SignatureVerificationError, sdk.WalletError)
    assert sdk.webhooks.SIGNATURE_HEADER == sdk.SIGNATURE_HEADER == "Wallet-Signature"
