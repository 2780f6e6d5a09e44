from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core.admin_display import breakable, json_block, shortened, url_column
from core.paging import CappedCountPaginator

from .admin_search import LogSearchMixin
from .models import Conversation, InteractionLog, PendingApproval, ServiceCall


class ServiceCallInline(admin.TabularInline):
    """The calls of an interaction, in four columns that fit the page: what was called
    (the URL shortened, whole in its tooltip), its result, and the arguments and the answer
    as pretty-printed JSON in blocks that scroll."""

    model = ServiceCall
    extra = 0
    can_delete = False
    fields = ["call_column", "result_column", "request_column", "response_column"]
    readonly_fields = fields
    classes = ["no-captions"]
    verbose_name = "service call"

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="call")
    def call_column(self, call):
        return format_html('<span class="quiet">#{}</span> <span class="method">{}</span> <strong>{}</strong><br>{}<br>{}',
                           call.position, call.method, breakable(call.operation_id), call.service_name, url_column(call.url))

    @admin.display(description="result")
    def result_column(self, call):
        status = f"HTTP {call.status}" if call.status else "not sent"
        state = format_html('<span class="{}">{}</span>', "" if call.ok else "error-text", status if call.ok else f"{status}, failed")
        error = format_html('<br><span class="error-text">{}</span>', shortened(call.error, 160)) if call.error else ""
        return format_html('{}<br><span class="quiet">{} ms</span>{}', state, call.duration_ms, error)

    @admin.display(description="arguments (secret-looking values redacted)")
    def request_column(self, call):
        return json_block(call.request)

    @admin.display(description="answer")
    def response_column(self, call):
        return json_block(call.response)


class ApprovalInline(admin.TabularInline):
    """The calls of an interaction that waited for an administrator, and what became of
    them (pending, approved, rejected or expired)."""

    model = PendingApproval
    extra = 0
    can_delete = False
    fields = ["reference", "operation_id", "state", "decided_by", "decided_at", "reason"]
    readonly_fields = fields
    classes = ["no-captions"]
    verbose_name = "call held for approval"
    verbose_name_plural = "Calls held for approval"

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
    # The date filter is the search's "date range" (LogSearchMixin), the one with facet counts.
    list_filter = ["outcome", BackendFilter]
    search_fields = ["user_input", "assistant_response"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    inlines = [ServiceCallInline, ApprovalInline]
    # The service responses as JSON (each answer parsed, so it reads as JSON rather than as
    # an escaped string), in place of the raw field.
    fields = [f.name if f.name != "service_responses" else "service_responses_column" for f in InteractionLog._meta.fields]
    readonly_fields = fields

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.resolver_match and request.resolver_match.url_name.endswith("_changelist"):
            # The list shows none of the large fields.
            queryset = queryset.defer("assistant_response", "service_responses", "error")
        return queryset

    @admin.display(description="user input")
    def short_input(self, obj):
        return shortened(obj.user_input, 80)

    @admin.display(description="service responses")
    def service_responses_column(self, obj):
        if not obj.service_responses:
            return "-"
        return format_html_join("", '<div class="service-response"><h4>{}</h4>{}</div>', (
            (item.get("service_name", ""), json_block(item.get("response", ""))) for item in obj.service_responses
        ))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PendingApproval)
