from django.contrib import admin

from .models import SyncEntry


@admin.register(SyncEntry)
class SyncEntryAdmin(admin.ModelAdmin):
    """The Typesense backlog: what the worker has yet to deliver, and why it failed."""

    list_display = ["id", "index", "object_id", "created_at", "attempts", "next_attempt_at", "short_error", "claimed_by"]
    list_filter = ["index"]
    search_fields = ["object_id", "last_error"]
    show_full_result_count = False
    readonly_fields = [f.name for f in SyncEntry._meta.fields]

    @admin.display(description="last error")
    def short_error(self, obj):
        return obj.last_error[:120]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
