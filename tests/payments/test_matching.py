"""What a transfer in means, table-tested through the webhook: reference-code matching, amounts,
walk-ins, other merchants' codes, intent states; and the ledger that records it all."""

from __future__ import annotations

import pytest

from payments import refunds, selectors, services
from payments.models import BankNotification, LedgerEntry, PaymentIntent
from tests.factories import (
    BankAccountFactory,
    assert_ledger_invariant,
    banknotify_deliver,
    banknotify_payload,
    merchant_with_account,
)

pytestmark = pytest.mark.django_db

S = PaymentIntent.Status
O = BankNotification.Outcome  # noqa: E741
K = LedgerEntry.Kind


@pytest.fixture
def merchant():
    return merchant_with_account()


@pytest.fixture
def account(merchant):
    return merchant.bank_accounts.get()


def new_intent(merchant, amount=150_000) -> PaymentIntent:
    return services.intent_create(merchant=merchant, amount=amount)


def deliver(client, account, amount, description, **kwargs) -> BankNotification:
    payload = banknotify_payload(account=account, amount=amount, description=description, **kwargs)
    response = banknotify_deliver(client, payload)
    assert response.status_code == 200, response.content
    row = BankNotification.objects.get(provider_id=payload["id"])
    assert response.json() == {"success": True, "outcome": row.outcome}
    return row


def dashed(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


# --- the reference code in the transfer message ----------------------------------------------

MESSAGES = {
    "exact": lambda c: c,
    "lower case": lambda c: c.lower(),
    "inside a sentence": lambda c: f"Thanh toan don {c} cho Han",
    "dashes": lambda c: dashed(c).lower(),
    "spaces": lambda c: " ".join(c),
    "dots": lambda c: ".".join(c.lower()),
    "bank prefix": lambda c: f"MBVCB.3278123.{dashed(c).lower()}.CT tu 0123",
    "glued to digits": lambda c: f"IBFT0987654321{c}0123456789",
    "vietcombank style": lambda c: f"{c.lower()} Ma giao dich Trace740112 Trace 740112",
}


@pytest.mark.parametrize("message", MESSAGES.values(), ids=MESSAGES.keys())
def test_it_settles_when_the_message_carries_the_code(client, merchant, account, message):
    intent = new_intent(merchant)

    row = deliver(client, account, 150_000, message(intent.reference_code), reference="FT7788")

    assert row.outcome == O.SETTLED
    intent.refresh_from_db()
    assert intent.status == S.SUCCEEDED
    assert intent.amount_received == 150_000
    assert intent.bank_reference == "FT7788"
    assert intent.succeeded_at is not None
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.flag) == (K.SETTLEMENT, 150_000, "")
    assert (entry.intent_id, entry.notification_id, entry.merchant_id) == (
        intent.pk,
        row.pk,
        merchant.pk,
    )


def test_it_finds_codes_in_the_forms_banks_mangle_them_into():
    assert services.find_reference_codes("MBVCB.3278123.cs7k-4px.CT tu 0123") == ["CS7K4PX"]
    assert services.find_reference_codes("ck tien ca") == []
    # 2 and Q are outside the code alphabet (look-alikes of Z and O): not a code of ours.
    assert services.find_reference_codes("CS7K2QX") == []


def test_it_matches_the_receiving_merchants_code_among_several(client, merchant, account):
    intent = new_intent(merchant)
    other = new_intent(merchant_with_account())

    row = deliver(client, account, 150_000, f"{other.reference_code} {intent.reference_code}")

    assert (row.outcome, row.intent_id) == (O.SETTLED, intent.pk)
    other.refresh_from_db()
    assert other.status == S.REQUIRES_PAYMENT


def test_it_settles_through_a_second_account_of_the_merchant(client, merchant):
    second = BankAccountFactory(merchant=merchant, is_default=False, bank_bin="970415")
    intent = new_intent(merchant)

    row = deliver(client, second, 150_000, intent.reference_code)

    assert row.outcome == O.SETTLED


# --- amounts ----------------------------------------------------------------------------------


def test_it_settles_an_overpayment_and_flags_it(client, merchant, account):
    intent = new_intent(merchant)

    row = deliver(client, account, 155_000, intent.reference_code)

    assert row.outcome == O.SETTLED
    intent.refresh_from_db()
    assert intent.status == S.SUCCEEDED
    assert (intent.amount_received, intent.overpaid_amount) == (155_000, 5_000)
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.flag) == (K.SETTLEMENT, 155_000, "overpaid")


def test_it_does_not_settle_an_underpayment(client, merchant, account):
    intent = new_intent(merchant)

    row = deliver(client, account, 149_000, intent.reference_code)

    assert (row.outcome, row.intent_id, row.merchant_id) == (O.UNDERPAID, intent.pk, merchant.pk)
    intent.refresh_from_db()
    assert (intent.status, intent.amount_received) == (S.REQUIRES_PAYMENT, 0)
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.flag) == (K.UNMATCHED, 149_000, "underpaid")
    assert entry.intent_id == intent.pk


