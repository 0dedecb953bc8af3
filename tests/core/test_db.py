"""core.db.insert_together: several tables' rows in one atomic statement (PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection

from core.db import PkOf, can_insert_together, insert_together
from core.models import AuditLog
from merchants.models import BankAccount, Merchant
from tests.factories import BankAccountFactory, MerchantFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="data-modifying WITH is PostgreSQL's"
    ),
]


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
