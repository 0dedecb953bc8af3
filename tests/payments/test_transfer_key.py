"""A transfer's key (payments.notifications.transfer_key): the bank's identity of one transfer,
the same whichever provider passes it on, and never a key that could take one transfer for
another."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from payments.notifications import transfer_key
from payments.providers.banknotify import BankTransaction


def tx(**changes) -> BankTransaction:
    fields = {
        "provider_id": "bn-1",
        "bank_bin": "970436",
        "account_number": "0071001234567",
        "transfer_type": "in",
        "amount": 153_000,
        "description": "DH2612041A2B3",
        "bank_reference": "FT26339K7QX2MB",
        "counter_name": "",
        "transaction_date": datetime(2026, 12, 5, 1, 2, tzinfo=UTC),
        "raw": {},
        "source": "banknotify",
    } | changes
    return BankTransaction(**fields)


@pytest.mark.parametrize(
    "written", ["FT26339K7QX2MB", "ft26339k7qx2mb", "FT 2633 9K7Q X2MB", "FT26339-K7QX2MB"]
)
def test_it_reads_one_reference_however_a_provider_writes_it(written):
    assert transfer_key(tx(bank_reference=written, provider_id="sepay:4:77", source="sepay")) == (
        transfer_key(tx())
    )


@pytest.mark.parametrize(
    "other",
    [
        {"amount": 153_001},
        {"transfer_type": "out"},
        {"account_number": "0071001234568"},
        {"bank_bin": "970415"},
        {"bank_reference": "FT26339K7QX2MC"},
    ],
)
def test_another_transfer_has_another_key(other):
    assert transfer_key(tx(**other)) != transfer_key(tx())


@pytest.mark.parametrize("reference", ["", "  ", "FT12", "-.-.-.-"])
def test_without_a_reference_to_go_by_there_is_no_key(reference):
    assert transfer_key(tx(bank_reference=reference)) is None


def test_a_zero_amount_test_alert_has_no_key():
    assert transfer_key(tx(amount=0)) is None
