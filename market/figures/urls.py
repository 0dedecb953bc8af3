"""Figures: daily close, takings, household-tax estimate, the staff dashboard."""

from django.urls import path

from . import views

urlpatterns = [
    path("cua-hang/<int:merchant_id>/chot-so/", views.close_page, name="close_page"),
    path(
        "cua-hang/<int:merchant_id>/chot-so/lich-su/",
        views.close_history,
        name="close_history",
    ),
    path(
        "cua-hang/<int:merchant_id>/chot-so/<int:close_id>/",
        views.close_detail,
        name="close_detail",
    ),
    path(
        "cua-hang/<int:merchant_id>/chot-so/<int:close_id>/chot-so.csv",
        views.close_csv,
        name="close_csv",
    ),
    path("cua-hang/<int:merchant_id>/doanh-thu/", views.takings_page, name="takings"),
    path("cua-hang/<int:merchant_id>/thue/", views.tax_page, name="tax_estimate"),
    path(
        "cua-hang/<int:merchant_id>/thue/so-doanh-thu.csv",
        views.revenue_book_csv,
        name="revenue_book_csv",
    ),
    path(
        "cua-hang/<int:merchant_id>/thue/so-doanh-thu.pdf",
        views.revenue_book_pdf,
        name="revenue_book_pdf",
    ),
    path(
        "quan-ly/cho/<slug:slug>/bao-cao/",
        views.market_dashboard_page,
        name="market_dashboard",
    ),
    path(
        "quan-ly/cho/<slug:slug>/bao-cao.csv",
        views.market_dashboard_csv,
        name="market_dashboard_csv",
    ),
]
