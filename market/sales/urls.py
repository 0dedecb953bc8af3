"""Selling at the stall: the POS, quick collect, orders and their payment, refunds, receipts."""

from django.urls import path

from . import views

urlpatterns = [
    path("cua-hang/<int:merchant_id>/ban-hang/", views.pos, name="pos"),
    path("cua-hang/<int:merchant_id>/thu-tien/", views.quick_collect, name="collect"),
    path(
        "cua-hang/<int:merchant_id>/thu-tien/<int:intent_id>/huy/",
        views.quick_collect_cancel,
        name="collect_cancel",
    ),
    path("cua-hang/<int:merchant_id>/don/", views.order_list, name="order_list"),
    path("cua-hang/<int:merchant_id>/don/<int:order_id>/", views.order_pay, name="order_pay"),
    path(
        "cua-hang/<int:merchant_id>/don/<int:order_id>/thanh-toan-lai/",
        views.order_repay,
        name="order_repay",
    ),
    path(
        "cua-hang/<int:merchant_id>/don/<int:order_id>/huy/",
        views.order_cancel,
        name="order_cancel",
    ),
    path(
        "cua-hang/<int:merchant_id>/don/<int:order_id>/hoan-tien/",
        views.order_refund,
        name="order_refund",
    ),
    path("bien-nhan/<str:token>/", views.receipt, name="receipt"),
]
