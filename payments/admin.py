from django.contrib import admin

from .models import BankAlertConnection, BankNotification, LedgerEntry, PaymentIntent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Money records change only through services (locked, audited): read-only here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PaymentIntent)
class PaymentIntentAdmin(ReadOnlyAdmin):
    list_display = ("reference_code", "merchant", "amount", "status", "created_at", "succeeded_at")
    list_filter = ("status", "method")
    search_fields = ("reference_code", "reference", "merchant__display_name", "bank_reference")


@admin.register(BankNotification)
class BankNotificationAdmin(ReadOnlyAdmin):
    list_display = ("provider_id", "account_number", "amount", "outcome", "merchant", "received_at")
    list_filter = ("outcome", "received_via", "source")
    search_fields = ("provider_id", "account_number", "description", "bank_reference")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "merchant", "kind", "amount", "flag", "actor_label")
    list_filter = ("kind", "flag")
    search_fields = ("merchant__display_name", "memo")


@admin.register(BankAlertConnection)
class BankAlertConnectionAdmin(ReadOnlyAdmin):
    """Traders' own bank-alert accounts; the encrypted key and token are never shown."""

    list_display = ("id", "merchant", "provider", "auth", "last_test_at", "disconnected_at")
    list_filter = ("provider", "auth")
    search_fields = ("merchant__display_name",)
    fields = (
        "merchant",
        "provider",
        "auth",
        "secret_hint",
        "last_test_at",
        "last_notification_at",
        "created_at",
        "disconnected_at",
    )
