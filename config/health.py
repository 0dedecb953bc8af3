"""Health probes for load balancers and monitoring.

* ``GET /healthz`` (liveness): the process answers; touches nothing else, so a database outage
  does not get every web process restarted.
* ``GET /readyz`` (readiness): the database answers; with REDIS_URL set, Redis answers and the
  Celery beat heartbeat is fresh (core/heartbeat.py: older than 3 minutes means intent expiry,
  reconciliation and e-invoice transmission have stopped). Without REDIS_URL (the embedded
  default) there is no shared cache to read a heartbeat from, so beat is not checked. 200 when
  all hold, 503 otherwise. The tax gateway is asked too, with a short timeout, but only as a
  warning: invoices wait for it and are sent later, so sales go on.

The bodies name what failed by an exception's class only: the probes are public, and a driver's
message may carry a host name or a user.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from core.heartbeat import HEARTBEAT_STALE_SECONDS, beat_heartbeat_age
from einvoice.gateway import gateway_client

REDIS_TIMEOUT_SECONDS = 1.0
GATEWAY_TIMEOUT_SECONDS = 2.0
# The gateway is asked at most this often per process, so probes (or anyone: /readyz is public)
# cannot turn into a stream of requests to the tax authority.
GATEWAY_RECHECK_SECONDS = 30.0


@require_safe
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@require_safe
@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, dict[str, Any]] = {"database": _database()}
    if settings.REDIS_URL:
        checks["redis"] = _redis(settings.REDIS_URL)
        checks["beat"] = (
            _beat()
            if checks["redis"]["ok"]
            else {"ok": False, "error": "redis unavailable, heartbeat unknown"}
        )
    checks["taxgateway"] = {**_taxgateway(), "required": False}
    ready = all(c["ok"] for c in checks.values() if c.get("required", True))
    warnings = [name for name, c in checks.items() if not c["ok"] and not c.get("required", True)]
    return JsonResponse(
        {"status": "ok" if ready else "fail", "checks": checks, "warnings": warnings},
        status=200 if ready else 503,
    )


def _database() -> dict[str, Any]:
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


def _redis(url: str) -> dict[str, Any]:
    import redis

    client = redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS, socket_timeout=REDIS_TIMEOUT_SECONDS
    )
    try:
        client.ping()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    finally:
        client.close()
    return {"ok": True}


def _beat() -> dict[str, Any]:
    try:
        age = beat_heartbeat_age()
    except Exception as exc:
        return {"ok": False, "error": type(exc).__name__}
    if age is None:
        return {"ok": False, "error": "no heartbeat: are celery beat and a worker running?"}
    if age > HEARTBEAT_STALE_SECONDS:
        return {"ok": False, "age_seconds": age, "error": "stale heartbeat"}
    return {"ok": True, "age_seconds": age}


_gateway_lock = threading.Lock()
_gateway_seen: dict[str, tuple[float, dict[str, Any]]] = {}  # url -> (monotonic time, result)


def _taxgateway() -> dict[str, Any]:
    url = str(settings.TAXGATEWAY_URL)
    with _gateway_lock:
        seen = _gateway_seen.get(url)
        if seen and time.monotonic() - seen[0] < GATEWAY_RECHECK_SECONDS:
            return seen[1]
    try:
        gateway_client().ping(timeout=GATEWAY_TIMEOUT_SECONDS)
    except Exception as exc:
        result: dict[str, Any] = {"ok": False, "error": type(exc).__name__}
    else:
        result = {"ok": True}
    with _gateway_lock:
        _gateway_seen[url] = (time.monotonic(), result)
    return result
