"""``manage.py periodic``: the Celery beat schedule run in this process, for the embedded default
(no Redis, no beat, no worker). Each entry of ``config.celery.app.conf.beat_schedule`` runs
synchronously when due; a failing task is logged and tried again at its next turn."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone

log = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Run the periodic jobs (intent expiry, reconciliation, order sync, e-invoice "
    "transmission) in this process, for a setup without Celery beat."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="run every job once and stop")
        parser.add_argument("--tick", type=float, default=5.0, help="seconds between checks")

    def handle(self, *args, **options) -> None:
        from config.celery import app

        app.loader.import_default_modules()  # the apps' tasks modules (autodiscovery is lazy)
        schedule = app.conf.beat_schedule
        tasks = {name: app.tasks[entry["task"]] for name, entry in schedule.items()}
        last: dict[str, datetime] = {}
        while True:
            close_old_connections()
            for name, entry in schedule.items():
                due = name not in last or options["once"]
                if not due:
                    every = entry["schedule"]
                    if isinstance(every, int | float):
                        due = (timezone.now() - last[name]).total_seconds() >= every
                    else:  # a crontab
                        due = every.is_due(last[name]).is_due
                if not due:
                    continue
                last[name] = timezone.now()
                try:
                    tasks[name].apply(args=entry.get("args", ())).get(propagate=True)
                except Exception as exc:  # e.g. a sandbox not started yet: said in one line
                    log.warning(
                        "periodic job %s failed (%r); it runs again at its next turn", name, exc
                    )
            if options["once"]:
                return
            time.sleep(options["tick"])
