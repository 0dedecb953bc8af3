from django.contrib.auth import views as auth_views
from django.urls import path

from . import recovery_views, views

urlpatterns = [
    # "" (home) and "trang-chinh/" (trader_home) are market's: market/home_views.py
    path("dang-ky/", views.signup, name="signup"),
    path("dang-nhap/", views.LoginView.as_view(), name="login"),
    path("dang-xuat/", auth_views.LogoutView.as_view(), name="logout"),
    path("doi-mat-khau/", views.PasswordChangeView.as_view(), name="password_change"),
    # issue 16: a forgotten password is reset by a code sent by SMS
    path("quen-mat-khau/", recovery_views.password_reset_request, name="password_reset_sms"),
    path("quen-mat-khau/nhap-ma/", recovery_views.password_reset_code, name="password_reset_code"),
    # issue 16: staff register a trader on their behalf; the trader confirms by SMS code
    path("quan-ly/dang-ky-ho/", recovery_views.onboarding_start, name="onboarding_start"),
    path(
        "quan-ly/dang-ky-ho/<int:registration_id>/",
        recovery_views.onboarding_confirm,
        name="onboarding_confirm",
    ),
    path(
        "quan-ly/dang-ky-ho/<int:registration_id>/xong/",
        recovery_views.onboarding_done,
        name="onboarding_done",
    ),
    path("cua-hang/moi/", views.merchant_create, name="merchant_create"),
    path("cua-hang/<int:merchant_id>/", views.merchant_detail, name="merchant_detail"),
    path(
        "cua-hang/<int:merchant_id>/ngan-hang/them/",
        views.bank_account_add,
        name="bank_account_add",
    ),
    path(
        "cua-hang/<int:merchant_id>/ngan-hang/<int:account_id>/xoa/",
        views.bank_account_remove,
        name="bank_account_remove",
    ),
    path("cua-hang/<int:merchant_id>/san-pham/them/", views.product_edit, name="product_add"),
    path(
        "cua-hang/<int:merchant_id>/san-pham/<int:product_id>/",
        views.product_edit,
        name="product_edit",
    ),
    path(
        "cua-hang/<int:merchant_id>/san-pham/<int:product_id>/con-hang/",
        views.product_stock_toggle,
        name="product_stock_toggle",
    ),
    path("cua-hang/<int:merchant_id>/nguoi-ban/them/", views.member_add, name="member_add"),
    path("cua-hang/<int:merchant_id>/khoa-api/them/", views.api_key_create, name="api_key_create"),
    path(
        "cua-hang/<int:merchant_id>/khoa-api/<int:key_id>/thu-hoi/",
        views.api_key_revoke,
        name="api_key_revoke",
    ),
]
