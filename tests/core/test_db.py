"""core.db: several tables' rows in one atomic statement (PostgreSQL); statements written once
per model (insert_row, update_row, select_rows, update_where_returning) on both databases."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection

from core.db import PkOf, can_insert_together, insert_together
from core.models import AuditLog
from merchants.models import BankAccount, Merchant
from tests.factories import BankAccountFactory, MerchantFactory

pytestmark = pytest.mark.django_db(transaction=True)
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="data-modifying WITH is PostgreSQL's"
)


@postgresql_only
def test_it_inserts_rows_that_refer_to_each_other_in_one_statement(django_assert_num_queries):
    merchant = MerchantFactory.build()
    accounts = [
        BankAccountFactory.build(
            merchant=merchant, account_number=f"00012345{n}", is_default=n == 0
        )
        for n in range(2)
    ]
    note = AuditLog(
        actor_label="test", action="merchant.create", target_type="merchants.merchant", data={}
    )
    note.target_id = PkOf(merchant, text=True)  # type: ignore[assignment]
    assert can_insert_together()

    with django_assert_num_queries(1):
        insert_together([[merchant], accounts, [note]])

    assert merchant.pk is not None and merchant._state.adding is False
    assert accounts[0].merchant_id == merchant.pk and accounts[0].merchant is merchant
    stored = BankAccount.objects.filter(merchant_id=merchant.pk).order_by("account_number")
    assert [a.pk for a in stored] == [a.pk for a in accounts]
    assert AuditLog.objects.get(pk=note.pk).target_id == str(merchant.pk)
    assert note.target_id == str(merchant.pk)


@postgresql_only
def test_a_refused_row_leaves_nothing_written():
    taken = MerchantFactory()
    BankAccountFactory(merchant=taken, is_default=True)
    merchant = MerchantFactory.build()
    first = BankAccountFactory.build(merchant=merchant, is_default=True)
    second = BankAccountFactory.build(merchant=merchant, is_default=True)  # two defaults: refused

    with pytest.raises(IntegrityError):
        insert_together([[merchant], [first, second]])

    assert Merchant.objects.count() == 1 and BankAccount.objects.count() == 1
    assert merchant.pk is None
    # The connection is usable: the statement was its own transaction.
    assert Merchant.objects.filter(pk=taken.pk).exists()


def test_the_models_written_without_save_have_no_save_signal_receivers():
    """insert_row, update_row and insert_together send no pre_save/post_save, select_rows builds
    rows with from_db: nothing listens, nothing overrides save()."""
    from django.db.models import signals

    from core.models import IdempotencyKey
    from market.models import Order, OrderLine
    from merchants.models import ApiKey, Merchant, Product
    from payments.models import BankNotification, LedgerEntry, PaymentIntent

    written = (AuditLog, BankNotification, LedgerEntry, PaymentIntent, Order, OrderLine)
    read = (IdempotencyKey, ApiKey, Merchant, Product)
    for model in written + read:
        for signal in (signals.pre_save, signals.post_save):
            assert not signal.has_listeners(model), (model, signal)
        assert "save" not in vars(model), f"{model.__name__} overrides save()"
        assert not signals.post_init.has_listeners(model), model


def test_rows_written_and_read_once_per_model_come_back_as_the_orm_reads_them():
    from django.utils import timezone

    from core.db import insert_row, select_rows, update_row, update_where_returning
    from payments.models import BankNotification

    merchant = MerchantFactory()
    now = timezone.now()
    row = BankNotification(
        provider_id="FT-1",
        payload={"tiền": 63_000, "ok": True},
        bank_bin="970436",
        account_number="0041000000001",
        transfer_type="in",
        amount=63_000,
        description="CK ABC",
        transaction_date=now,
    )
    insert_row(row)
    assert row.pk is not None and row.received_at is not None

    (read,) = select_rows(BankNotification, 'WHERE "payments_banknotification"."id" = %s', [row.pk])
    orm = BankNotification.objects.get(pk=row.pk)
    for field in BankNotification._meta.concrete_fields:
        assert getattr(read, field.attname) == getattr(orm, field.attname), field.name
    assert read.payload == {"tiền": 63_000, "ok": True} and read.transaction_date == now

    read.merchant_id, read.outcome, read.processed_at = merchant.pk, "settled", now
    update_row(read, ("outcome", "merchant", "processed_at"))
    orm.refresh_from_db()
    assert (orm.merchant_id, orm.outcome, orm.processed_at) == (merchant.pk, "settled", now)

    changed = update_where_returning(
        BankNotification, {"outcome": "walk_in"}, '"provider_id" = %s', ["FT-1"], ("id", "amount")
    )
    assert changed == [(row.pk, 63_000)]
    assert (
        update_where_returning(
            BankNotification, {"outcome": "x"}, '"provider_id" = %s', ["none"], ("id",)
        )
        == []
    )
