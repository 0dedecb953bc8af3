from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MarketConfig(AppConfig):
    name = "market"
    verbose_name = _("Chợ và sạp")

    def ready(self) -> None:
        from payments.signals import payment_succeeded, refund_changed

        from . import orders, storefront
        from .signals import order_paid

        payment_succeeded.connect(orders.on_payment_succeeded, dispatch_uid="market.order_paid")
        refund_changed.connect(orders.on_refund_changed, dispatch_uid="market.order_refund")
        order_paid.connect(storefront.on_order_paid, dispatch_uid="market.online_order_paid")
