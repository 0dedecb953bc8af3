from django.urls import path

from . import home_views, pos_views, shop_views, views

urlpatterns = [
    # The trader's home reads merchants and market (market/home_views.py).
    path("", home_views.home, name="home"),
    path("trang-chinh/", home_views.trader_home, name="trader_home"),
    path("sap/dang-ky/", views.stall_apply, name="stall_apply"),
    # issue 16: the decision's notice on the trader's home, dismissed by a POST
    path(
        "sap/don/<int:application_id>/da-xem/",
        views.decision_notice_dismiss,
        name="stall_decision_notice_dismiss",
    ),
    path("cho/", views.market_list, name="market_list"),
    path("cho/<slug:slug>/", views.stall_directory, name="stall_directory"),
    path("quan-ly/don-dang-ky/", views.review_queue, name="review_queue"),
    path("quan-ly/don-dang-ky/<int:application_id>/", views.review_detail, name="review_detail"),
    path(
        "quan-ly/don-dang-ky/<int:application_id>/quyet-dinh/",
        views.review_decide,
        name="review_decide",
    ),
    path("sap/<int:stall_id>/bang-qr.pdf", views.stall_standee, name="stall_standee"),
    path("quan-ly/cho/<slug:slug>/bang-qr/", views.market_standees, name="market_standees"),
    path(
        "quan-ly/cho/<slug:slug>/bang-qr/<int:job_id>/trang-thai/",
        views.standee_job_status,
        name="standee_job_status",
    ),
    path(
        "quan-ly/cho/<slug:slug>/bang-qr/<int:job_id>/bang-qr.pdf",
        views.standee_job_pdf,
        name="standee_job_pdf",
    ),
    path("cua-hang/<int:merchant_id>/ban-hang/", pos_views.pos, name="pos"),
    path("cua-hang/<int:merchant_id>/thu-tien/", pos_views.quick_collect, name="collect"),
    path(
        "cua-hang/<int:merchant_id>/thu-tien/<int:intent_id>/huy/",
        pos_views.quick_collect_cancel,
        name="collect_cancel",
    ),
    path("cua-hang/<int:merchant_id>/don/", pos_views.order_list, name="order_list"),
    path("cua-hang/<int:merchant_id>/don/<int:order_id>/", pos_views.order_pay, name="order_pay"),
    path(
        "cua-hang/<int:merchant_id>/don/<int:order_id>/thanh-toan-lai/",
        pos_views.order_repay,
        name="order_repay",
    ),
    path(
        "cua-hang/<int:merchant_id>/don/<int:order_id>/huy/",
        pos_views.order_cancel,
        name="order_cancel",
    ),
    path(
        "cua-hang/<int:merchant_id>/don/<int:order_id>/hoan-tien/",
        pos_views.order_refund,
        name="order_refund",
    ),
    path("bien-nhan/<str:token>/", pos_views.receipt, name="receipt"),
]

# Figures: daily close, takings, household-tax estimate, staff dashboard (market/figures/views.py).
from .figures import views as report_views  # noqa: E402

urlpatterns += [
    path("cua-hang/<int:merchant_id>/chot-so/", report_views.close_page, name="close_page"),
    path(
        "cua-hang/<int:merchant_id>/chot-so/lich-su/",
        report_views.close_history,
        name="close_history",
    ),
    path(
        "cua-hang/<int:merchant_id>/chot-so/<int:close_id>/",
        report_views.close_detail,
        name="close_detail",
    ),
    path(
        "cua-hang/<int:merchant_id>/chot-so/<int:close_id>/chot-so.csv",
        report_views.close_csv,
        name="close_csv",
    ),
    path("cua-hang/<int:merchant_id>/doanh-thu/", report_views.takings_page, name="takings"),
    path("cua-hang/<int:merchant_id>/thue/", report_views.tax_page, name="tax_estimate"),
    path(
        "cua-hang/<int:merchant_id>/thue/so-doanh-thu.csv",
        report_views.revenue_book_csv,
        name="revenue_book_csv",
    ),
    path(
        "cua-hang/<int:merchant_id>/thue/so-doanh-thu.pdf",
        report_views.revenue_book_pdf,
        name="revenue_book_pdf",
    ),
    path(
        "quan-ly/cho/<slug:slug>/bao-cao/",
        report_views.market_dashboard_page,
        name="market_dashboard",
    ),
    path(
        "quan-ly/cho/<slug:slug>/bao-cao.csv",
        report_views.market_dashboard_csv,
        name="market_dashboard_csv",
    ),
    path("mua/", shop_views.marketplace, name="marketplace"),
    path("gio-hang/", shop_views.cart, name="cart"),
    path("gio-hang/them/", shop_views.cart_add, name="cart_add"),
    path("gio-hang/<int:merchant_id>/dat-hang/", shop_views.checkout, name="shop_checkout"),
    path("don-hang/<str:token>/", shop_views.shop_order, name="shop_order"),
    path(
        "don-hang/<str:token>/trang-thai/",
        shop_views.shop_order_status,
        name="shop_order_status",
    ),
    path("don-hang/<str:token>/ma-qr.png", shop_views.shop_order_qr_png, name="shop_order_qr"),
    path("don-hang/<str:token>/danh-gia/", shop_views.shop_review, name="shop_review"),
    path("danh-gia/<int:review_id>/bao-cao/", shop_views.review_report, name="review_report"),
    path("cho/<slug:market_slug>/<slug:merchant_slug>/", shop_views.shop, name="shop"),
]

# Selling online, the trader's side: storefront settings, online orders, reviews, moderation.
from . import shop_merchant_views  # noqa: E402

urlpatterns += [
    path(
        "cua-hang/<int:merchant_id>/ban-online/",
        shop_merchant_views.storefront_settings,
        name="storefront_settings",
    ),
    path(
        "cua-hang/<int:merchant_id>/don-online/",
        shop_merchant_views.online_orders,
        name="online_orders",
    ),
    path(
        "cua-hang/<int:merchant_id>/don-online/danh-sach/",
        shop_merchant_views.online_orders_fragment,
        name="online_orders_fragment",
    ),
    path(
        "cua-hang/<int:merchant_id>/don-online/<int:order_id>/chuyen/",
        shop_merchant_views.online_order_advance,
        name="online_order_advance",
    ),
    path(
        "cua-hang/<int:merchant_id>/danh-gia/",
        shop_merchant_views.merchant_reviews,
        name="merchant_reviews",
    ),
    path(
        "cua-hang/<int:merchant_id>/danh-gia/<int:review_id>/tra-loi/",
        shop_merchant_views.merchant_review_reply,
        name="merchant_review_reply",
    ),
    path(
        "cua-hang/<int:merchant_id>/danh-gia/<int:review_id>/bao-cao/",
        shop_merchant_views.merchant_review_report,
        name="merchant_review_report",
    ),
    path("quan-ly/danh-gia/", shop_merchant_views.review_moderation, name="review_moderation"),
    path(
        "quan-ly/danh-gia/<int:review_id>/",
        shop_merchant_views.review_moderate,
        name="review_moderate",
    ),
]
