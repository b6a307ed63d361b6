from django.contrib import admin

from .models import GatewayRoute, Photo


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ("title", "owner", "created")
    search_fields = ("title", "owner__username")
    raw_id_fields = ("owner",)
    date_hierarchy = "created"


@admin.register(GatewayRoute)
class GatewayRouteAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "upstream_url", "scope_rules", "enabled", "timeout")
    list_filter = ("enabled",)
    search_fields = ("name", "prefix", "upstream_url")
    readonly_fields = ("created", "updated")
    actions = ["enable_routes", "disable_routes"]

    @admin.display(description="scopes per method")
    def scope_rules(self, route):
        return "; ".join(f"{method}: {' '.join(scopes) or 'any token'}"
                         for method, scopes in sorted(route.required_scopes.items()))

    @admin.action(description="Enable selected routes")
    def enable_routes(self, request, queryset):
        self.message_user(request, f"Enabled {queryset.update(enabled=True)} route(s).")

    @admin.action(description="Disable selected routes (they answer 404)")
    def disable_routes(self, request, queryset):
        self.message_user(request, f"Disabled {queryset.update(enabled=False)} route(s).")
