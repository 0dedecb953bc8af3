"""Thin Celery tasks for markets: they take ids and call services."""

from celery import shared_task

from .services import standee_job_run


@shared_task(name="market.build_market_standees")
def build_market_standees(job_id: int) -> str:
    """Build the standee PDF of a StandeeJob. No retries: a render error is not transient, so
    the job ends ``failed`` with the error and staff start a new one."""
    return standee_job_run(job_id=job_id).status


@shared_task(name="market.issue_order_invoice")
def issue_order_invoice(order_id: int, requested: bool = False) -> int | None:
    from .invoicing import order_invoice_issue, safely

    invoice = safely(order_invoice_issue, order_id=order_id, requested=requested)
    return invoice.pk if invoice else None


@shared_task(name="market.adjust_invoice_for_refund")
def adjust_invoice_for_refund(refund_id: int) -> int | None:
    from .invoicing import refund_invoice_adjust, safely

    invoice = safely(refund_invoice_adjust, refund_id=refund_id)
    return invoice.pk if invoice else None


@shared_task(name="market.sync_orders")
def sync_orders() -> dict[str, int]:
    """The safety net: sales that never got a QR (canceled after a while); invoices not yet
    issued. (Orders need no syncing: they move in the same transaction as their money.)"""
    from .invoicing import invoices_issue_due
    from .orders import orders_sweep

    return {"orders": orders_sweep(), "invoices": invoices_issue_due()}
