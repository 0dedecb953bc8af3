"""``manage.py flush`` that may empty the e-invoice tables on SQLite too (see einvoice.dbguard)."""

from __future__ import annotations

from typing import Any

from django.core.management.commands.flush import Command as FlushCommand
from django.db import DEFAULT_DB_ALIAS, connections

from einvoice.dbguard import flushing


class Command(FlushCommand):
    def handle(self, **options: Any) -> None:
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        with flushing(connection):
            super().handle(**options)
