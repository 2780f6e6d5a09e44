from django.contrib import admin
from django.forms.models import BaseInlineFormSet

from core.paging import CappedCountPaginator
from prompts.models import OperationPolicy, SpecChange
from prompts.policies import writes_default
from registry.admin import ServiceAdmin

from .admin_search import LogSearchMixin
from .control import operations_table
from .models import InteractionLog, PendingApproval, ServiceCall


class ServiceCallInline(admin.TabularInline):
    model = ServiceCall
    extra = 0
    can_delete = False
    fields = ["position", "service_name", "operation_id", "method", "url", "status", "ok", "duration_ms", "error", "request", "response"]
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
    inlines = [ServiceCallInline]
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


# --- the control room on the service page (extends registry's ServiceAdmin from above) ------


class _PanelFormSet(BaseInlineFormSet):
    """Shows, never saves (ServiceAdmin saves through registry.services, not formsets);
    the admin's change message still reads what a save would have set."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []

    def is_valid(self):
        return True  # nothing is taken from the post (a form posted without this panel is fine)

    @property
    def errors(self):
        return []

    def non_form_errors(self):
        return self.error_class()


class OperationsPanel(admin.TabularInline):
    """The service's operations with their policy and health, and the spec's history.
    Read-only here: policies are changed on the operations page it links to."""

    model = OperationPolicy
    template = "admin/control/operations_inline.html"
    formset = _PanelFormSet
    extra = 0
    max_num = 0
    can_delete = False
    fields = ["operation_id", "policy"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        if obj is not None and obj.pk:
            formset.control_service = obj
            formset.control_rows = operations_table(obj)
            formset.control_writes_default = writes_default(obj)
            formset.control_history = list(SpecChange.objects.filter(service=obj).order_by("-at", "-id")[:10])
        return formset


def _extend_service_admin():
    if OperationsPanel not in ServiceAdmin.inlines:
        ServiceAdmin.inlines = [*ServiceAdmin.inlines, OperationsPanel]  # appended: other apps add theirs too


_extend_service_admin()


class ApprovalInline(admin.TabularInline):
    """The calls of an interaction that waited for approval, and what became of them."""

    model = PendingApproval
    extra = 0
    can_delete = False
    fields = ["reference", "operation_id", "state", "decided_by", "decided_at", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


InteractionLogAdmin.inlines = [*InteractionLogAdmin.inlines, ApprovalInline]


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
