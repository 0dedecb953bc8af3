from django.urls import path

from . import views

urlpatterns = [
    path("sap/dang-ky/", views.stall_apply, name="stall_apply"),
    path("cho/", views.market_list, name="market_list"),
    path("cho/<slug:slug>/", views.stall_directory, name="stall_directory"),
    path("quan-ly/don-dang-ky/", views.review_queue, name="review_queue"),
    path("quan-ly/don-dang-ky/<int:application_id>/", views.review_detail, name="review_detail"),
    path(
        "quan-ly/don-dang-ky/<int:application_id>/quyet-dinh/",
        views.review_decide,
        name="review_decide",
    ),
]
