from django.urls import path

from . import staff_views, views

urlpatterns = [
    # visitors
    path("hoi-cho/", views.expo_list, name="expo_list"),
    path("hoi-cho/hoi-dap/<str:token>/", views.inquiry_thread, name="expo_inquiry_thread"),
    path("hoi-cho/<slug:slug>/", views.exhibition_home, name="expo_home"),
    path("hoi-cho/<slug:slug>/gian/<int:booth_id>/", views.booth_page, name="expo_booth"),
    path(
        "hoi-cho/<slug:slug>/gian/<int:booth_id>/hoi-hang/",
        views.inquiry_send,
        name="expo_inquiry_send",
    ),
    # exhibitors
    path("cua-hang/<int:merchant_id>/hoi-cho/", views.my_booths, name="expo_my_booths"),
    path(
        "cua-hang/<int:merchant_id>/hoi-cho/dang-ky/<slug:slug>/",
        views.booth_apply,
        name="expo_booth_apply",
    ),
    path(
        "cua-hang/<int:merchant_id>/hoi-cho/gian/<int:booth_id>/",
        views.booth_edit,
        name="expo_booth_edit",
    ),
    path(
        "cua-hang/<int:merchant_id>/hoi-cho/gian/<int:booth_id>/tep/",
        views.booth_media,
        name="expo_booth_media",
    ),
    path(
        "cua-hang/<int:merchant_id>/hoi-cho/gian/<int:booth_id>/duyet-lai-gia/",
        views.booth_recheck,
        name="expo_booth_recheck",
    ),
    path("cua-hang/<int:merchant_id>/hoi-cho/khach-hoi/", views.lead_list, name="expo_leads"),
    path(
        "cua-hang/<int:merchant_id>/hoi-cho/khach-hoi/<int:inquiry_id>/",
        views.lead_detail,
        name="expo_lead",
    ),
    # staff
    path("quan-ly/hoi-cho/", staff_views.exhibitions, name="expo_staff_exhibitions"),
    path("quan-ly/hoi-cho/moi/", staff_views.exhibition_form, name="expo_staff_new"),
    path("quan-ly/hoi-cho/spam/", staff_views.moderation, name="expo_staff_moderation"),
    path(
        "quan-ly/hoi-cho/<int:exhibition_id>/",
        staff_views.exhibition_detail,
        name="expo_staff_exhibition",
    ),
    path(
        "quan-ly/hoi-cho/<int:exhibition_id>/sua/",
        staff_views.exhibition_form,
        name="expo_staff_edit",
    ),
    path(
        "quan-ly/hoi-cho/<int:exhibition_id>/bao-cao/",
        staff_views.report,
        name="expo_staff_report",
    ),
    path(
        "quan-ly/hoi-cho/<int:exhibition_id>/bao-cao.csv",
        staff_views.report_csv,
        name="expo_staff_report_csv",
    ),
    path("quan-ly/hoi-cho/gian/<int:booth_id>/", staff_views.booth_review, name="expo_staff_booth"),
    path(
        "quan-ly/hoi-cho/gian/<int:booth_id>/thao-tac/",
        staff_views.booth_action,
        name="expo_staff_booth_action",
    ),
]
