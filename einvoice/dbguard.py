"""The one sanctioned way past the SQLite delete triggers: emptying the whole database.

On SQLite the triggers of migration 0003 refuse every DELETE of an invoice, a line or an event
unless ``einvoice_flushing()`` answers 1. That SQL function is registered on each of Django's
SQLite connections and answers 1 only inside :func:`flushing`, which ``manage.py flush`` (this
app's override, also used by the test runner between transactional tests) wraps around its
work. This mirrors PostgreSQL, where flush is a TRUNCATE that row triggers do not see. Anyone
else (the ORM, raw SQL, the sqlite3 shell, where the function does not even exist) is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

FUNCTION = "einvoice_flushing"
_FLAG = "_einvoice_flushing"


def register(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Receiver of ``connection_created``: give a SQLite connection the SQL function."""
    if connection.vendor != "sqlite":
        return

    def flushing() -> int:
        return 1 if getattr(connection, _FLAG, False) else 0

    connection.connection.create_function(FUNCTION, 0, flushing)


@contextmanager
def flushing(connection: Any) -> Iterator[None]:
    """Let this connection delete invoices, lines and events while the block runs."""
    setattr(connection, _FLAG, True)
    try:
        yield
    finally:
        setattr(connection, _FLAG, False)
