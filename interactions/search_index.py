"""The interaction logs index: what a log looks like in Typesense, and how it is searched."""

from search import outbox
from search.indexes import row_index

from .models import InteractionLog, ServiceCall

FIELDS = [
    {"name": "user_input", "type": "string"},
    {"name": "assistant_response", "type": "string"},
    # What the services answered, as one text (GET /logs' service_responses).
    {"name": "service_text", "type": "string"},
    {"name": "service_names", "type": "string[]", "facet": True},
    {"name": "service_ids", "type": "string[]", "facet": True},
    {"name": "outcome", "type": "string", "facet": True},
    {"name": "backend", "type": "string", "facet": True},
    # The conversation of the log ("" for logs without one), for GET /logs?conversation_id=&q=.
    {"name": "conversation_id", "type": "string", "facet": True},
    {"name": "timestamp", "type": "int64", "sort": True},
    {"name": "version", "type": "int64"},
]

# What the user asked ranks above what the assistant answered, above the services' text.
QUERY_BY = ("user_input", "assistant_response", "service_text")
QUERY_WEIGHTS = (4, 2, 1)
FACETS = ("service_names", "outcome", "backend")

_TEXT_MAX = 20000
_COLUMNS = ("pk", "user_input", "assistant_response", "service_responses", "outcome", "backend", "created_at",
            "conversation_id")


def _document(pk, user_input, assistant_response, service_responses, outcome, backend, created_at, conversation_id,
              service_ids=()) -> dict:
    return {
        "id": str(pk),
        "user_input": user_input[:_TEXT_MAX],
        "assistant_response": assistant_response[:_TEXT_MAX],
        "service_text": "\n".join(str(r.get("response", "")) for r in service_responses)[:_TEXT_MAX],
        "service_names": sorted({r.get("service_name", "") for r in service_responses}),
        "service_ids": sorted(set(service_ids)),
        "outcome": outcome,
        "backend": backend,
        "conversation_id": conversation_id or "",
        "timestamp": int(created_at.timestamp() * 1000),
        "version": 1,  # logs never change
    }


def _service_ids_of(pks) -> dict[int, list[str]]:
    """The services each log called (one query for a batch of logs)."""
    called: dict[int, list[str]] = {}
    for log_id, service_id in ServiceCall.objects.filter(log_id__in=list(pks)).values_list("log_id", "service_id"):
        called.setdefault(log_id, []).append(service_id)
    return called


def to_document(log, service_ids=None) -> dict:
    if service_ids is None:
        service_ids = log.calls.values_list("service_id", flat=True)
    return _document(*(getattr(log, column) for column in _COLUMNS), service_ids=service_ids)


def _documents(logs) -> list[dict]:
    # Rows as tuples, not model instances: a resync reads every log.
    rows = list(logs.values_list(*_COLUMNS))
    called = _service_ids_of(row[0] for row in rows)
    return [_document(*row, service_ids=called.get(row[0], ())) for row in rows]


LOGS_INDEX = row_index(
    name="interaction_logs",
    schema_version=3,  # 2: service_text and service_ids, for GET /logs?q=&service_id=; 3: conversation_id
    fields=FIELDS,
    default_sorting_field="timestamp",
    queryset=InteractionLog.objects.all,
    documents=_documents,
    version_field=None,  # logs never change
    id_type=int,
    query_by=QUERY_BY,
    query_weights=QUERY_WEIGHTS,
    facets=FACETS,
)


def log_saved(sender, instance, created, **kwargs):
    if created:
        outbox.enqueue(LOGS_INDEX.name, [instance.pk])
