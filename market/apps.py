from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketConfig(AppConfig):
    name = "market"
    verbose_name = _("Chợ và sạp")

    def ready(self) -> None:
        from merchants import extensions
        from payments.signals import payment_settled, refund_opened, refund_settled

        from .sales import settling
        from .shop import storefront
        from .signals import invoice_requested, order_paid, order_refunded
        from .stalls import selectors

        # Inside the money's own transaction: the sale moves in the same commit as the ledger.
        payment_settled.connect(settling.on_payment_settled, dispatch_uid="market.order_paid")
        refund_opened.connect(settling.on_refund_opened, dispatch_uid="market.order_refund_open")
        refund_settled.connect(settling.on_refund_settled, dispatch_uid="market.order_refunded")
        order_paid.connect(storefront.on_order_paid, dispatch_uid="market.online_order_paid")
        # E-invoices, issued in the background once the money is in (market/sales/invoicing.py):
        # paid sales in batches, a shopper's request and a refund's adjustment each by itself.
        order_paid.connect(_invoice_paid_order, dispatch_uid="market.invoice_paid_order")
        invoice_requested.connect(_invoice_requested, dispatch_uid="market.invoice_requested")
        order_refunded.connect(_invoice_refund, dispatch_uid="market.invoice_refund")
        # What merchants' pages show of market, without merchants importing market.
        extensions.register(
            first_day_facts=selectors.first_day_facts,
            goods_category=lambda merchant: selectors.goods_category_of(merchant=merchant),
            markets=selectors.markets_by_name,
        )


def _invoice_paid_order(sender, *, order_id: int, **kwargs) -> None:
    # Not a message per sale: one batch task per burst of paid sales (market/sales/invoicing.py).
    from .sales.invoicing import invoices_due_kick

    invoices_due_kick()


def _invoice_requested(sender, *, order_id: int, **kwargs) -> None:
    # The shopper waits on the receipt page for it: a message of its own.
    from .tasks import issue_order_invoice

    issue_order_invoice.delay(order_id, requested=True)


def _invoice_refund(sender, *, refund_id: int, **kwargs) -> None:
    from .tasks import adjust_invoice_for_refund

    adjust_invoice_for_refund.delay(refund_id)
