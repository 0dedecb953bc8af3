"""Thin Celery tasks for markets: they take ids and call services."""

import logging

from celery import shared_task

from .stalls.services import standee_job_run

log = logging.getLogger(__name__)


@shared_task(name="market.build_market_standees")
def build_market_standees(job_id: int) -> str:
    """Build the standee PDF of a StandeeJob. No retries: a render error is not transient, so
    the job ends ``failed`` with the error and staff start a new one."""
    return standee_job_run(job_id=job_id).status


@shared_task(name="market.issue_order_invoice")
def issue_order_invoice(order_id: int, requested: bool = False) -> int | None:
    from .sales.invoicing import order_invoice_issue, safely

    invoice = safely(order_invoice_issue, order_id=order_id, requested=requested)
    return invoice.pk if invoice else None


@shared_task(name="market.issue_due_invoices", ignore_result=True)
def issue_due_invoices() -> int:
    """The automatic invoices of recently paid sales, in batches: queued once per burst of
    payments (``invoicing.invoices_due_kick``), not once per sale."""
    from .sales.invoicing import invoices_issue_burst

    return invoices_issue_burst()


@shared_task(name="market.adjust_invoice_for_refund")
def adjust_invoice_for_refund(refund_id: int) -> int | None:
    from .sales.invoicing import refund_invoice_adjust, safely

    invoice = safely(refund_invoice_adjust, refund_id=refund_id)
    return invoice.pk if invoice else None


@shared_task(name="market.sync_orders")
def sync_orders() -> dict[str, int]:
    """The safety net: sales that never got a QR (canceled after a while); invoices not yet
    issued. (Orders need no syncing: they move in the same transaction as their money.)"""
    from .sales.invoicing import invoices_issue_due
    from .sales.orders import orders_sweep

    return {"orders": orders_sweep(), "invoices": invoices_issue_due()}


@shared_task(name="market.books_check_nightly")
def books_check_nightly() -> int:
    """Yesterday's books: any difference is a staff alert (ERROR log, audit row, admins' mail)."""
    from datetime import timedelta

    from django.core.mail import mail_admins
    from django.utils import timezone

    from core.models import AuditLog

    from .figures.books import books_check

    day = timezone.localdate() - timedelta(days=1)
    report = books_check(day=day)
    if report.differences:
        lines = [str(d) for d in report.differences]
        log.error("books_check %s: %d differences\n%s", day, len(lines), "\n".join(lines[:50]))
        AuditLog.objects.create(
            actor_label="task:books_check",
            action="books.differences",
            target_type="books",
            target_id=day.isoformat(),
            reason=f"{len(lines)} differences on {day.isoformat()}",
            data={"day": day.isoformat(), "differences": lines[:200]},
        )
        mail_admins(
            f"Chợ Số: the books disagree on {day.isoformat()} ({len(lines)} differences)",
            "\n".join(lines[:500]),
            fail_silently=True,
        )
    return len(report.differences)
