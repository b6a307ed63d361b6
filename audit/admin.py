"""The audit trail in admin: read-only, filtered by event type and date, searched by client, user or IP."""

import ipaddress

from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ("time", "event", "oauth_client_id", "username", "ip", "grant_type", "scopes", "detail")
    list_filter = ("event", "time", "grant_type")
    # Exact matches use the indexes; a client's name matches from its start.
    search_fields = ("=oauth_client_id", "=username", "^client__name")
    search_help_text = "A client_id, a username, an IP address, or the start of a client's name."
    date_hierarchy = "time"
    ordering = ("-time",)
    list_per_page = 100
    show_full_result_count = False  # a count(*) of a large table on every page is slow
    fields = ("time", "event", "client", "oauth_client_id", "user", "username", "ip", "grant_type", "scopes",
              "detail")
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        try:
            address = str(ipaddress.ip_address(term))
        except ValueError:
            return super().get_search_results(request, queryset, search_term)
        # The IP column is typed (inet on PostgreSQL): search it only with something that is an address.
        return queryset.filter(ip=address), False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
