"""gunicorn for the trader screens' live streams: the `live` process.

    gunicorn config.wsgi -c deploy/gunicorn_live.py    (Procfile, compose.yaml)

Each open screen holds one Server-Sent Events stream (`/cua-hang/<id>/su-kien/`, payments/views.py
`live_events`) for up to LIVE_STREAM_MAX_SECONDS. A stream waits on Redis pub/sub and holds a
thread but no database connection, so this process runs threads (gthread), many per worker. Its
role (`live`, core/roles.py) serves that path and the probes only; deploy/Caddyfile routes the
path here and everything else to `web`. No number of open screens can reach the web workers:
past LIVE_WORKERS × LIVE_THREADS, further screens wait here for a stream to end.

Environment: LIVE_BIND (default 0.0.0.0:8001), LIVE_WORKERS (default 2), LIVE_THREADS (streams
per worker, default 256).
"""

import os

raw_env = ["CHOSO_PROCESS_ROLE=live"]
bind = [os.environ.get("LIVE_BIND", "0.0.0.0:8001")]
worker_class = "gthread"
workers = int(os.environ.get("LIVE_WORKERS") or 2)
threads = int(os.environ.get("LIVE_THREADS") or 256)
# Connections a worker accepts: its streams plus a margin of probes and kept-alive sockets.
worker_connections = threads + 64
# The main loop of a gthread worker reports in whatever its threads do: a long stream is fine.
timeout = 30
# On stop or restart, open streams are cut after this long; every browser reconnects by itself.
graceful_timeout = 5
keepalive = 5
control_socket_disable = True
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"

# Load Django and every URL (views, the API) once in the master, then fork: workers start at
# once, share that memory, and the first request after a restart is not the slow one. Nothing
# may stay connected across the fork, so the master closes any database connection it opened.
preload_app = True


def when_ready(server):
    from django.db import connections
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  (imports every view)
    connections.close_all()
