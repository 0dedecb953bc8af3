"""/healthz (alive, touches nothing) and /readyz (database, Redis, beat heartbeat; the tax
gateway as a warning only), and the beat task that keeps the heartbeat fresh."""

from __future__ import annotations

import os
import time

import pytest
from django.db import OperationalError

from config import health
from config.celery import app as celery_app
from core.heartbeat import HEARTBEAT_STALE_SECONDS, beat_heartbeat_age, beat_heartbeat_record
from sandboxes.taxgateway import TaxGatewaySandbox


@pytest.fixture(autouse=True)
def _forget_the_gateway():
    health._gateway_seen.clear()
    yield
    health._gateway_seen.clear()


@pytest.fixture
def with_redis(settings, monkeypatch):
    """REDIS_URL set, Redis answering (a real server is tried in the redis-marked test)."""
    settings.REDIS_URL = "redis://redis.invalid:6379/0"
    monkeypatch.setattr(health, "_redis", lambda url: {"ok": True})


# --- /healthz ---------------------------------------------------------------------------------


def test_it_says_it_is_alive_without_touching_the_database(client) -> None:
    # No django_db mark: any query would fail the test.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


def test_it_answers_the_probes_on_any_host_but_no_other_page(client, settings) -> None:
    settings.ALLOWED_HOSTS = ["choso.example.vn"]

    assert client.get("/healthz", HTTP_HOST="10.0.3.7:8000").status_code == 200
    assert client.get("/api/v1/docs", HTTP_HOST="10.0.3.7:8000").status_code == 400


def test_it_answers_the_probes_over_plain_http_behind_an_ssl_redirect(client, settings) -> None:
    settings.SECURE_SSL_REDIRECT = True

    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/docs").status_code == 301


def test_it_keeps_the_api_health_endpoint(client, db) -> None:
    assert client.get("/api/v1/health").json() == {"ok": True, "database": True}


# --- /readyz ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_is_ready_with_the_database_and_only_warns_about_the_tax_gateway(
    client, settings
) -> None:
    settings.REDIS_URL = ""  # the embedded default
    # tests/conftest.py points TAXGATEWAY_URL at a closed port.
    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["taxgateway"] == {
        "ok": False,
        "error": "GatewayUnavailable",
        "required": False,
    }
    assert body["warnings"] == ["taxgateway"]
    assert "redis" not in body["checks"] and "beat" not in body["checks"]  # no REDIS_URL


@pytest.mark.django_db
def test_it_reaches_the_tax_gateway_when_it_is_up(client, settings) -> None:
    with TaxGatewaySandbox(["k"], answer_delay=0) as gateway:
        settings.TAXGATEWAY_URL = gateway.url
        settings.TAXGATEWAY_API_KEY = "k"

        body = client.get("/readyz").json()

    assert body["checks"]["taxgateway"] == {"ok": True, "required": False}
    assert body["warnings"] == []


@pytest.mark.django_db
def test_it_asks_the_tax_gateway_at_most_every_30_seconds(client, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(
        "einvoice.gateway.TaxGatewayClient.ping", lambda self, timeout: calls.append(timeout)
    )

    for _ in range(5):
        client.get("/readyz")

    assert calls == [health.GATEWAY_TIMEOUT_SECONDS]


@pytest.mark.django_db
def test_it_is_not_ready_without_the_database(client, monkeypatch) -> None:
    from django.db import connections

    def broken():
        raise OperationalError("could not connect to server: db.internal (10.0.0.5)")

    monkeypatch.setattr(connections["default"], "cursor", broken)

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    # The class only: a driver's message may carry a host name.
    assert body["checks"]["database"] == {"ok": False, "error": "OperationalError"}
    assert "10.0.0.5" not in response.content.decode()


@pytest.mark.django_db
def test_it_is_ready_with_a_fresh_beat_heartbeat(client, with_redis) -> None:
    beat_heartbeat_record(now=time.time() - 40)

    response = client.get("/readyz")

    assert response.status_code == 200
    beat = response.json()["checks"]["beat"]
    assert beat["ok"] is True and 40 <= beat["age_seconds"] <= 45


@pytest.mark.django_db
def test_it_says_the_heartbeat_is_stale_after_3_minutes(client, with_redis) -> None:
    beat_heartbeat_record(now=time.time() - HEARTBEAT_STALE_SECONDS - 5)

    response = client.get("/readyz")

    assert response.status_code == 503
    beat = response.json()["checks"]["beat"]
    assert beat["ok"] is False and beat["error"] == "stale heartbeat"
    assert beat["age_seconds"] > HEARTBEAT_STALE_SECONDS


@pytest.mark.django_db
def test_it_is_not_ready_when_beat_never_ran(client, with_redis) -> None:
    response = client.get("/readyz")

    assert response.status_code == 503
    assert "no heartbeat" in response.json()["checks"]["beat"]["error"]


@pytest.mark.django_db
def test_it_is_not_ready_when_redis_does_not_answer(client, settings) -> None:
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    beat_heartbeat_record()

    started = time.monotonic()
    response = client.get("/readyz")

    assert time.monotonic() - started < 5
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["redis"] == {"ok": False, "error": "ConnectionError"}
    assert checks["beat"]["ok"] is False


@pytest.mark.redis
@pytest.mark.django_db
def test_it_reads_the_heartbeat_from_a_real_redis(client, settings) -> None:
    settings.REDIS_URL = os.environ["REDIS_URL"]
    beat_heartbeat_record()

    body = client.get("/readyz").json()

    assert body["checks"]["redis"] == {"ok": True}
    assert body["checks"]["beat"]["ok"] is True


# --- the heartbeat task -----------------------------------------------------------------------


def test_beat_sends_the_heartbeat_every_30_seconds() -> None:
    entry = celery_app.conf.beat_schedule["beat-heartbeat"]

    assert entry["task"] == "core.beat_heartbeat"
    assert entry["schedule"] == 30.0


def test_the_heartbeat_task_writes_the_time_to_the_cache() -> None:
    from core.tasks import beat_heartbeat

    assert beat_heartbeat_age() is None

    beat_heartbeat.delay()

    assert beat_heartbeat_age() in (0, 1)
