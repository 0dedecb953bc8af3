from django.urls import path

from . import views

# "Thu tiền" itself (the keypad, and canceling its QR) is market's: the amount is a sale
# (market/pos_views.py quick_collect); these pages show the payment of it.
urlpatterns = [
    path("thu-tien/", views.collect_start, name="collect_start"),
    path(
        "cua-hang/<int:merchant_id>/thu-tien/<int:intent_id>/", views.collect_qr, name="collect_qr"
    ),
    path(
        "cua-hang/<int:merchant_id>/thu-tien/<int:intent_id>/hoan-tien/",
        views.collect_refund,
        name="collect_refund",
    ),
    path("cua-hang/<int:merchant_id>/tien-vao/", views.payments_today, name="payments_today"),
    path("cua-hang/<int:merchant_id>/su-kien/", views.live_events, name="live_events"),
    path("cua-hang/su-kien/", views.trader_events, name="trader_events"),
]
