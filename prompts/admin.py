from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html

from core.admin_display import shortened
from core.errors import ApplicationError
from outbound.http import breaker_status, concurrency_status

from .models import SpecSnapshot
from .selectors import system_prompt_for
from .services import spec_refresh


@admin.register(SpecSnapshot)
class SpecSnapshotAdmin(admin.ModelAdmin):
    list_display = ["service", "title", "operation_count", "fetched_at", "error_column", "circuit"]
    search_fields = ["service__id", "title", "error"]
    readonly_fields = [f.name for f in SpecSnapshot._meta.fields if f.name not in ("document", "operations_json")] + [
        "circuit"
    ]
    exclude = ["document", "operations_json"]

    @admin.display(description="operations")
    def operation_count(self, obj):
        return len(obj.operations or [])

    @admin.display(description="error", ordering="error")
    def error_column(self, obj):
        return format_html('<span class="error-text">{}</span>', shortened(obj.error, 120)) if obj.error else "-"

    @admin.display(description="circuit breaker (this process)")
    def circuit(self, obj):
        return breaker_status(obj.service_id)

    def has_add_permission(self, request):
        return False


# What this floor adds to the service page (composed by control/admin.py): the spec's
# state and the actions about specs and prompts.


@admin.display(description="OpenAPI spec")
def spec_state(service):
    snapshot = getattr(service, "spec", None)
    if snapshot is None:
        return "not fetched yet"
    if snapshot.error:
        return format_html('<span style="color:#b00">error: {}</span>', snapshot.error[:200])
    return f"{len(snapshot.operations)} operations, fetched {snapshot.fetched_at:%Y-%m-%d %H:%M}"


@admin.display(description="OpenAPI spec", ordering="spec__fetched_at")
def spec_column(service):
    """The spec's state for the service list: short, an error whole in its tooltip."""
    snapshot = getattr(service, "spec", None)
    if snapshot is None or (snapshot.fetched_at is None and not snapshot.error):
        return format_html('<span class="quiet">{}</span>', "not fetched yet")
    state = format_html("")
    if snapshot.fetched_at is not None:
        state = format_html('{} operations<br><span class="quiet">fetched {}</span>', len(snapshot.operations),
                            f"{timezone.localtime(snapshot.fetched_at):%Y-%m-%d %H:%M}")
    if snapshot.error:
        state = format_html('{}{}<span class="error-text">error: {}</span>', state, format_html("<br>") if state else "",
                            shortened(snapshot.error, 60))
    return state


@admin.display(description="last spec change")
def spec_changes(service):
    snapshot = getattr(service, "spec", None)
    return snapshot.last_change if snapshot and snapshot.last_change else "-"


@admin.display(description="calls to it (this worker)")
def outbound_state(service):
    """Its adaptive concurrency limit and its circuit breaker, as this worker process holds
    them (each gunicorn worker adapts its own: N workers allow up to N times the limit)."""
    return f"{concurrency_status(service.pk)}; circuit {breaker_status(service.pk)}"


@admin.action(description="Fetch the OpenAPI documents of selected services again")
def refresh_specs(model_admin, request, queryset):
    for service in queryset:
        snapshot = spec_refresh(service=service, force=True)
        if snapshot.error:
            model_admin.message_user(request, f"{service.id}: {snapshot.error}", level=messages.ERROR)
        else:
            model_admin.message_user(request, f"{service.id}: {len(snapshot.operations)} operations.")


@admin.action(description="Preview the system prompt for selected services")
def preview_prompt(model_admin, request, queryset):
    try:
        prompt = system_prompt_for(list(queryset.values_list("pk", flat=True)))
    except ApplicationError as error:
        model_admin.message_user(request, f"{error.message} {error.details}", level=messages.ERROR)
        return None
    context = {**model_admin.admin_site.each_context(request), "title": "System prompt preview", "prompt": prompt,
               "opts": model_admin.model._meta}
    return TemplateResponse(request, "admin/prompts/prompt_preview.html", context)


# The pieces, by where they go on the page.
SERVICE_COLUMNS = [spec_column]
SERVICE_SELECT_RELATED = ["spec"]  # the spec column without a query per row
SERVICE_READONLY_FIELDS = [spec_state, spec_changes, outbound_state]
SERVICE_ACTIONS = [refresh_specs, preview_prompt]
