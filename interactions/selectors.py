import gc
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

from prompts.models import OperationPolicy, SpecSnapshot
from prompts.rendering import render_system_prompt
from prompts.selectors import ServiceSpec, usable_service_specs
from registry.models import RegistryRevision, Service
from search import query
from search.backend import get_backend
from search.outbox import oldest_pending

from .models import InteractionLog, ServiceCall
from .search_index import LOGS_INDEX
from .tools import Tool, build_tools

# Beyond any real table; also keeps the OFFSET inside the databases' 64-bit integers.
MAX_OFFSET = 10**12


@dataclass
class SearchPage:
    """A page of search results and how far the index behind them lags."""

    logs: list
    found: int  # matches in the index, before the database re-read
    backlog: int  # log changes not yet in Typesense: a just-written log may be missing


def logs_page(*, limit: int, offset: int):
    """Newest first. The (created_at, id) index serves the order; only the columns the
    API returns are read, so deep offsets stay index scans."""
    if offset > MAX_OFFSET:
        return []
    # A "deferred join": skip rows on the (created_at, id) index alone, then read the
    # page's rows by id; skipping 900,000 full rows would read them all.
    ids = list(InteractionLog.objects.order_by("-created_at", "-id").values_list("id", flat=True)[offset : offset + limit])
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
                "user_input": log.user_input, "assistant_response": log.assistant_response,
                "service_responses": log.service_responses, "outcome": log.outcome, "error": log.error,
                "backend": log.backend, "model": log.model, "duration_ms": log.duration_ms,
                "prompt_tokens": log.prompt_tokens, "completion_tokens": log.completion_tokens,
                "service_calls": calls.get(log.id, []),
            }
        last_id = chunk[-1].id


def logs_search(*, q: str = "", service_id: str = "", limit: int = 50, offset: int = 0):
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
    result = query.search(LOGS_INDEX, q=q, filters=filters, offset=offset, limit=limit)
    ids = [int(i) for i in result.ids if i.isdigit()]
    rows = InteractionLog.objects.only("created_at", "user_input", "assistant_response", "service_responses").in_bulk(ids)
    return SearchPage(logs=[rows[i] for i in ids if i in rows], found=result.found, backlog=query.backlog(LOGS_INDEX))


# --- what the assistant may use ------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What one interaction offers the assistant: the services with their specs, their
    operations as tools, and the system prompt."""

    pairs: list[ServiceSpec]
    tools: list[Tool]
    prompt: str


def scope_version() -> tuple:
    """Changes whenever what the assistant may use can change: the registry's revision
    (every service write moves it), and the count and newest time of the spec snapshots
    and of the operation policies. One small query, for every worker and instance alike."""
    tables = {name: connection.ops.quote_name(model._meta.db_table)
              for name, model in (("revision", RegistryRevision), ("spec", SpecSnapshot), ("policy", OperationPolicy))}
    with connection.cursor() as cursor:  # on every /interact: plain SQL, no ORM compiling
        cursor.execute(
            f"SELECT (SELECT token FROM {tables['revision']} WHERE id = 1), "
            f"(SELECT COUNT(*) FROM {tables['spec']}), (SELECT MAX(fetched_at) FROM {tables['spec']}), "
            f"(SELECT COUNT(*) FROM {tables['policy']}), (SELECT MAX(updated_at) FROM {tables['policy']})"
        )
        return tuple(cursor.fetchone())


# This process's scope for the whole registry, kept while scope_version() says nothing
# changed: with a thousand services, loading them and their snapshots on every request
# would cost tens of milliseconds. While some spec is not usable yet the entry is kept
# only ENSEMBLE_SPEC_RETRY_SECONDS, so the request path goes on asking for its fetch.
_scope: dict = {"version": None, "scope": None, "until": 0.0}
_scope_lock = threading.Lock()


def assistant_scope(service_ids=None) -> Scope:
    """The Scope of an interaction (of the whole registry, or of `service_ids` only)."""
    if service_ids is not None:
        return _build_scope(usable_service_specs(service_ids))
    version = scope_version()
    with _scope_lock:
        if version is not None and _scope["version"] == version and time.monotonic() < _scope["until"]:
            return _scope["scope"]
    pairs = usable_service_specs()
    scope = _build_scope(pairs)
    if version[0] is not None:  # no revision row (a test's flushed database): nothing to key on
        complete = len(pairs) == Service.objects.count()
        with _scope_lock:
            _scope["version"], _scope["scope"] = version, scope
            _scope["until"] = time.monotonic() + (float("inf") if complete else settings.ENSEMBLE_SPEC_RETRY_SECONDS)
        if len(scope.tools) >= _LONG_LIVED_TOOLS:
            _keep_out_of_full_collections()
    return scope


# A large scope is hundreds of thousands of objects that live until the registry changes.
# Python's full garbage collections walk every one of them, and with 10,000 operations
# one walk took ~150 ms in the middle of some request: the p99 of /interact
# (bench_interact_scale). Frozen, they are skipped; still freed by reference counting.
_LONG_LIVED_TOOLS = 1000


def _keep_out_of_full_collections() -> None:
    gc.unfreeze()  # the previous scope's objects back in the collector's view,
    gc.collect()  # so cycles among them are freed now (once per rebuild, not per request)
    gc.freeze()


def _build_scope(pairs: list[ServiceSpec]) -> Scope:
    return Scope(pairs=pairs, tools=build_tools(pairs),
                 prompt=render_system_prompt(pairs, token_budget=settings.ENSEMBLE_PROMPT_TOKEN_BUDGET))
