import math
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Max, Q
from django.utils import timezone

from assistants import PastCall, Turn
from search import query
from search.backend import get_backend
from search.outbox import oldest_pending

from .conversations import ANSWERED_OUTCOMES
from .models import InteractionLog, PendingApproval, ServiceCall
from .search_index import LOGS_INDEX

# Beyond any real table; also keeps the OFFSET inside the databases' 64-bit integers.
MAX_OFFSET = 10**12


@dataclass
class SearchPage:
    """A page of search results and how far the index behind them lags."""

    logs: list
    found: int  # matches in the index, before the database re-read
    backlog: int  # log changes not yet in Typesense: a just-written log may be missing


def logs_page(*, limit: int, offset: int, logs=None):
    """Newest first, of `logs` (a filtered queryset; default: every log). The
    (created_at, id) index serves the order; only the columns the API returns are read,
    so deep offsets stay index scans."""
    if offset > MAX_OFFSET:
        return []
    logs = InteractionLog.objects.all() if logs is None else logs
    # A "deferred join": skip rows on the (created_at, id) index alone, then read the
    # page's rows by id; skipping 900,000 full rows would read them all.
    ids = list(logs.order_by("-created_at", "-id").values_list("id", flat=True)[offset : offset + limit])
    rows = InteractionLog.objects.only("created_at", "user_input", "assistant_response", "service_responses").in_bulk(ids)
    return [rows[i] for i in ids if i in rows]


def logs_sync_failure():
    """Why the logs' Typesense mirror counts as failed, or None.

    GET /logs reads the database, so it can always answer; but the contract promises
    logs are synchronised with Typesense and has a 502 for when they are not. We answer
    502 when an interaction log has waited longer than ENSEMBLE_LOGS_MAX_SYNC_LAG_SECONDS
    to reach Typesense and Typesense does not answer now: then the mirror is broken,
    not merely behind. Returns (retry_attempts, error text)."""
    oldest = oldest_pending(LOGS_INDEX.name)
    if oldest is None or oldest.created_at > timezone.now() - timedelta(seconds=settings.ENSEMBLE_LOGS_MAX_SYNC_LAG_SECONDS):
        return None
    if get_backend().healthy():
        return None
    return oldest.attempts, oldest.last_error or "Typesense does not answer."


def logs_for_export(*, since=None, until=None, chunk_size: int = 2000):
    """Every log in [since, until), oldest first, with its service calls, as plain dicts,
    streamed in chunks so a million rows never sit in memory at once."""
    logs = InteractionLog.objects.order_by("id")
    if since is not None:
        logs = logs.filter(created_at__gte=since)
    if until is not None:
        logs = logs.filter(created_at__lt=until)
    last_id = 0
    while True:
        chunk = list(logs.filter(id__gt=last_id)[:chunk_size])
        if not chunk:
            return
        calls: dict[int, list] = {}
        for call in ServiceCall.objects.filter(log_id__in=[log.id for log in chunk]).order_by("log_id", "position"):
            calls.setdefault(call.log_id, []).append({
                "service_id": call.service_id, "service_name": call.service_name, "operation_id": call.operation_id,
                "method": call.method, "url": call.url, "request": call.request, "status": call.status, "ok": call.ok,
                "response_hash": call.response_hash, "error": call.error, "duration_ms": call.duration_ms,
            })
        for log in chunk:
            yield {
                "id": log.id, "timestamp": log.created_at.isoformat(), "request_id": log.request_id,
                "conversation_id": log.conversation_id, "turn": log.turn,
                "user_input": log.user_input, "assistant_response": log.assistant_response,
                "service_responses": log.service_responses, "outcome": log.outcome, "error": log.error,
                "backend": log.backend, "model": log.model, "duration_ms": log.duration_ms,
                "prompt_tokens": log.prompt_tokens, "completion_tokens": log.completion_tokens,
                "service_calls": calls.get(log.id, []),
            }
        last_id = chunk[-1].id


