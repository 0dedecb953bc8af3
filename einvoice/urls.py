from django.urls import path

from . import purchase_views, views

urlpatterns = [
    # Public lookup (tra cứu hóa đơn): only with the lookup code.
    path("hoa-don/tra-cuu/", views.lookup_form, name="einvoice_lookup"),
    path("hoa-don/<str:code>/", views.lookup_detail, name="einvoice_lookup_detail"),
    path("hoa-don/<str:code>/pdf/", views.lookup_pdf, name="einvoice_lookup_pdf"),
    path("hoa-don/<str:code>/xml/", views.lookup_xml, name="einvoice_lookup_xml"),
    # The trader's invoices.
    path("cua-hang/<int:merchant_id>/hoa-don/", views.invoice_list, name="einvoice_list"),
    path(
        "cua-hang/<int:merchant_id>/hoa-don/<int:invoice_id>/",
        views.invoice_detail,
        name="einvoice_detail",
    ),
    path(
        "cua-hang/<int:merchant_id>/hoa-don/<int:invoice_id>/pdf/",
        views.invoice_pdf,
        name="einvoice_pdf",
    ),
    path(
        "cua-hang/<int:merchant_id>/hoa-don/<int:invoice_id>/xml/",
        views.invoice_xml,
        name="einvoice_xml",
    ),
    path(
        "cua-hang/<int:merchant_id>/hoa-don/<int:invoice_id>/thay-the/",
        views.invoice_replace,
        name="einvoice_replace",
    ),
    path(
        "cua-hang/<int:merchant_id>/hoa-don/<int:invoice_id>/huy/",
        views.invoice_cancel,
        name="einvoice_cancel",
    ),
    # Invoices received from suppliers (hóa đơn đầu vào).
    path(
        "cua-hang/<int:merchant_id>/hoa-don/dau-vao/",
        purchase_views.purchase_list,
        name="einvoice_purchases",
    ),
    path(
        "cua-hang/<int:merchant_id>/hoa-don/dau-vao/<int:purchase_id>/",
        purchase_views.purchase_detail,
        name="einvoice_purchase_detail",
    ),
    path(
        "cua-hang/<int:merchant_id>/hoa-don/dau-vao/<int:purchase_id>/xml/",
        purchase_views.purchase_xml,
        name="einvoice_purchase_xml",
    ),
    path("cua-hang/<int:merchant_id>/hoa-don/ky-hieu/", views.series_page, name="einvoice_series"),
    path(
        "cua-hang/<int:merchant_id>/hoa-don/ky-hieu/<int:series_id>/",
        views.series_change,
        name="einvoice_series_change",
    ),
]
