from django.contrib import admin

from .models import Market, Stall, StallApplication


class StallInline(admin.TabularInline):
    model = Stall
    extra = 0
    autocomplete_fields = ("merchant",)


@admin.register(Market)
class MarketAdmin(admin.ModelAdmin):
    list_display = ("name", "district", "address", "is_active")
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name",)
    inlines = (StallInline,)


@admin.register(Stall)
class StallAdmin(admin.ModelAdmin):
    list_display = ("code", "market", "goods_category", "merchant")
    list_filter = ("market", "goods_category")
    search_fields = ("code", "merchant__display_name")
    autocomplete_fields = ("merchant",)


@admin.register(StallApplication)
class StallApplicationAdmin(admin.ModelAdmin):
    """Read-only here: decisions go through the review queue, which audits them."""

    list_display = ("merchant", "market", "requested_code", "status", "stall", "created_at")
    list_filter = ("status", "market")
    readonly_fields = [f.name for f in StallApplication._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
