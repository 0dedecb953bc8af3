"""Which requests a process serves: its role (``settings.PROCESS_ROLE``, env
``CHOSO_PROCESS_ROLE``; deploy/gunicorn_web.py and deploy/gunicorn_live.py set it).

Production runs two gunicorns behind one proxy (Procfile, compose.yaml, deploy/Caddyfile):

* ``web``: pages, the JSON API and the webhooks, on sync workers, one request at a time each. A
  live stream (``/cua-hang/<id>/su-kien/``, the trader's screen) would hold a worker for as
  long as the screen stays open: four open screens stopped four workers, and with them the
  health check and the bank's webhook (issue 13). So the web role never streams. It answers the
  live path at once with an empty event stream whose ``retry`` tells the browser's EventSource
  to come back in a few seconds, and logs a warning, because the proxy is misrouted. The
  screen's ``onopen`` still runs and asks the API for the state it may have missed. It is not a
  503, because EventSource gives up for good on any status but 200.
* ``live``: the live streams only, on threads (gthread). A waiting stream holds one thread and
  one Redis subscription but no database connection. Any other path is 404, so a proxy that
  sends pages there fails loudly instead of quietly sharing the stream threads. The probes
  (``/healthz``, ``/readyz``, ``/api/v1/health``) answer in every role.
* ``all``: everything in one process. That is the embedded default (``bin/run``'s
  runserver, which gives every connection its own thread, so no number of screens can hold
  it), the tests and the benchmarks.
"""

from __future__ import annotations

import logging
import re
import threading
import time

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotFound

logger = logging.getLogger(__name__)

ROLES = ("all", "web", "live")

# The trader screens' event streams (payments/urls.py `live_events`). deploy/Caddyfile routes
# the same pattern to the live process; tests/integration/test_topology.py compares the two.
# One shop's stream (`/cua-hang/<id>/su-kien/`) or the trader-wide one (`/cua-hang/su-kien/`,
# `trader_events`: every page of a trader's).
LIVE_PATH = re.compile(r"^/cua-hang/(?:[0-9]+/)?su-kien/$")

# Answered in every role: the container probes (config/health.py) and the API's health check.
PROBE_PATHS = frozenset({"/healthz", "/readyz", "/api/v1/health"})

# The web role's answer on the live path: EventSource reconnects this many ms after it ends.
WEB_ROLE_RETRY_MS = 5000
WARN_EVERY_SECONDS = 60.0


def is_live_path(path: str) -> bool:
    return LIVE_PATH.match(path) is not None


class ProcessRoleMiddleware:
    """Keeps each process to its role (module docstring). First in the chain after the request
    id, so neither answer below touches the session or the database."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._lock = threading.Lock()
        self._warned_at = float("-inf")

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        role = settings.PROCESS_ROLE
        if role == "web" and is_live_path(request.path_info):
            return self._come_back_later(request)
        if role == "live" and not (
            is_live_path(request.path_info) or request.path_info in PROBE_PATHS
        ):
            return HttpResponseNotFound(
                "This process serves the live streams only; pages and the API are served by the "
                "web process.\n",
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)

    def _come_back_later(self, request: HttpRequest) -> HttpResponse:
        now = time.monotonic()
        with self._lock:
            warn = now - self._warned_at >= WARN_EVERY_SECONDS
            if warn:
                self._warned_at = now
        if warn:
            logger.warning(
                "live stream %s reached a web process: route /cua-hang/<id>/su-kien/ to the "
                "live process (deploy/Caddyfile); the screen was told to retry in %d ms",
                request.path_info,
                WEB_ROLE_RETRY_MS,
            )
        response = HttpResponse(
            f"retry: {WEB_ROLE_RETRY_MS}\n\n", content_type="text/event-stream; charset=utf-8"
        )
        response["Cache-Control"] = "no-store"
        return response
