"""Celery beat's heartbeat: proof that scheduled work (intent expiry, reconciliation, e-invoice
transmission) is running.

Beat sends ``core.beat_heartbeat`` every 30 s (config/celery.py); the worker that runs it writes
the time to the cache (Redis in production, shared by every process). ``/readyz`` (config/health.py)
reads it and calls a heartbeat older than 3 minutes stale.
"""

from __future__ import annotations

import time

from django.core.cache import cache

HEARTBEAT_KEY = "choso:beat-heartbeat"
HEARTBEAT_INTERVAL_SECONDS = 30
HEARTBEAT_STALE_SECONDS = 3 * 60


def beat_heartbeat_record(*, now: float | None = None) -> int:
    """Write the heartbeat (unix seconds) to the cache."""
    stamp = int(time.time() if now is None else now)
    cache.set(HEARTBEAT_KEY, stamp, timeout=24 * 60 * 60)
    return stamp


def beat_heartbeat_age(*, now: float | None = None) -> int | None:
    """Seconds since the last heartbeat; None when there is none."""
    stamp = cache.get(HEARTBEAT_KEY)
    if not isinstance(stamp, int):
        return None
    return int((time.time() if now is None else now) - stamp)