def test_it_settles_a_full_payment_after_an_underpayment(client, merchant, account):
    intent = new_intent(merchant)
    deliver(client, account, 100_000, intent.reference_code)

    row = deliver(client, account, 150_000, intent.reference_code)

    assert row.outcome == O.SETTLED
    intent.refresh_from_db()
    assert intent.amount_received == 150_000
    assert selectors.balance_of(merchant=merchant) == 250_000


# --- no code, or not our code -----------------------------------------------------------------


def test_it_records_a_transfer_without_code_as_a_walk_in(client, merchant, account, settings):
    row = deliver(client, account, settings.WALK_IN_BAIT_BELOW, "chuyen tien mua ca")

    assert (row.outcome, row.merchant_id, row.intent_id) == (O.WALK_IN, merchant.pk, None)
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.flag) == (K.WALK_IN, settings.WALK_IN_BAIT_BELOW, "")


def test_it_flags_a_tiny_walk_in(client, account, settings):
    row = deliver(client, account, settings.WALK_IN_BAIT_BELOW - 1, "")

    assert row.outcome == O.WALK_IN
    assert LedgerEntry.objects.get().flag == "small"


def test_it_treats_another_merchants_code_as_a_walk_in(client, merchant, account):
    elsewhere = new_intent(merchant_with_account())

    row = deliver(client, account, 150_000, elsewhere.reference_code)

    assert (row.outcome, row.merchant_id, row.intent_id) == (O.WALK_IN, merchant.pk, None)
    elsewhere.refresh_from_db()
    assert (elsewhere.status, elsewhere.amount_received) == (S.REQUIRES_PAYMENT, 0)
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.merchant_id, entry.intent_id) == (K.WALK_IN, merchant.pk, None)
    assert not LedgerEntry.objects.filter(merchant=elsewhere.merchant).exists()


def test_it_treats_an_unknown_code_as_a_walk_in(client, account):
    row = deliver(client, account, 150_000, "CSAAAAA")

    assert row.outcome == O.WALK_IN


def test_it_acknowledges_a_transfer_to_an_unknown_account(client, merchant):
    intent = new_intent(merchant)

    row = deliver(
        client,
        None,
        150_000,
        intent.reference_code,
        bank_bin="970422",
        account_number="9999999999",
    )

    assert (row.outcome, row.merchant_id, row.intent_id) == (O.UNKNOWN_ACCOUNT, None, None)
    assert not LedgerEntry.objects.exists()
    intent.refresh_from_db()
    assert intent.status == S.REQUIRES_PAYMENT
    assert list(selectors.notifications_unmatched()) == [row]


def test_it_does_not_confuse_the_same_account_number_at_another_bank(client, merchant, account):
    intent = new_intent(merchant)

    row = deliver(
        client,
        None,
        150_000,
        intent.reference_code,
        bank_bin="970422" if account.bank_bin != "970422" else "970415",
        account_number=account.account_number,
    )

    assert row.outcome == O.UNKNOWN_ACCOUNT
    intent.refresh_from_db()
    assert intent.status == S.REQUIRES_PAYMENT


def test_it_ignores_money_going_out(client, merchant, account):
    intent = new_intent(merchant)

    row = deliver(client, account, 150_000, intent.reference_code, transfer_type="out")

    assert row.outcome == O.OUTGOING
    assert not LedgerEntry.objects.exists()
    intent.refresh_from_db()
    assert intent.status == S.REQUIRES_PAYMENT


# --- the intent's state -----------------------------------------------------------------------


def test_it_records_a_second_payment_of_a_paid_intent_as_already_paid(client, merchant, account):
    intent = new_intent(merchant)
    deliver(client, account, 150_000, intent.reference_code, reference="FT1")

    row = deliver(client, account, 170_000, intent.reference_code, reference="FT2")

    assert (row.outcome, row.intent_id) == (O.ALREADY_PAID, intent.pk)
    intent.refresh_from_db()
    assert (intent.amount_received, intent.bank_reference) == (150_000, "FT1")
    second = LedgerEntry.objects.get(notification=row)
    assert (second.kind, second.amount, second.flag) == (K.UNMATCHED, 170_000, "already_paid")
    assert LedgerEntry.objects.filter(kind=K.SETTLEMENT).count() == 1


def test_it_records_a_payment_to_a_refunded_intent_as_already_paid(client, merchant, account):
    intent = new_intent(merchant)
    deliver(client, account, 150_000, intent.reference_code)
    refunds.intent_refund(intent_id=intent.pk, amount=150_000, reason="trả lại", actor=None)

    row = deliver(client, account, 150_000, intent.reference_code)

    assert row.outcome == O.ALREADY_PAID
    intent.refresh_from_db()
    assert (intent.status, intent.amount_received) == (S.REFUNDED, 150_000)


def test_it_does_not_settle_a_canceled_intent(client, merchant, account):
    intent = new_intent(merchant)
    services.intent_cancel(intent_id=intent.pk, actor=None, actor_label="test")

    row = deliver(client, account, 150_000, intent.reference_code)

    assert (row.outcome, row.intent_id) == (O.AFTER_CANCEL, intent.pk)
    intent.refresh_from_db()
    assert (intent.status, intent.amount_received) == (S.CANCELED, 0)
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.flag) == (K.UNMATCHED, "after_cancel")


