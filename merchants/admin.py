from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import ApiKey, BankAccount, Membership, Merchant, Product, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("phone",)
    list_display = ("phone", "full_name", "email", "is_staff", "is_active", "date_joined")
    search_fields = ("phone", "full_name", "email")
    fieldsets = (
        (None, {"fields": ("phone", "password")}),
        (_("Thông tin"), {"fields": ("full_name", "email")}),
        (
            _("Quyền"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Thời gian"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("phone", "full_name", "password1", "password2")}),
    )


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


class BankAccountInline(admin.TabularInline):
    model = BankAccount
    extra = 0


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ("display_name", "legal_name", "kind", "tax_code", "sector", "created_at")
    list_filter = ("kind", "sector")
    search_fields = ("display_name", "legal_name", "tax_code")
    readonly_fields = ("slug", "created_at")
    inlines = (MembershipInline, BankAccountInline)


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "merchant", "unit", "price", "sold_by_weight", "is_active")
    list_filter = ("is_active", "sold_by_weight", "unit")
    search_fields = ("name", "search_name", "merchant__display_name")
    readonly_fields = ("search_name",)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("prefix", "name", "merchant", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "key_hash", "created_at", "last_used_at")
    exclude = ()

    def has_add_permission(self, request):  # keys are created by their owner, shown once
        return False
