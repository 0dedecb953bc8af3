"""Thin Celery tasks for merchants: they call services."""

from celery import shared_task

from .verification import verification_codes_sweep


@shared_task(name="merchants.sweep_verification_codes", ignore_result=True)
def sweep_verification_codes() -> int:
    return verification_codes_sweep()
