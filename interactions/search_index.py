"""The interaction logs index: what a log looks like in Typesense, and how it is searched."""

from search import outbox
from search.indexes import IndexDefinition

FIELDS = [
    {"name": "user_input", "type": "string"},
    {"name": "assistant_response", "type": "string"},
    # What the services answered, as one text (GET /logs' service_responses).
    {"name": "service_text", "type": "string"},
    {"name": "service_names", "type": "string[]", "facet": True},
    {"name": "service_ids", "type": "string[]", "facet": True},
    {"name": "outcome", "type": "string", "facet": True},
    {"name": "backend", "type": "string", "facet": True},
    {"name": "timestamp", "type": "int64", "sort": True},
    {"name": "version", "type": "int64"},
]

# What the user asked ranks above what the assistant answered, above the services' text.
QUERY_BY = ("user_input", "assistant_response", "service_text")
QUERY_WEIGHTS = (4, 2, 1)
FACETS = ("service_names", "outcome", "backend")

_TEXT_MAX = 20000
_COLUMNS = ("pk", "user_input", "assistant_response", "service_responses", "outcome", "backend", "created_at")


def _document(pk, user_input, assistant_response, service_responses, outcome, backend, created_at, service_ids=()) -> dict:
    return {
        "id": str(pk),
        "user_input": user_input[:_TEXT_MAX],
        "assistant_response": assistant_response[:_TEXT_MAX],
        "service_text": "\n".join(str(r.get("response", "")) for r in service_responses)[:_TEXT_MAX],
        "service_names": sorted({r.get("service_name", "") for r in service_responses}),
        "service_ids": sorted(set(service_ids)),
        "outcome": outcome,
        "backend": backend,
        "timestamp": int(created_at.timestamp() * 1000),
        "version": 1,  # logs never change
    }


def _service_ids_of(pks) -> dict[int, list[str]]:
    """The services each log called (one query for a batch of logs)."""
    from .models import ServiceCall

    called: dict[int, list[str]] = {}
    for log_id, service_id in ServiceCall.objects.filter(log_id__in=list(pks)).values_list("log_id", "service_id"):
        called.setdefault(log_id, []).append(service_id)
    return called


def to_document(log, service_ids=None) -> dict:
    if service_ids is None:
        service_ids = log.calls.values_list("service_id", flat=True)
    return _document(*(getattr(log, column) for column in _COLUMNS), service_ids=service_ids)


def _model():
    from .models import InteractionLog

    return InteractionLog


def documents_for(ids):
    pks = [int(i) for i in ids if str(i).isdigit()]
    logs = list(_model().objects.filter(pk__in=pks))
    called = _service_ids_of(log.pk for log in logs)
    return {str(log.pk): to_document(log, called.get(log.pk, ())) for log in logs}


def versions_for(ids):
    pks = [int(i) for i in ids if str(i).isdigit()]
    return {str(pk): 1 for pk in _model().objects.filter(pk__in=pks).values_list("pk", flat=True)}


def versions_between(first_id, last_id):
    pks = _model().objects.filter(pk__gte=int(first_id), pk__lte=int(last_id)).values_list("pk", flat=True)
    return {str(pk): 1 for pk in pks}


def iter_all_documents(batch_size):
    # Rows as tuples, not model instances: a resync reads every log.
    last = 0
    while True:
        rows = list(_model().objects.filter(pk__gt=last).order_by("pk").values_list(*_COLUMNS)[:batch_size])
        if not rows:
            return
        called = _service_ids_of(row[0] for row in rows)
        yield [_document(*row, service_ids=called.get(row[0], ())) for row in rows]
        last = rows[-1][0]


def iter_all_versions():
    return ((str(pk), 1) for pk in _model().objects.values_list("pk", flat=True).iterator(chunk_size=10000))


def count():
    return _model().objects.count()


LOGS_INDEX = IndexDefinition(
    name="interaction_logs",
    schema_version=2,  # 2: service_text and service_ids, for GET /logs?q=&service_id=
    fields=FIELDS,
    default_sorting_field="timestamp",
    documents_for=documents_for,
    versions_for=versions_for,
    iter_all_documents=iter_all_documents,
    versions_between=versions_between,
    iter_all_versions=iter_all_versions,
    count=count,
    query_by=QUERY_BY,
    query_weights=QUERY_WEIGHTS,
    facets=FACETS,
)


def log_saved(sender, instance, created, **kwargs):
    if created:
        outbox.enqueue(LOGS_INDEX.name, [instance.pk])
