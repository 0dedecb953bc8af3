"""gunicorn for pages, the JSON API and the webhooks: the `web` process.

    gunicorn config.wsgi -c deploy/gunicorn_web.py     (Procfile, compose.yaml, Dockerfile)

Sync workers: Django is fastest that way on these machines (README.md, "Production"). Each
worker serves one request at a time, so this process never holds a live stream: its role
(`web`, core/roles.py) answers the trader screens' path at once, and deploy/Caddyfile sends
that path to the `live` process (deploy/gunicorn_live.py).

Environment: WEB_BIND (default 0.0.0.0:8000), WEB_CONCURRENCY (workers, default 2 × cores),
GUNICORN_ACCESS_LOG (a path or "-" for stdout; default none, the proxy logs every request).
"""

import os

raw_env = ["CHOSO_PROCESS_ROLE=web"]
bind = [os.environ.get("WEB_BIND", "0.0.0.0:8000")]
worker_class = "sync"
threads = 1  # more than 1 would silently turn the workers into gthread
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1))
# A request that takes longer than this is a bug or a stuck call: its worker is restarted.
timeout = 30
graceful_timeout = 30
# Recycle workers now and then (slow leaks in any library), not all at once.
max_requests = 2000
max_requests_jitter = 200
# gunicorn's runtime control socket is one path per user: two gunicorns on one host (web and
# live from the Procfile) would fight over it, and nothing here uses it.
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
