"""Small database helpers that save round trips on the hot paths (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator
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
