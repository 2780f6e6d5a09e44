from django.contrib import admin

from .admin_search import LogSearchMixin
from .models import InteractionLog, ServiceCall


class ServiceCallInline(admin.TabularInline):
    model = ServiceCall
    extra = 0
    can_delete = False
    fields = ["position", "service_name", "operation_id", "method", "url", "status", "ok", "duration_ms", "error", "request", "response"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(InteractionLog)
class InteractionLogAdmin(LogSearchMixin, admin.ModelAdmin):
    """Read-only: the log is a record, not something to edit."""

    list_display = ["created_at", "short_input", "outcome", "backend", "model", "duration_ms"]
    list_filter = ["outcome", "backend"]
    search_fields = ["user_input", "assistant_response"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    inlines = [ServiceCallInline]
    readonly_fields = [f.name for f in InteractionLog._meta.fields]

    @admin.display(description="user input")
    def short_input(self, obj):
        return obj.user_input[:80]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
