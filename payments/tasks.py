"""Thin Celery tasks: they call services. Scheduled by celery beat (see config/celery.py)."""

from celery import shared_task

from .reconcile import reconcile_bank_alerts, reconcile_bank_transactions
from .services import intents_expire_due


@shared_task(name="payments.expire_intents")
def expire_intents() -> int:
    return intents_expire_due()


@shared_task(
    name="payments.reconcile",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def reconcile() -> dict[str, int]:
    return reconcile_bank_transactions()


@shared_task(
    name="payments.reconcile_ewallet",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def reconcile_ewallet() -> dict[str, int]:
    from .ewallet import ewallet_reconcile
    from .momo import momo_reconcile

    result = ewallet_reconcile()
    momo = momo_reconcile()  # MoMo orders (payments/momo.py), asked through its query API
    return {**result, "momo_checked": momo["checked"], "momo_settled": momo["settled"]}


@shared_task(
    name="payments.reconcile_bank_alerts",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def reconcile_alerts() -> dict[str, int]:
    """Traders' own bank-alert accounts (SePay): their transaction lists."""
    return reconcile_bank_alerts()