def test_it_settles_an_expired_intent_as_late(client, merchant, account):
    intent = new_intent(merchant)
    services.intents_expire_due(now=intent.expires_at)

    row = deliver(client, account, 150_000, intent.reference_code)

    assert row.outcome == O.LATE
    intent.refresh_from_db()
    assert (intent.status, intent.amount_received) == (S.SUCCEEDED, 150_000)
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.flag) == (K.SETTLEMENT, "late")


def test_it_settles_a_duplicate_delivery_once(client, merchant, account):
    intent = new_intent(merchant)
    payload = banknotify_payload(account=account, description=intent.reference_code)

    first = banknotify_deliver(client, payload)
    second = banknotify_deliver(client, payload)

    assert first.json() == second.json() == {"success": True, "outcome": "settled"}
    assert LedgerEntry.objects.count() == 1
    intent.refresh_from_db()
    assert intent.amount_received == 150_000


# --- the ledger -------------------------------------------------------------------------------


def test_it_keeps_the_ledger_equal_to_settled_minus_refunded(client, merchant, account, settings):
    a, b, c, d, e = (
        new_intent(merchant, amount) for amount in (50_000, 80_000, 120_000, 10_000, 30_000)
    )
    services.intent_cancel(intent_id=d.pk, actor=None, actor_label="test")
    services.intents_expire_due(now=e.expires_at)
    duplicate = banknotify_payload(account=account, amount=50_000, description=a.reference_code)
    sequence = [
        (80_000, f"MBVCB.1.{b.reference_code.lower()}"),
        (90_000, c.reference_code),  # underpaid
        (125_000, c.reference_code),  # overpaid
        (5_000, "ck"),  # tiny walk-in
        (200_000, "tien hang"),  # walk-in
        (80_000, b.reference_code),  # already paid
        (10_000, d.reference_code),  # after cancel
        (30_000, e.reference_code),  # late
    ]
    banknotify_deliver(client, duplicate)
    for amount, message in sequence:
        deliver(client, account, amount, message)
    banknotify_deliver(client, duplicate)
    deliver(client, account, 70_000, "out", transfer_type="out")
    deliver(client, None, 70_000, a.reference_code, account_number="1234567890123")
    refunds.intent_refund(intent_id=c.pk, amount=25_000, reason="dư", actor=None)
    refunds.intent_refund(intent_id=a.pk, amount=50_000, reason="trả hàng", actor=None)

    assert_ledger_invariant(merchant)
    expected_in = 50_000 + 80_000 + 90_000 + 125_000 + 5_000 + 200_000 + 80_000 + 10_000 + 30_000
    assert selectors.balance_of(merchant=merchant) == expected_in - 75_000
    statuses = dict(PaymentIntent.objects.values_list("reference_code", "status"))
    assert statuses == {
        a.reference_code: S.REFUNDED,
        b.reference_code: S.SUCCEEDED,
        c.reference_code: S.PARTIALLY_REFUNDED,
        d.reference_code: S.CANCELED,
        e.reference_code: S.SUCCEEDED,
    }


def test_it_keeps_each_merchants_ledger_apart(client, merchant, account):
    other = merchant_with_account()
    other_account = other.bank_accounts.get()
    mine, theirs = new_intent(merchant, 40_000), new_intent(other, 60_000)

    deliver(client, account, 40_000, mine.reference_code)
    deliver(client, other_account, 60_000, theirs.reference_code)
    deliver(client, other_account, 40_000, mine.reference_code)  # a walk-in for them

    assert selectors.balance_of(merchant=merchant) == 40_000
    assert selectors.balance_of(merchant=other) == 100_000
    assert_ledger_invariant(merchant)
    assert_ledger_invariant(other)


def test_it_settles_the_first_written_of_two_codes_of_the_same_merchant(client, merchant, account):
    older = new_intent(merchant)
    newer = new_intent(merchant)

    row = deliver(client, account, 150_000, f"TT {older.reference_code} va {newer.reference_code}")

    assert (row.outcome, row.intent_id) == (O.SETTLED, older.pk)
    newer.refresh_from_db()
    assert newer.status == S.REQUIRES_PAYMENT


def test_two_merchants_may_hold_the_same_code_and_each_transfer_pays_its_own(client, merchant):
    from django.db import IntegrityError

    other = merchant_with_account()
    mine = new_intent(merchant, amount=50_000)
    theirs = new_intent(other, amount=70_000)
    PaymentIntent.objects.filter(pk=theirs.pk).update(reference_code=mine.reference_code)
    deliver(client, other.bank_accounts.get(), 70_000, f"{mine.reference_code} mua hang")
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (theirs.status, mine.status) == (S.SUCCEEDED, S.REQUIRES_PAYMENT)
    with pytest.raises(IntegrityError):
        PaymentIntent.objects.filter(pk=new_intent(merchant).pk).update(
            reference_code=mine.reference_code
        )
