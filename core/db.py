"""Small database helpers that save round trips on the hot paths (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from django.db import DatabaseError, models, transaction
from django.db.models.sql import UpdateQuery

M = TypeVar("M", bound=models.Model)


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


# --- statements written once per model, not compiled per call (issue 15) ----------------------
#
# Django compiles every queryset and every save() anew: 0.3–1 ms of CPU a statement on the
# settlement path, more than the database takes to run it. These helpers build the SQL text of
# a model's INSERT, UPDATE-by-primary-key and SELECT list once per (connection, model, fields)
# and only convert values per call, as Django's compiler would (``get_db_prep_save`` on the way
# in, the backend's and the field's converters on the way out). No signals are sent (the models
# these serve have no receivers; a test says so).


class _Table:
    def __init__(self, model: type[models.Model], connection: Any) -> None:
        from django.db.models.expressions import Col

        meta = model._meta
        self.model = model
        self.quote = connection.ops.quote_name
        self.name = self.quote(meta.db_table)
        self.fields = list(meta.concrete_fields)
        self.field_names = [f.attname for f in self.fields]
        self.select_list = ", ".join(f"{self.name}.{self.quote(f.column)}" for f in self.fields)
        self.converters: list[tuple[int, list[Any], Any]] = []
        for index, field in enumerate(self.fields):
            col = Col(meta.db_table, field)
            found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
            if found:
                self.converters.append((index, found, col))
        self.insert_fields = [f for f in self.fields if not (f.primary_key and f.auto_created)]
        columns = ", ".join(self.quote(f.column) for f in self.insert_fields)
        marks = ", ".join(["%s"] * len(self.insert_fields))
        self.insert_sql = (
            f"INSERT INTO {self.name} ({columns}) VALUES ({marks}) "  # noqa: S608 (names)
            f"RETURNING {self.quote(meta.pk.column)}"
        )
        self.update_sql: dict[tuple[str, ...], tuple[str, list[Any]]] = {}

    def instances(self, rows: list[tuple[Any, ...]], connection: Any) -> list[Any]:
        width = len(self.fields)
        made = []
        for row in rows:
            values = list(row[:width])
            for index, converters, col in self.converters:
                for converter in converters:
                    values[index] = converter(values[index], col, connection)
            obj = self.model.from_db(connection.alias, self.field_names, values)
            obj._extra = row[width:]  # type: ignore[attr-defined]
            made.append(obj)
        return made


_TABLES: dict[tuple[str, type[models.Model]], _Table] = {}


def table(model: type[models.Model], using: str | None = None) -> _Table:
    """The statements of ``model`` on this connection, built on first use."""
    connection = transaction.get_connection(using)
    key = (connection.alias, model)
    found = _TABLES.get(key)
    if found is None:
        found = _TABLES[key] = _Table(model, connection)
    return found


def select_rows(
    model: type[M],
    sql_after_select_list: str,
    params: Sequence[Any],
    *,
    extra: str = "",
    using: str | None = None,
) -> list[M]:
    """``SELECT <model's columns>[, extra] FROM <its table> <sql_after_select_list>`` as model
    instances; the values of ``extra`` columns are on each as ``_extra`` (a tuple). The table
    is the model's ``db_table`` unaliased: write conditions as ``"table"."column"``."""
    connection = transaction.get_connection(using)
    t = table(model, using)
    extra_sql = f", {extra}" if extra else ""
    sql = f"SELECT {t.select_list}{extra_sql} FROM {t.name} {sql_after_select_list}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return t.instances(rows, connection)


def insert_row(obj: models.Model, using: str | None = None) -> None:
    """``obj.save(force_insert=True)`` with the INSERT written once per model: sets the pk."""
    connection = transaction.get_connection(using)
    t = table(type(obj), using)
    params = [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in t.insert_fields]
    with connection.cursor() as cursor:
        cursor.execute(t.insert_sql, params)
        obj.pk = cursor.fetchone()[0]
    obj._state.adding = False
    obj._state.db = connection.alias


def update_row(obj: models.Model, fields: Sequence[str], using: str | None = None) -> None:
    """``obj.save(update_fields=fields)`` with the UPDATE written once per (model, fields);
    ``auto_now`` fields among them are set as save() sets them. Raises like save() if the row
    is gone."""
    connection = transaction.get_connection(using)
    t = table(type(obj), using)
    key = tuple(fields)
    built = t.update_sql.get(key)
    if built is None:
        meta = obj._meta
        chosen: list[Any] = [meta.get_field(name) for name in fields]
        sets = ", ".join(f"{t.quote(f.column)} = %s" for f in chosen)  # type: ignore[union-attr]
        where = f"{t.quote(meta.pk.column)} = %s"
        built = t.update_sql[key] = (f"UPDATE {t.name} SET {sets} WHERE {where}", chosen)  # noqa: S608
    sql, chosen = built
    params = [f.get_db_prep_save(f.pre_save(obj, add=False), connection) for f in chosen]
    params.append(obj.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != 1:
            raise DatabaseError("Save with update_fields did not affect any rows.")


_UPDATES: dict[tuple[Any, ...], tuple[str, list[Any]]] = {}


def update_where_returning(
    model: type[models.Model],
    values: dict[str, Any],
    where: str,
    where_params: Sequence[Any],
    returning: tuple[str, ...],
    using: str | None = None,
) -> list[tuple[Any, ...]]:
    """``UPDATE <table> SET <values> WHERE <where> RETURNING <returning>`` with the text built
    once per (model, value names, where, returning): ``update_returning`` without compiling a
    queryset per call. ``where`` is SQL on the model's own columns with ``%s`` for
    ``where_params`` (converted by the caller, e.g. plain strings and ints)."""
    connection = transaction.get_connection(using)
    key = (connection.alias, model, tuple(values), where, returning)
    built = _UPDATES.get(key)
    if built is None:
        meta = model._meta
        quote = connection.ops.quote_name
        chosen: list[Any] = [meta.get_field(name) for name in values]
        sets = ", ".join(f"{quote(f.column)} = %s" for f in chosen)  # type: ignore[union-attr]
        answer = ", ".join(quote(meta.get_field(n).column) for n in returning)  # type: ignore[union-attr]
        sql = f"UPDATE {quote(meta.db_table)} SET {sets} WHERE {where} RETURNING {answer}"  # noqa: S608
        built = _UPDATES[key] = (sql, chosen)
    sql, chosen = built
    params = [
        f.get_db_prep_save(v, connection) for f, v in zip(chosen, values.values(), strict=True)
    ]
    params.extend(where_params)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())
