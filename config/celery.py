"""The Celery app. Without REDIS_URL, tasks run eagerly in-process (see settings)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("choso")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "expire-payment-intents": {"task": "payments.expire_intents", "schedule": 60.0},
    "reconcile-bank-transactions": {"task": "payments.reconcile", "schedule": 300.0},
    "reconcile-ewallet-payments": {"task": "payments.reconcile_ewallet", "schedule": 120.0},
}
