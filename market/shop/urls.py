"""Selling online: the shopper's marketplace, cart, checkout, order page and reviews, then the
trader's side (storefront settings, online orders, replies to reviews) and staff moderation."""

from django.urls import path

from . import merchant_views, views

urlpatterns = [
    path("mua/", views.marketplace, name="marketplace"),
    path("gio-hang/", views.cart, name="cart"),
    path("gio-hang/them/", views.cart_add, name="cart_add"),
    path("gio-hang/<int:merchant_id>/dat-hang/", views.checkout, name="shop_checkout"),
    path("don-hang/<str:token>/", views.shop_order, name="shop_order"),
    path(
        "don-hang/<str:token>/trang-thai/",
        views.shop_order_status,
        name="shop_order_status",
    ),
    path("don-hang/<str:token>/ma-qr.png", views.shop_order_qr_png, name="shop_order_qr"),
    path("don-hang/<str:token>/danh-gia/", views.shop_review, name="shop_review"),
    path("danh-gia/<int:review_id>/bao-cao/", views.review_report, name="review_report"),
    path("cho/<slug:market_slug>/<slug:merchant_slug>/", views.shop, name="shop"),
    path(
        "cua-hang/<int:merchant_id>/ban-online/",
        merchant_views.storefront_settings,
        name="storefront_settings",
    ),
    path(
        "cua-hang/<int:merchant_id>/don-online/",
        merchant_views.online_orders,
        name="online_orders",
    ),
    path(
        "cua-hang/<int:merchant_id>/don-online/danh-sach/",
        merchant_views.online_orders_fragment,
        name="online_orders_fragment",
    ),
    path(
        "cua-hang/<int:merchant_id>/don-online/<int:order_id>/chuyen/",
        merchant_views.online_order_advance,
        name="online_order_advance",
    ),
    path(
        "cua-hang/<int:merchant_id>/danh-gia/",
        merchant_views.merchant_reviews,
        name="merchant_reviews",
    ),
    path(
        "cua-hang/<int:merchant_id>/danh-gia/<int:review_id>/tra-loi/",
        merchant_views.merchant_review_reply,
        name="merchant_review_reply",
    ),
    path(
        "cua-hang/<int:merchant_id>/danh-gia/<int:review_id>/bao-cao/",
        merchant_views.merchant_review_report,
        name="merchant_review_report",
    ),
    path("quan-ly/danh-gia/", merchant_views.review_moderation, name="review_moderation"),
    path(
        "quan-ly/danh-gia/<int:review_id>/",
        merchant_views.review_moderate,
        name="review_moderate",
    ),
]
