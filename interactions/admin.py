from django.contrib import admin

from core.paging import CappedCountPaginator

from .admin_search import LogSearchMixin
from .models import InteractionLog, PendingApproval, ServiceCall


class ServiceCallInline(admin.TabularInline):
    model = ServiceCall
    extra = 0
    can_delete = False
    fields = ["position", "service_name", "operation_id", "method", "url", "status", "ok", "duration_ms", "error", "request", "response"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ApprovalInline(admin.TabularInline):
    """The calls of an interaction that waited for approval, and what became of them."""

    model = PendingApproval
    extra = 0
    can_delete = False
    fields = ["reference", "operation_id", "state", "decided_by", "decided_at", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False



class BackendFilter(admin.SimpleListFilter):
    """The assistant backends by name, without asking the table which ones occur."""

    title = "backend"
    parameter_name = "backend"

    def lookups(self, request, model_admin):
        return [("local", "local"), ("openai", "openai")]

    def queryset(self, request, queryset):
        return queryset.filter(backend=self.value()) if self.value() else queryset


@admin.register(InteractionLog)
class InteractionLogAdmin(LogSearchMixin, admin.ModelAdmin):
    """Read-only: the log is a record, not something to edit."""

    list_display = ["created_at", "short_input", "outcome", "backend", "model", "duration_ms"]
    # At a million rows every list query must use an index or a LIMIT: choices and fixed
    # lists (no SELECT DISTINCT over the table), dates as ranges (a date hierarchy would
    # scan every row for its years), counts capped (CappedCountPaginator).
    list_filter = ["outcome", BackendFilter, ("created_at", admin.DateFieldListFilter)]
    search_fields = ["user_input", "assistant_response"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    inlines = [ServiceCallInline, ApprovalInline]
    readonly_fields = [f.name for f in InteractionLog._meta.fields]

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("_changelist"):
            # The list shows none of the large fields.
            queryset = queryset.defer("assistant_response", "service_responses", "error")
        return queryset

    @admin.display(description="user input")
    def short_input(self, obj):
        return obj.user_input[:80]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PendingApproval)
class PendingApprovalAdmin(admin.ModelAdmin):
    """Every approval, decided or not (read-only: decisions are made on the approvals page)."""

    list_display = ["reference", "state", "service_id", "operation_id", "requested_by", "created_at", "decided_by", "decided_at"]
    list_filter = ["state"]
    search_fields = ["reference", "service_id", "operation_id"]
    show_full_result_count = False
    list_select_related = False
    readonly_fields = [f.name for f in PendingApproval._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
