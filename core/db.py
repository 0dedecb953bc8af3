"""Small database helpers that save round trips on the hot paths (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import models, transaction
from django.db.models.sql import UpdateQuery


@contextmanager
def one_statement(using: str | None = None) -> Iterator[None]:
    """Around one INSERT that may break a unique constraint (a key, a provider's id).

    Outside a transaction the statement is a transaction of its own (autocommit): no BEGIN and
    COMMIT round trips, and a refused INSERT leaves the connection usable. Inside one, a
    savepoint keeps the outer transaction usable after the IntegrityError, as ``atomic`` does.
    """
    if transaction.get_connection(using).in_atomic_block:
        with transaction.atomic(using=using):
            yield
    else:
        yield


def update_returning(
    queryset: models.QuerySet[Any], returning: tuple[str, ...], **values: Any
) -> list[tuple[Any, ...]]:
    """``queryset.update(**values)`` that also answers ``returning`` of each row it changed, in
    one statement (``UPDATE … RETURNING``, PostgreSQL and SQLite ≥ 3.35): a conditional update
    and the read of what it changed, without a second round trip.

    For plain filters on the model's own table (no joins, no multi-table inheritance); the
    statement is Django's own update, with the RETURNING clause added.
    """
    model = queryset.model
    query = queryset.query.chain(UpdateQuery)
    assert isinstance(query, UpdateQuery)
    query.add_update_values(values)
    connection = transaction.get_connection(queryset.db)
    compiler = query.get_compiler(connection=connection)
    sql, params = compiler.as_sql()
    if not sql:
        return []
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in returning)
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {columns}", params)
        return list(cursor.fetchall())


class PkOf:
    """A column value that is the primary key of a row inserted earlier in the same
    ``insert_together`` statement (as text when ``text``: e.g. an audit row's ``target_id``)."""

    def __init__(self, obj: models.Model, *, text: bool = False) -> None:
        self.obj = obj
        self.text = text


def can_insert_together(using: str | None = None) -> bool:
    """``insert_together`` makes one statement of a transaction's inserts on PostgreSQL (data-
    modifying ``WITH``), outside any transaction of the caller's (the statement is atomic on its
    own). SQLite has no data-modifying ``WITH``: the caller keeps its transaction there."""
    connection = transaction.get_connection(using)
    return connection.vendor == "postgresql" and not connection.in_atomic_block


def insert_together(groups: Sequence[Sequence[models.Model]], using: str | None = None) -> None:
    """INSERT the rows of several tables in one statement, atomic by itself: on PostgreSQL,
    ``WITH s0 AS (INSERT … RETURNING id), s1 AS (INSERT …), … SELECT …``. No BEGIN and COMMIT
    round trips, and one statement instead of one per table.

    ``groups`` are lists of unsaved instances of one model each, inserted in that order. A row
    may refer to a row of an earlier group that is that group's only row: through a foreign key
    set to the instance (``order.intent = intent``), or through a ``PkOf`` value. The primary
    keys come back and are set on every instance (as ``bulk_create`` does, in the order given).
    No signals are sent (as ``bulk_create``). A broken constraint raises IntegrityError and
    nothing is written.
    """
    connection = transaction.get_connection(using)
    assert can_insert_together(using), "PostgreSQL, outside a transaction"
    quote = connection.ops.quote_name
    single: dict[int, int] = {}  # id(instance) -> group index, for one-row groups
    ctes: list[str] = []
    params: list[Any] = []
    for index, group in enumerate(groups):
        assert group, "no empty group"
        meta = group[0]._meta
        fields = [f for f in meta.concrete_fields if not (f.primary_key and f.auto_created)]
        fields = [f for f in fields if not getattr(f, "generated", False)]
        rows = []
        for obj in group:
            assert obj._meta.model is meta.model and obj.pk is None
            values = []
            for field in fields:
                ref: PkOf | None = None
                if field.is_relation and field.many_to_one:
                    target = field.get_cached_value(obj, None)  # type: ignore[attr-defined]
                    if target is not None and target.pk is None and id(target) in single:
                        ref = PkOf(target)
                if ref is None:
                    raw = getattr(obj, field.attname)
                    if isinstance(raw, PkOf):
                        ref = raw
                if ref is not None:
                    source = single[id(ref.obj)]
                    cast = "::text" if ref.text else ""
                    values.append(f"(SELECT id{cast} FROM s{source})")  # noqa: S608 (names, not data)
                    continue
                value = field.get_db_prep_save(field.pre_save(obj, add=True), connection)
                values.append("%s")
                params.append(value)
            rows.append("(" + ", ".join(values) + ")")
        columns = ", ".join(quote(f.column) for f in fields)
        pk = quote(meta.pk.column)
        ctes.append(
            f"s{index} AS (INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "  # noqa: S608
            f"{', '.join(rows)} RETURNING {pk} AS id)"
        )
        if len(group) == 1:
            single[id(group[0])] = index
    answer = " UNION ALL ".join(
        f"(SELECT {i}, id FROM s{i})"  # noqa: S608 (numbers)
        for i in range(len(groups))
    )
    sql = f"WITH {', '.join(ctes)} {answer}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    pks: dict[int, list[Any]] = {}
    for index, pk_value in found:
        pks.setdefault(index, []).append(pk_value)
    for index, group in enumerate(groups):
        assert len(pks.get(index, [])) == len(group)
        for obj, pk_value in zip(group, pks[index], strict=True):
            obj.pk = pk_value
            obj._state.adding = False
            obj._state.db = connection.alias
    # Foreign keys set to instances that had no pk yet: their ids now.
    for group in groups:
        for obj in group:
            for field in obj._meta.concrete_fields:
                if field.is_relation and field.many_to_one:
                    target = field.get_cached_value(obj, None)  # type: ignore[attr-defined]
                    if target is not None and getattr(obj, field.attname) is None:
                        # Not setattr: that would drop the related instance cached on obj.
                        obj.__dict__[field.attname] = target.pk
                elif isinstance(getattr(obj, field.attname), PkOf):
                    ref = getattr(obj, field.attname)
                    setattr(obj, field.attname, str(ref.obj.pk) if ref.text else ref.obj.pk)
