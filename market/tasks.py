"""Thin Celery tasks for markets: they take ids and call services."""

from celery import shared_task

from .services import standee_job_run


@shared_task(name="market.build_market_standees")
def build_market_standees(job_id: int) -> str:
    """Build the standee PDF of a StandeeJob. No retries: a render error is not transient, so
    the job ends ``failed`` with the error and staff start a new one."""
    return standee_job_run(job_id=job_id).status
