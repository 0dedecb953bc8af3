"""`lock_rows`: SELECT ... FOR UPDATE in primary-key order, and only inside a transaction."""

from __future__ import annotations

import threading

import pytest
from django.db import DatabaseError, connection, connections, transaction

from core.locking import LockOutsideTransaction, lock_row, lock_rows
from merchants.models import Merchant
from tests.factories import MerchantFactory


@pytest.mark.django_db(transaction=True)
def test_it_refuses_to_lock_outside_a_transaction():
    merchant = MerchantFactory()
    assert not connection.in_atomic_block

    with pytest.raises(LockOutsideTransaction):
        lock_rows(Merchant, [merchant.pk])
    with pytest.raises(LockOutsideTransaction):
        lock_row(Merchant, merchant.pk)


@pytest.mark.django_db
def test_it_returns_the_rows_in_primary_key_order():
    a, b, c = MerchantFactory(), MerchantFactory(), MerchantFactory()

    with transaction.atomic():
        rows = lock_rows(Merchant, [c.pk, a.pk, b.pk, c.pk])

    assert [row.pk for row in rows] == sorted([a.pk, b.pk, c.pk])


@pytest.mark.django_db
def test_it_skips_missing_rows_but_lock_row_raises_for_one():
    merchant = MerchantFactory()

    with transaction.atomic():
        assert [m.pk for m in lock_rows(Merchant, [merchant.pk, 999_999])] == [merchant.pk]
        assert lock_row(Merchant, merchant.pk) == merchant
        with pytest.raises(Merchant.DoesNotExist):
            lock_row(Merchant, 999_999)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_really_holds_the_lock_until_the_transaction_ends():
    merchant = MerchantFactory()
    outcome: dict[str, object] = {}

    def other_connection_tries_to_lock():
        try:
            with transaction.atomic():
                Merchant.objects.select_for_update(nowait=True).get(pk=merchant.pk)
            outcome["locked"] = True
        except DatabaseError:
            outcome["locked"] = False
        finally:
            connections.close_all()

    with transaction.atomic():
        lock_rows(Merchant, [merchant.pk])
        worker = threading.Thread(target=other_connection_tries_to_lock)
        worker.start()
        worker.join(timeout=30)

    assert outcome == {"locked": False}

    after = threading.Thread(target=other_connection_tries_to_lock)
    after.start()
    after.join(timeout=30)
    assert outcome == {"locked": True}
