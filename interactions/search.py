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


def to_document(log) -> dict:
    return {
        "id": str(log.pk),
        "user_input": log.user_input[:20000],
        "assistant_response": log.assistant_response[:20000],
        "service_names": sorted({r.get("service_name", "") for r in log.service_responses}),
        "outcome": log.outcome,
        "backend": log.backend,
        "timestamp": int(log.created_at.timestamp() * 1000),
        "version": 1,  # logs never change
    }


def _model():
    from .models import InteractionLog

    return InteractionLog


def documents_for(ids):
    pks = [int(i) for i in ids if str(i).isdigit()]
    return {str(log.pk): to_document(log) for log in _model().objects.filter(pk__in=pks)}


def versions_for(ids):
    pks = [int(i) for i in ids if str(i).isdigit()]
    return {str(pk): 1 for pk in _model().objects.filter(pk__in=pks).values_list("pk", flat=True)}


def iter_all_documents(batch_size):
    last = 0
    while True:
        batch = list(_model().objects.filter(pk__gt=last).order_by("pk")[:batch_size])
        if not batch:
            return
        yield [to_document(log) for log in batch]
        last = batch[-1].pk


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
    iter_all_versions=iter_all_versions,
    count=count,
)


def log_saved(sender, instance, created, **kwargs):
    if created:
        outbox.enqueue(LOGS_INDEX.name, [instance.pk])
