from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketConfig(AppConfig):
    name = "market"
    verbose_name = _("Chợ và sạp")

    def ready(self) -> None:
        from payments.signals import payment_succeeded, refund_changed

        from . import orders, storefront
        from .signals import invoice_requested, order_paid, order_refunded

        payment_succeeded.connect(orders.on_payment_succeeded, dispatch_uid="market.order_paid")
        refund_changed.connect(orders.on_refund_changed, dispatch_uid="market.order_refund")
        order_paid.connect(storefront.on_order_paid, dispatch_uid="market.online_order_paid")
        # E-invoices, issued in the background once the money is in (market/invoicing.py).
        order_paid.connect(_invoice_paid_order, dispatch_uid="market.invoice_paid_order")
        invoice_requested.connect(_invoice_requested, dispatch_uid="market.invoice_requested")
        order_refunded.connect(_invoice_refund, dispatch_uid="market.invoice_refund")


def _invoice_paid_order(sender, *, order_id: int, **kwargs) -> None:
    from .tasks import issue_order_invoice

    issue_order_invoice.delay(order_id)


def _invoice_requested(sender, *, order_id: int, **kwargs) -> None:
    from .tasks import issue_order_invoice

    issue_order_invoice.delay(order_id, requested=True)


def _invoice_refund(sender, *, refund_id: int, **kwargs) -> None:
    from .tasks import adjust_invoice_for_refund

    adjust_invoice_for_refund.delay(refund_id)
