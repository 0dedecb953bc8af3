"""Row locks in one fixed order, only inside a transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import connection, models

M = TypeVar("M", bound=models.Model)


class LockOutsideTransaction(RuntimeError):
    pass


def lock_rows(model: type[M], pks: Iterable[int]) -> list[M]:
    """Lock the rows with these primary keys (SELECT ... FOR UPDATE) in primary-key order.

    Locking always in the same order means two transactions that lock overlapping sets never
    deadlock. Refuses to run outside a transaction, where the lock would be released at once.
    """
    if not connection.in_atomic_block:
        raise LockOutsideTransaction("lock_rows() must run inside transaction.atomic()")
    ordered = sorted(set(pks))
    return list(model._default_manager.select_for_update().filter(pk__in=ordered).order_by("pk"))


def lock_row(model: type[M], pk: int) -> M:
    rows = lock_rows(model, [pk])
    if not rows:
        raise model.DoesNotExist(f"{model.__name__} {pk} does not exist")  # type: ignore[attr-defined]
    return rows[0]


def lock_where(model: type[M], condition: models.Q) -> list[M]:
    """Lock the rows matching ``condition`` in primary-key order, in one statement.

    Same order as ``lock_rows`` (PostgreSQL locks the rows as the sorted scan returns them), for
    a set known by a condition rather than by ids: no read of the ids first.
    """
    if not connection.in_atomic_block:
        raise LockOutsideTransaction("lock_where() must run inside transaction.atomic()")
    return list(model._default_manager.select_for_update().filter(condition).order_by("pk"))


def lock_sql(model: type[M], where: str, params: list[Any], *, extra: str = "") -> list[M]:
    """``lock_where`` with the condition written in SQL (``core.db.select_rows``: no queryset
    compiled per call, for the hot paths): the rows of ``WHERE where`` locked in primary-key
    order, in one statement; ``extra`` columns as ``select_rows`` reads them. SQLite has no row
    locks (its write transaction is the lock)."""
    from .db import select_rows, table

    if not connection.in_atomic_block:
        raise LockOutsideTransaction("lock_sql() must run inside transaction.atomic()")
    t = table(model)
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    pk = f"{t.name}.{t.quote(model._meta.pk.column)}"
    return select_rows(model, f"WHERE {where} ORDER BY {pk}{lock}", params, extra=extra)
