"""Thin Celery tasks: they call services. Scheduled by celery beat (see config/celery.py)."""

from celery import shared_task

from .heartbeat import beat_heartbeat_record
from .idempotency import idempotency_keys_expire


@shared_task(name="core.expire_idempotency_keys")
def expire_idempotency_keys() -> int:
    return idempotency_keys_expire()


@shared_task(name="core.beat_heartbeat", ignore_result=True)
def beat_heartbeat() -> int:
    """Beat → worker → cache: /readyz says the schedule has stopped when this goes stale."""
    return beat_heartbeat_record()