class PendingApprovalAdmin(admin.ModelAdmin):
    """Every call held for approval, decided or not (read-only: decisions are made on the
    control room's approvals page); the request it came from, not only its log's id."""

    list_display = ["reference", "state", "operation_column", "request_column", "asked_column", "decided_column"]
    list_filter = ["state"]
    search_fields = ["reference", "service_id", "operation_id"]
    show_full_result_count = False
    list_select_related = ["log"]
    # The arguments as shown (secrets redacted); the encrypted ones are never shown, not even as ciphertext.
    fields = [f.name if f.name != "arguments" else "arguments_column" for f in PendingApproval._meta.fields
              if f.name != "sealed_arguments"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).defer("log__assistant_response", "log__service_responses", "log__error")

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"title": "Calls held for approval, pending and decided", **(extra_context or {})})

    @admin.display(description="operation", ordering="operation_id")
    def operation_column(self, approval):
        return format_html('<span class="method">{}</span> {}<br><span class="quiet">{}</span>', approval.method,
                           breakable(approval.operation_id), approval.service_name)

    @admin.display(description="request")
    def request_column(self, approval):
        url = reverse("admin:interactions_interactionlog_change", args=[approval.log_id])
        return format_html('<a href="{}">{}</a>', url, shortened(approval.log.user_input, 100))

    @admin.display(description="asked", ordering="created_at")
    def asked_column(self, approval):
        return format_html('<span class="nowrap">{}</span><br><span class="quiet">{}</span>',
                           f"{timezone.localtime(approval.created_at):%Y-%m-%d %H:%M}", approval.requested_by)

    @admin.display(description="decided", ordering="decided_at")
    def decided_column(self, approval):
        if approval.decided_at is None:
            return "-"
        return format_html('<span class="nowrap">{}</span><br><span class="quiet">{}</span>',
                           f"{timezone.localtime(approval.decided_at):%Y-%m-%d %H:%M}", approval.decided_by or "-")

    @admin.display(description="arguments")
    def arguments_column(self, approval):
        return json_block(approval.arguments)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TurnInline(admin.TabularInline):
    """A conversation's logs as a thread, oldest first: each turn (and each refusal, which
    has no turn number) with what was asked and answered, its service calls and the calls
    it held for approval with their decisions. Each links to its full log entry."""

    model = InteractionLog
    extra = 0
    can_delete = False
    fields = ["turn_column", "exchange_column", "calls_column", "approvals_column"]
    readonly_fields = fields
    classes = ["no-captions"]
    verbose_name = "turn"
    ordering = ["created_at", "id"]

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("created_at", "id").prefetch_related("calls", "approvals")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="turn")
    def turn_column(self, log):
        url = reverse("admin:interactions_interactionlog_change", args=[log.pk])
        label = f"#{log.turn}" if log.turn else "refused"
        return format_html('<a href="{}">{}</a><br><span class="quiet nowrap">{}</span><br><span class="quiet">{}</span>', url,
                           label, f"{timezone.localtime(log.created_at):%Y-%m-%d %H:%M:%S}", log.outcome)

    @admin.display(description="asked and answered")
    def exchange_column(self, log):
        answer = log.assistant_response or log.error or "-"
        return format_html("<strong>{}</strong><br>{}", shortened(log.user_input, 300), shortened(answer, 600))

    @admin.display(description="service calls")
    def calls_column(self, log):
        calls = sorted(log.calls.all(), key=lambda call: call.position)
        if not calls:
            return "-"
        return format_html_join("<br>", '<span class="method">{}</span> {} <span class="quiet">{}</span>', (
            (call.method, breakable(call.operation_id), f"HTTP {call.status}" if call.status else "not sent")
            for call in calls
        ))

    @admin.display(description="held for approval")
    def approvals_column(self, log):
        held = list(log.approvals.all())
        if not held:
            return "-"
        return format_html_join("<br>", "{} {} <strong>{}</strong> {}", (
            (approval.reference, breakable(approval.operation_id), approval.state, shortened(approval.reason, 200))
            for approval in held
        ))


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    """Read-only: a conversation and its turns, as a thread."""

    list_display = ["short_id", "owner", "turns", "created_at", "last_turn_at"]
    search_fields = ["id", "owner"]
    show_full_result_count = False
    paginator = CappedCountPaginator
    fields = ["id", "owner", "turns", "created_at", "last_turn_at"]
    readonly_fields = fields
    inlines = [TurnInline]

    @admin.display(description="conversation", ordering="id")
    def short_id(self, conversation):
        return f"{conversation.id[:12]}…"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