def logs_search(*, q: str = "", service_id: str = "", conversation_id: str = "", limit: int = 50, offset: int = 0):
    """GET /logs?q=&service_id=: full-text search of user input, assistant response and
    service responses through the Typesense mirror, best match first (then newest);
    `service_id` keeps the interactions that called that service.

    Typesense only ranks: the logs are read again from the database by id, so a log that
    was deleted or pruned since never shows. Returns a `SearchPage`; raises
    search.backend.SearchError when Typesense does not answer (the API answers 502:
    scanning every log in the database instead would turn an outage into an overload)."""
    if offset > MAX_OFFSET:
        return SearchPage(logs=[], found=0, backlog=query.backlog(LOGS_INDEX))
    filters = [query.filter_in("service_ids", [service_id])] if service_id else []
    if conversation_id:
        filters.append(query.filter_in("conversation_id", [conversation_id]))
    result = query.search(LOGS_INDEX, q=q, filters=filters, offset=offset, limit=limit)
    ids = [int(i) for i in result.ids if i.isdigit()]
    rows = InteractionLog.objects.only("created_at", "user_input", "assistant_response", "service_responses").in_bulk(ids)
    return SearchPage(logs=[rows[i] for i in ids if i in rows], found=result.found, backlog=query.backlog(LOGS_INDEX))


def logs_prunable(*, older_than):
    """The logs `retention_prune` deletes (interactions.services.logs_prune): those before
    `older_than` outside conversations, and every log of a conversation whose latest turn
    started before it."""
    return InteractionLog.objects.filter(
        Q(conversation__isnull=True, created_at__lt=older_than) | Q(conversation__last_turn_at__lt=older_than)
    )


# --- a conversation's earlier turns, as the assistants get them --------------------------

def conversation_history(conversation_id: str, *, before_turn: int, limit: int | None = None) -> tuple[Turn, ...]:
    """The answered turns of a conversation before `before_turn`, oldest first (at most
    `limit`, the latest ones; default ENSEMBLE_CONVERSATION_MAX_TURNS), each with its
    service calls as the log keeps them (arguments redacted, answers truncated and
    redacted): sent calls in order, and calls held for approval that were not sent (yet)
    as calls without a status whose answer is the log's line for them. Two queries
    besides the logs', whatever the number of turns."""
    if before_turn <= 1:
        return ()  # a first turn has none before it: no queries (every /interact starts a conversation)
    limit = settings.ENSEMBLE_CONVERSATION_MAX_TURNS if limit is None else limit
    logs = list(
        InteractionLog.objects.filter(conversation_id=conversation_id, turn__lt=before_turn, outcome__in=ANSWERED_OUTCOMES)
        .only("id", "user_input", "assistant_response", "service_responses", "turn").order_by("-turn", "-id")[:limit]
    )[::-1]
    by_log: dict[int, list[tuple[int, PastCall]]] = {log.id: [] for log in logs}
    for call in ServiceCall.objects.filter(log_id__in=list(by_log)).only(
        "log_id", "position", "service_id", "operation_id", "method", "request", "status", "ok", "response"
    ):
        by_log[call.log_id].append((call.position, PastCall(
            service_id=call.service_id, operation_id=call.operation_id, method=call.method, arguments=call.request,
            status=call.status, ok=call.ok, response=call.response,
        )))
    lines = {log.id: log.service_responses for log in logs}
    for approval in PendingApproval.objects.filter(log_id__in=list(by_log), call__isnull=True).only(
        "log_id", "position", "service_id", "operation_id", "method", "arguments"
    ):
        log_lines = lines[approval.log_id]
        line = log_lines[approval.position]["response"] if approval.position < len(log_lines) else ""
        by_log[approval.log_id].append((approval.position, PastCall(
            service_id=approval.service_id, operation_id=approval.operation_id, method=approval.method,
            arguments=approval.arguments, status=None, ok=False, response=line,
        )))
    return tuple(
        Turn(user_input=log.user_input, assistant_response=log.assistant_response,
             calls=tuple(call for _, call in sorted(by_log[log.id], key=lambda item: item[0])))
        for log in logs
    )


# --- the health of operations and the approvals waiting (read by the control room) ------------

# Durations for the percentiles are read from the newest calls only: a bound on the
# rows one page reads, however busy the service.
DURATION_SAMPLE = 20000


@dataclass
class Health:
    calls: int = 0
    failed: int = 0
    p50_ms: int | None = None
    p95_ms: int | None = None

    @property
    def failed_share(self) -> str:
        return f"{100 * self.failed / self.calls:.0f}%" if self.calls else "-"


