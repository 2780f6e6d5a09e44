"""The interaction logs index."""

from search import outbox
from search.indexes import IndexDefinition

FIELDS = [
    {"name": "user_input", "type": "string"},
    {"name": "assistant_response", "type": "string"},
    {"name": "service_names", "type": "string[]", "facet": True},
    {"name": "outcome", "type": "string", "facet": True},
    {"name": "backend", "type": "string", "facet": True},
    {"name": "timestamp", "type": "int64", "sort": True},
    {"name": "version", "type": "int64"},
]


_COLUMNS = ("pk", "user_input", "assistant_response", "service_responses", "outcome", "backend", "created_at")


def _document(pk, user_input, assistant_response, service_responses, outcome, backend, created_at) -> dict:
    return {
        "id": str(pk),
        "user_input": user_input[:20000],
        "assistant_response": assistant_response[:20000],
        "service_names": sorted({r.get("service_name", "") for r in service_responses}),
        "outcome": outcome,
        "backend": backend,
        "timestamp": int(created_at.timestamp() * 1000),
        "version": 1,  # logs never change
    }


def to_document(log) -> dict:
    return _document(*(getattr(log, column) for column in _COLUMNS))


def _model():
    from .models import InteractionLog

    return InteractionLog


def documents_for(ids):
    pks = [int(i) for i in ids if str(i).isdigit()]
    return {str(log.pk): to_document(log) for log in _model().objects.filter(pk__in=pks)}


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
        yield [_document(*row) for row in rows]
        last = rows[-1][0]


def iter_all_versions():
    return ((str(pk), 1) for pk in _model().objects.values_list("pk", flat=True).iterator(chunk_size=10000))


def count():
    return _model().objects.count()


LOGS_INDEX = IndexDefinition(
    name="interaction_logs",
    schema_version=1,
    fields=FIELDS,
    default_sorting_field="timestamp",
    documents_for=documents_for,
    versions_for=versions_for,
    iter_all_documents=iter_all_documents,
    versions_between=versions_between,
    iter_all_versions=iter_all_versions,
    count=count,
)


def log_saved(sender, instance, created, **kwargs):
    if created:
        outbox.enqueue(LOGS_INDEX.name, [instance.pk])
