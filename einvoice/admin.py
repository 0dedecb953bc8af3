"""Admin: series editable; invoices, lines and events read-only (issued documents never change)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from .models import Invoice, InvoiceEvent, InvoiceLine, Series, SigningCertificate


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    list_display = ("merchant", "form", "symbol", "register_prefix", "auto_issue", "is_active")
    list_filter = ("form", "auto_issue", "is_active")
    search_fields = ("symbol", "merchant__display_name", "merchant__tax_code")
    readonly_fields = ("merchant", "form", "symbol", "register_prefix")

    def has_add_permission(self, request: Any) -> bool:
        return False  # through einvoice.services.series_create (validation, audit)

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class LineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = ("position", "kind", "name", "unit", "quantity", "unit_price", "amount", "tax_rate")
    readonly_fields = fields

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class EventInline(admin.TabularInline):
    model = InvoiceEvent
    extra = 0
    can_delete = False
    fields = ("created_at", "kind", "actor_label", "payload")
    readonly_fields = fields

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Invoice)
class InvoiceAdmin(ReadOnly):
    list_display = ("__str__", "merchant", "issued_at", "kind", "total_payable", "status")
    list_filter = ("status", "kind", "form", "is_cash_register")
    search_fields = ("lookup_code", "series_symbol", "merchant__display_name", "source_ref")
    date_hierarchy = "issued_at"
    inlines = [LineInline, EventInline]


@admin.register(SigningCertificate)
class SigningCertificateAdmin(ReadOnly):
    list_display = ("merchant", "source", "subject", "not_after", "is_active")
    exclude = ("key_encrypted",)
