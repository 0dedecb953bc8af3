"""The management commands that span apps live in config (the top layer), under the names bin/run,
the README and compose.yaml use."""

from __future__ import annotations

import pytest
from django.core.management import get_commands


@pytest.mark.parametrize("name", ["demo", "periodic"])
def test_it_finds_the_cross_app_commands_in_config(name: str) -> None:
    assert get_commands()[name] == "config"


def test_it_keeps_every_app_command_where_it_was() -> None:
    commands = get_commands()
    assert commands["books_check"] == "market"
    assert commands["vietqr"] == "payments"
    assert commands["einvoice"] == "einvoice"
