"""Every request has an id (the caller's X-Request-ID when well-formed), echoed in the response
and carried by every log line written for it."""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from pythonjsonlogger.json import JsonFormatter

from core.logs import NO_REQUEST, RequestIdFilter, current_request_id, request_id_from

HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
def json_lines():
    """Records reaching the root logger, written as the production handler writes them."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s %(request_id)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)


@pytest.mark.parametrize(
    "given",
    ["0f8fad5b-d9cb-469f-a165-70867728950e", "4f1a2b3c4d5e6f708192a3b4c5d6e7f8", "lb.7:abc_DEF-1"],
)
def test_it_echoes_a_well_formed_request_id(client, given) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": given})

    assert response["X-Request-ID"] == given


@pytest.mark.parametrize(
    "given",
    ["", "has space", "a" * 129, 'quote"d', "line\nbreak", "-starts-with-dash", "ý-tưởng"],
)
def test_it_replaces_a_malformed_request_id(given) -> None:
    assert HEX32.fullmatch(request_id_from(given))


def test_it_gives_each_request_a_new_id_when_none_is_sent(client) -> None:
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]

    assert HEX32.fullmatch(first) and HEX32.fullmatch(second) and first != second


@pytest.mark.django_db
def test_it_puts_the_request_id_on_every_log_line_of_the_request(
    client, settings, json_lines
) -> None:
    settings.BANKNOTIFY_WEBHOOK_SECRET = ""  # the view logs an error, then Django a 401 line

    response = client.post(
        "/api/v1/payments/webhooks/banknotify",
        b"{}",
        content_type="application/json",
        headers={"X-Request-ID": "req-123", "X-Banknotify-Signature": "t=1,v1=00"},
    )
    logging.getLogger("choso.after").warning("after the response")

    assert response.status_code == 401 and response["X-Request-ID"] == "req-123"
    lines = json_lines()
    by_logger = {line["name"]: line for line in lines}
    assert by_logger["payments.providers.banknotify"]["request_id"] == "req-123"
    assert by_logger["django.request"]["request_id"] == "req-123"  # written after the middleware
    assert by_logger["choso.after"]["request_id"] == NO_REQUEST
    assert current_request_id() == NO_REQUEST


def test_it_adds_the_request_id_to_the_console_handler_of_the_settings() -> None:
    from django.conf import settings

    console = settings.LOGGING["handlers"]["console"]
    assert console["filters"] == ["request_id"]
    assert settings.LOGGING["filters"]["request_id"]["()"] == "core.logs.RequestIdFilter"
    assert "%(request_id)s" in settings.LOGGING["formatters"][console["formatter"]]["format"]
    assert "%(request_id)s" in settings.LOGGING["formatters"]["json"]["fmt"]
