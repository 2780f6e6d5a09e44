"""The registry's home for admins. Saves and deletes go through registry.services, so
the admin applies the same rules (and records the same search-sync entries) as the API."""

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils.html import format_html, format_html_join

from audit.services import actor_of_request
from core.admin_display import url_column
from core.errors import ApplicationError
from search import outbox

from . import rules, services
from .admin_search import ServiceSearchMixin
from .models import Service, ServiceTag
from .search_index import SERVICES_INDEX


class _LostRace(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


class ServiceForm(forms.ModelForm):
    race_error = None  # set when a save lost a race; see ServiceAdmin.changeform_view

    tags = forms.CharField(required=False, help_text="Comma-separated, e.g. core, stable. Order is kept.")

    class Meta:
        model = Service
        fields = ["id", "name", "description", "openapi_url", "base_url_override", "tags", "read_only"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["tags"] = ", ".join(self.instance.tag_list)

    def clean(self):
        cleaned = super().clean()
        if self.race_error:
            self.add_error(None, self.race_error)
        return cleaned

    def clean_tags(self):
        raw = [part for part in self.cleaned_data["tags"].split(",") if part.strip()]
        return rules.normalise_tags(raw)


class TagFilter(admin.SimpleListFilter):
    title = "tag"
    parameter_name = "tag"

    def lookups(self, request, model_admin):
        names = ServiceTag.objects.order_by("name").values_list("name", flat=True).distinct()
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        return queryset.filter(tags__name=self.value()).distinct() if self.value() else queryset


class ServiceAdmin(ServiceSearchMixin, admin.ModelAdmin):
    """The registry's part of the service page. Not registered here: control/admin.py
    composes the page from this class and the pieces the floors above export (the
    spec's state and actions, credentials, operations), so the registry imports none
    of them and no app rewrites another's admin class."""

    form = ServiceForm
    # Narrow columns, so the list and the spec's columns the floors above add fit a
    # 1280 px screen beside both sidebars: the name with the id below it (and read-only as
    # a badge), the URL shortened, a few tags; the rest (when it was updated, the
    # description, every tag) is on the change page.
    list_display = ["service_column", "url_column", "tag_column", "sync_state"]
    list_display_links = ["service_column"]
    list_filter = [TagFilter, "read_only"]
    search_fields = ["id", "name", "description", "tags__name"]
    readonly_fields = ["created_at", "updated_at", "revision", "sync_state"]
    actions = ["resync_selected"]
    ordering = ["id"]

    show_full_result_count = False

    def get_queryset(self, request):
        # The sync column comes from two subqueries of the page's query, not a query per row.
        entries = outbox.pending_entries(SERVICES_INDEX.name).filter(object_id=OuterRef("pk")).order_by("-attempts")
        return super().get_queryset(request).prefetch_related("tags").annotate(
            _sync_attempts=Subquery(entries.values("attempts")[:1]),
            _sync_error=Subquery(entries.values("last_error")[:1]),
        )

    def get_readonly_fields(self, request, obj=None):
        # The id is the service's identity: set once, never changed.
        return [*self.readonly_fields, "id"] if obj else self.readonly_fields

    def get_fields(self, request, obj=None):
        # Who may only view the service sees every field read-only; `tags` is the form's
        # text for a relation, so a reader gets it as the list's column shows it.
        fields = super().get_fields(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            fields = ["tag_column" if name == "tags" else name for name in fields]
        return fields
    @admin.display(description="service", ordering="id")
    def service_column(self, obj):
        badge = format_html(' <span class="badge" title="{}">read-only</span>', "Only its GET operations are offered") \
            if obj.read_only else ""
        return format_html('<strong>{}</strong>{}<br><span class="quiet">{}</span>', obj.name, badge, obj.id)

    @admin.display(description="OpenAPI URL", ordering="openapi_url")
    def url_column(self, obj):
        return url_column(obj.openapi_url)

    TAGS_SHOWN = 3

    @admin.display(description="tags")
    def tag_column(self, obj):
        tags = obj.tag_list
        shown = format_html_join("", '<span class="tag">{}</span>', ((tag,) for tag in tags[: self.TAGS_SHOWN]))
        more = len(tags) - self.TAGS_SHOWN
        if more > 0:
            shown = format_html('{}<span class="tag" title="{}">+{} more</span>', shown, ", ".join(tags), more)
        return format_html('<span class="tag-list">{}</span>', shown) if tags else "-"

    @admin.display(description="search sync")
    def sync_state(self, obj):
        attempts, error = getattr(obj, "_sync_attempts", None), getattr(obj, "_sync_error", None)
        if attempts is None:
            return "in sync"
        if error:
            return format_html('<span title="{}">pending, {} failed attempt(s)</span>', error, attempts)
        return "pending"

    def save_model(self, request, obj, form, change):
        data = {key: form.cleaned_data[key]
                for key in ("name", "description", "openapi_url", "base_url_override", "tags", "read_only")}
        actor = actor_of_request(request)
        try:
            if change:
                saved = services.service_update(service_id=obj.pk, **data, actor=actor)
            else:
                saved = services.service_register(id=form.cleaned_data["id"], **data, actor=actor)
        except ApplicationError as error:
            # The form validated, so another writer won a race (the id was taken meanwhile).
            raise _LostRace(error.message) from error
        # The admin goes on with `obj` (messages, redirect): let it show what was stored.
        obj.pk = saved.pk
        obj.refresh_from_db()

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _LostRace as race:
            # The first attempt's transaction is rolled back. Validate the same POST again
            # with the reason as a form error: the admin shows the form, not a 500 page.
            request._registry_lost_race = race.message
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        race = getattr(request, "_registry_lost_race", None)
        if race is None:
            return form
        return type(form.__name__, (form,), {"race_error": race})

    def save_related(self, request, form, formsets, change):
        # Tags are saved by registry.services; inlines other apps add save themselves.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

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
