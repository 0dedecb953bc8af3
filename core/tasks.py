"""Thin Celery tasks: they call services. Scheduled by celery beat (see config/celery.py)."""

from celery import shared_task

from .idempotency import idempotency_keys_expire


@shared_task(name="core.expire_idempotency_keys")
def expire_idempotency_keys() -> int:
    return idempotency_keys_expire()
