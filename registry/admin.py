"""The registry's home for admins. Saves and deletes go through registry.services, so
the admin applies the same rules (and records the same search-sync entries) as the API."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.html import format_html

from audit.services import actor_of_request
from ensemble_project.errors import ApplicationError
from search import outbox
from search.models import SyncEntry

from . import rules, services
from .admin_search import ServiceSearchMixin
from .models import Service
from .search import SERVICES_INDEX


class ServiceForm(forms.ModelForm):
    tags = forms.CharField(required=False, help_text="Comma-separated, e.g. core, stable. Order is kept.")

    class Meta:
        model = Service
        fields = ["id", "name", "description", "openapi_url", "tags", "read_only"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["tags"] = ", ".join(self.instance.tag_list)

    def clean_tags(self):
        raw = [part for part in self.cleaned_data["tags"].split(",") if part.strip()]
        return rules.normalise_tags(raw)


class TagFilter(admin.SimpleListFilter):
    title = "tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        from .models import ServiceTag

        names = ServiceTag.objects.order_by("name").values_list("name", flat=True).distinct()
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        return queryset.filter(tags__name=self.value()).distinct() if self.value() else queryset


@admin.register(Service)
class ServiceAdmin(ServiceSearchMixin, admin.ModelAdmin):
    form = ServiceForm
    list_display = ["id", "name", "openapi_url", "tag_column", "read_only", "updated_at", "sync_state", "spec_state"]
    list_filter = [TagFilter, "read_only"]
    search_fields = ["id", "name", "description", "tags__name"]
    readonly_fields = ["created_at", "updated_at", "revision", "sync_state", "spec_state", "spec_changes"]
    actions = ["resync_selected", "refresh_specs", "preview_prompt"]
    ordering = ["id"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("tags").select_related("spec")

    def get_readonly_fields(self, request, obj=None):
        # The id is the service's identity: set once, never changed.
        return [*self.readonly_fields, "id"] if obj else self.readonly_fields

    @admin.display(description="tags")
    def tag_column(self, obj):
        return ", ".join(obj.tag_list)

    @admin.display(description="search sync")
    def sync_state(self, obj):
        pending = SyncEntry.objects.filter(index=SERVICES_INDEX.name, object_id=obj.pk)
        entry = pending.order_by("-attempts").first()
        if entry is None:
            return "in sync"
        if entry.last_error:
            return format_html('<span title="{}">pending, {} failed attempt(s)</span>', entry.last_error, entry.attempts)
        return "pending"

    @admin.display(description="OpenAPI spec")
    def spec_state(self, obj):
        snapshot = getattr(obj, "spec", None)
        if snapshot is None:
            return "not fetched yet"
        if snapshot.error:
            return format_html('<span style="color:#b00">error: {}</span>', snapshot.error[:200])
        return f"{len(snapshot.operations)} operations, fetched {snapshot.fetched_at:%Y-%m-%d %H:%M}"

    @admin.display(description="last spec change")
    def spec_changes(self, obj):
        snapshot = getattr(obj, "spec", None)
        return snapshot.last_change if snapshot and snapshot.last_change else "-"

    def save_model(self, request, obj, form, change):
        data = {key: form.cleaned_data[key] for key in ("name", "description", "openapi_url", "tags", "read_only")}
        try:
            if change:
                saved = services.service_update(service_id=obj.pk, **data, actor=actor_of_request(request))
            else:
                saved = services.service_register(id=form.cleaned_data["id"], **data, actor=actor_of_request(request))
        except ApplicationError as error:
            # The form validated, so this is a race (e.g. the id was taken meanwhile).
            raise ValidationError(error.message) from error
        obj.__dict__.update(saved.__dict__)

    def save_related(self, request, form, formsets, change):
        pass  # tags are saved by registry.services

    def delete_model(self, request, obj):
        services.service_delete(service_id=obj.pk, actor=actor_of_request(request))

    def delete_queryset(self, request, queryset):
        for service_id in list(queryset.values_list("pk", flat=True)):
            services.service_delete(service_id=service_id, actor=actor_of_request(request))

    @admin.action(description="Resync selected services to Typesense")
    def resync_selected(self, request, queryset):
        with transaction.atomic():
            outbox.enqueue(SERVICES_INDEX.name, list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Queued {queryset.count()} service(s) for the sync worker.")

    @admin.action(description="Fetch the OpenAPI documents of selected services again")
    def refresh_specs(self, request, queryset):
        from prompts.services import spec_refresh

        for service in queryset:
            snapshot = spec_refresh(service=service, force=True)
            if snapshot.error:
                self.message_user(request, f"{service.id}: {snapshot.error}", level=messages.ERROR)
            else:
                self.message_user(request, f"{service.id}: {len(snapshot.operations)} operations.")

    @admin.action(description="Preview the system prompt for selected services")
    def preview_prompt(self, request, queryset):
        from django.template.response import TemplateResponse

        from prompts.selectors import system_prompt_for

        try:
            prompt = system_prompt_for(list(queryset.values_list("pk", flat=True)))
        except ApplicationError as error:
            self.message_user(request, f"{error.message} {error.details}", level=messages.ERROR)
            return None
        context = {**self.admin_site.each_context(request), "title": "System prompt preview", "prompt": prompt,
                   "opts": self.model._meta}
        return TemplateResponse(request, "admin/registry/prompt_preview.html", context)
