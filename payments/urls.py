from django.urls import path

from . import views

urlpatterns = [
    path("thu-tien/", views.collect_start, name="collect_start"),
    path("cua-hang/<int:merchant_id>/thu-tien/", views.collect, name="collect"),
    path(
        "cua-hang/<int:merchant_id>/thu-tien/<int:intent_id>/", views.collect_qr, name="collect_qr"
    ),
    path(
        "cua-hang/<int:merchant_id>/thu-tien/<int:intent_id>/huy/",
        views.collect_cancel,
        name="collect_cancel",
    ),
    path(
        "cua-hang/<int:merchant_id>/thu-tien/<int:intent_id>/hoan-tien/",
        views.collect_refund,
        name="collect_refund",
    ),
    path("cua-hang/<int:merchant_id>/tien-vao/", views.payments_today, name="payments_today"),
    path("cua-hang/<int:merchant_id>/su-kien/", views.live_events, name="live_events"),
]
