"""Stall applications and their review, market directories, stall standees."""

from django.urls import path

from . import views

urlpatterns = [
    path("sap/dang-ky/", views.stall_apply, name="stall_apply"),
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
]
