from django.urls import path

from . import bankalert_views, views

# "Thu tiền" itself (the keypad, and canceling its QR) is market's: the amount is a sale
# (market/sales/views.py quick_collect); these pages show the payment of it.
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
    # "Báo có ngân hàng": the owner's own bank-alert accounts (SePay).
    path("cua-hang/<int:merchant_id>/bao-co/", bankalert_views.bank_alerts, name="bank_alerts"),
    path(
        "cua-hang/<int:merchant_id>/bao-co/<int:connection_id>/",
        bankalert_views.bank_alert_detail,
        name="bank_alert_detail",
    ),
    path(
        "cua-hang/<int:merchant_id>/bao-co/<int:connection_id>/trang-thai/",
        bankalert_views.bank_alert_status,
        name="bank_alert_status",
    ),
    path(
        "cua-hang/<int:merchant_id>/bao-co/<int:connection_id>/gui-thu/",
        bankalert_views.bank_alert_test,
        name="bank_alert_test",
    ),
    path(
        "cua-hang/<int:merchant_id>/bao-co/<int:connection_id>/ngat/",
        bankalert_views.bank_alert_disconnect,
        name="bank_alert_disconnect",
    ),
]