@dataclass
class OperationHealth:
    """An operation's calls over the last 24 hours and 7 days, and its last failure."""

    day: Health = field(default_factory=Health)
    week: Health = field(default_factory=Health)
    last_error: str = ""
    last_error_at: object = None


def percentile(sorted_values: list[int], p: float) -> int | None:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


def operations_health(*, service_id: str, now=None) -> dict[str, OperationHealth]:
    """{operation_id: OperationHealth} of the operations of a service that were called
    in the last 7 days. Three queries on ServiceCall's (service_id, operation_id,
    created_at) index, whatever the number of calls."""
    now = now or timezone.now()
    week_ago, day_ago = now - timedelta(days=7), now - timedelta(days=1)
    calls = ServiceCall.objects.filter(service_id=service_id, created_at__gte=week_ago, created_at__lte=now)
    counts = calls.values("operation_id").annotate(
        calls=Count("id"), failed=Count("id", filter=Q(ok=False)),
        day_calls=Count("id", filter=Q(created_at__gte=day_ago)),
        day_failed=Count("id", filter=Q(created_at__gte=day_ago, ok=False)),
        last_error_id=Max("id", filter=Q(ok=False)),
    ).order_by()
    health: dict[str, OperationHealth] = {}
    error_ids = {}
    for item in counts:
        row = health[item["operation_id"]] = OperationHealth()
        row.week.calls, row.week.failed = item["calls"], item["failed"]
        row.day.calls, row.day.failed = item["day_calls"], item["day_failed"]
        if item["last_error_id"]:
            error_ids[item["last_error_id"]] = row
    durations: dict[str, tuple[list, list]] = {}
    for operation_id, created_at, duration in calls.order_by("-created_at").values_list(
        "operation_id", "created_at", "duration_ms"
    )[:DURATION_SAMPLE]:
        week, day = durations.setdefault(operation_id, ([], []))
        week.append(duration)
        if created_at >= day_ago:
            day.append(duration)
    for operation_id, (week, day) in durations.items():
        row = health.setdefault(operation_id, OperationHealth())
        week.sort()
        day.sort()
        row.week.p50_ms, row.week.p95_ms = percentile(week, 50), percentile(week, 95)
        row.day.p50_ms, row.day.p95_ms = percentile(day, 50), percentile(day, 95)
    for pk, error, status, created_at in ServiceCall.objects.filter(pk__in=error_ids).values_list(
        "pk", "error", "status", "created_at"
    ):
        row = error_ids[pk]
        row.last_error = error or f"HTTP {status}"
        row.last_error_at = created_at
    return health


def failing_operations(*, hours: int = 24, limit: int = 10) -> list[dict]:
    """The operations with the most failed calls in the last `hours`, across services."""
    since = timezone.now() - timedelta(hours=hours)
    return list(
        ServiceCall.objects.filter(created_at__gte=since)
        .values("service_id", "operation_id")
        .annotate(calls=Count("id"), failed=Count("id", filter=Q(ok=False)))
        .filter(failed__gt=0)
        .order_by("-failed", "service_id", "operation_id")[:limit]
    )


def pending_approvals_count() -> int:
    return PendingApproval.objects.filter(state=PendingApproval.State.PENDING, expires_at__gt=timezone.now()).count()


def approvals_pending(*, limit: int = 200) -> list[PendingApproval]:
    """The calls waiting for a decision, oldest first."""
    return list(PendingApproval.objects.filter(state=PendingApproval.State.PENDING).defer("sealed_arguments")
                .order_by("created_at", "id")[:limit])


def approvals_decided(*, limit: int = 20) -> list[PendingApproval]:
    """The latest decisions (approved, rejected, expired, changed), newest first."""
    return list(PendingApproval.objects.exclude(state=PendingApproval.State.PENDING).defer("sealed_arguments")
                .order_by("-decided_at", "-id")[:limit])


def recent_operation_calls(*, limit: int) -> list[tuple[str, str]]:
    """(service id, operationId) of the latest `limit` service calls, newest first: a
    primary-key scan of bounded cost however large the log grows."""
    return list(ServiceCall.objects.order_by("-id").values_list("service_id", "operation_id")[:limit])
