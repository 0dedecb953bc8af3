"""The Celery app. Without REDIS_URL, tasks run eagerly in-process (see settings)."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("choso")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "expire-payment-intents": {"task": "payments.expire_intents", "schedule": 60.0},
    "reconcile-bank-transactions": {"task": "payments.reconcile", "schedule": 300.0},
    "reconcile-ewallet-payments": {"task": "payments.reconcile_ewallet", "schedule": 120.0},
    "reconcile-bank-alerts": {"task": "payments.reconcile_bank_alerts", "schedule": 300.0},
    # Sales that never got a QR (canceled after 30 min), paid sales still without their e-invoice
    # (the net under the batch task queued per burst of payments, market/sales/invoicing.py).
    "sync-orders": {"task": "market.sync_orders", "schedule": 60.0},
    # Do yesterday's books agree with the money (market/figures/books.py)? A difference
    # alerts staff.
    "books-check-nightly": {
        "task": "market.books_check_nightly",
        "schedule": crontab(hour=2, minute=30),  # Asia/Ho_Chi_Minh (CELERY_TIMEZONE)
    },
    # One-time SMS codes and unconfirmed registrations on behalf, a day after they expired.
    "sweep-verification-codes": {"task": "merchants.sweep_verification_codes", "schedule": 3600.0},
    # Idempotency-Keys older than IDEMPOTENCY_TTL_HOURS (core/idempotency.py).
    "expire-idempotency-keys": {"task": "core.expire_idempotency_keys", "schedule": 3600.0},
    # Beat is alive and a worker runs its tasks: /readyz says stale after 3 minutes
    # (core/heartbeat.py). A heartbeat nobody ran within its interval is dropped, not queued.
    "beat-heartbeat": {"task": "core.beat_heartbeat", "schedule": 30.0, "options": {"expires": 30}},
    # E-invoice transmission (einvoice/tasks.py): retries are scheduled by next_attempt_at and
    # picked up here; answers are polled; cash-register invoices go in a nightly batch.
    "einvoice-transmit-due": {"task": "einvoice.transmit_due", "schedule": 30.0},
    "einvoice-poll-answers": {"task": "einvoice.poll_answers", "schedule": 30.0},
    "einvoice-cash-register-batch": {
        "task": "einvoice.cash_register_batch",
        "schedule": crontab(hour=0, minute=15),  # Asia/Ho_Chi_Minh (CELERY_TIMEZONE)
    },
}
