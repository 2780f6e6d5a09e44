"""The operations index: every operation the assistant may call, one document each,
so the operations relevant to a user's input are found by a Typesense search.

Object ids are `<service id>:<operationId>` (service ids never hold ':'). A document's
version combines the snapshot's fetch time and the service's revision, so a refetched
spec, a renamed service or a read-only switch each reach the index.
"""

from core.words import index_words as words
from search import outbox
from search.backend import SearchError, get_backend
from search.indexes import IndexDefinition

from .models import SpecSnapshot, services_with_snapshots
from .rendering import offered_operations

INDEX_NAME = "operations"
SEPARATOR = ":"

FIELDS = [
    {"name": "service_id", "type": "string", "facet": True},
    {"name": "service_name", "type": "string"},
    {"name": "operation_id", "type": "string"},
    {"name": "method", "type": "string", "facet": True},
    {"name": "path", "type": "string", "index": False, "optional": True},
    {"name": "words", "type": "string"},
    {"name": "version", "type": "int64"},
]


def object_id(service_id: str, operation_id: str) -> str:
    return f"{service_id}{SEPARATOR}{operation_id}"


def _service_of(object_id_: str) -> str:
    return object_id_.partition(SEPARATOR)[0]


def _documents(services) -> dict[str, dict]:
    documents = {}
    for service in services:
        snapshot = getattr(service, "spec", None)
        if snapshot is None or not snapshot.usable:
            continue
        version = int(snapshot.fetched_at.timestamp() * 1000) * 1000 + service.revision % 1000
        for op in offered_operations(service, snapshot):
            text = " ".join([op["operation_id"], op.get("summary", ""), op["path"], service.name])
            oid = object_id(service.id, op["operation_id"])
            documents[oid] = {
                "id": oid, "service_id": service.id, "service_name": service.name, "operation_id": op["operation_id"],
                "method": op["method"], "path": op["path"], "words": " ".join(sorted(words(text))), "version": version,
            }
    return documents


def _services():
    return services_with_snapshots().order_by("pk")


def documents_for(ids):
    found = _documents(_services().filter(pk__in={_service_of(i) for i in ids}))
    return {i: found[i] for i in ids if i in found}


def versions_for(ids):
    return {i: doc["version"] for i, doc in documents_for(ids).items()}


def versions_between(first_id, last_id):
    services = _services().filter(pk__gte=_service_of(first_id), pk__lte=_service_of(last_id))
    return {i: doc["version"] for i, doc in _documents(services).items() if first_id <= i <= last_id}


def _all_documents() -> list[dict]:
    return [doc for _, doc in sorted(_documents(_services()).items())]


def iter_all_documents(batch_size):
    yield from _all_documents()


def iter_all_versions():
    return [(doc["id"], doc["version"]) for doc in _all_documents()]


def count():
    return len(_all_documents())


OPERATIONS_INDEX = IndexDefinition(
    name=INDEX_NAME,
    schema_version=1,
    fields=FIELDS,
    default_sorting_field=None,
    documents_for=documents_for,
    versions_for=versions_for,
    iter_all_documents=iter_all_documents,
    versions_between=versions_between,
    iter_all_versions=iter_all_versions,
    count=count,
)


def enqueue_operations(service_id: str, operations) -> None:
    """Record that these operations of a service changed (added, removed or altered)."""
    outbox.enqueue(INDEX_NAME, [object_id(service_id, op["operation_id"]) for op in operations])


# --- signal receivers (connected in PromptsConfig.ready) ------------------------------------


def snapshot_deleted(sender, instance, **kwargs):
    enqueue_operations(instance.service_id, instance.operations)


def service_saved(sender, instance, **kwargs):
    snapshot = SpecSnapshot.objects.filter(service_id=instance.pk).defer("document").first()
    if snapshot is not None:
        enqueue_operations(instance.pk, snapshot.operations)


# --- searching --------------------------------------------------------------------------------


def search_operations(text: str, *, limit: int = 250) -> list[tuple[str, int]] | None:
    """(object id, relevance) of the operations that match `text`, best first; equally
    good matches share a relevance (1 = the weakest match). None when the index cannot
    be trusted now (entries still pending, or Typesense not answering): callers then
    rank in-process. Never raises for Typesense's sake."""
    if outbox.has_pending(INDEX_NAME):
        return None
    query = " ".join(sorted(words(text)))
    if not query:
        return []
    backend = get_backend()
    try:
        result = backend.search(backend.alias_name(INDEX_NAME), {
            "q": query, "query_by": "words,operation_id,service_name", "query_by_weights": "3,2,1",
            "per_page": min(limit, 250), "num_typos": 1, "prefix": "false", "include_fields": "id",
            # A sentence has words no operation has: drop them rather than find nothing.
            "drop_tokens_threshold": min(limit, 250),
        })
    except SearchError:
        return None
    hits = [(hit["document"]["id"], hit.get("text_match", 0)) for hit in result.get("hits", [])]
    levels = {score: rank for rank, score in enumerate(sorted({score for _, score in hits}), start=1)}
    return [(oid, levels[score]) for oid, score in hits]
