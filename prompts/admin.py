from django.contrib import admin

from outbound.http import breaker_status

from .models import SpecSnapshot


@admin.register(SpecSnapshot)
class SpecSnapshotAdmin(admin.ModelAdmin):
    list_display = ["service", "title", "operation_count", "fetched_at", "error", "circuit"]
    search_fields = ["service__id", "title", "error"]
    readonly_fields = [f.name for f in SpecSnapshot._meta.fields if f.name not in ("document", "operations_json")] + [
        "circuit"
    ]
    exclude = ["document", "operations_json"]

    @admin.display(description="operations")
    def operation_count(self, obj):
        return len(obj.operations or [])

    @admin.display(description="circuit breaker (this process)")
    def circuit(self, obj):
        return breaker_status(obj.service_id)

    def has_add_permission(self, request):
        return False
