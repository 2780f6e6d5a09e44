"""The services index: what a service looks like in Typesense."""

from search.indexes import IndexDefinition

FIELDS = [
    {"name": "name", "type": "string"},
    {"name": "description", "type": "string"},
    {"name": "openapi_url", "type": "string", "index": False, "optional": True},
    {"name": "tags", "type": "string[]", "facet": True},
    {"name": "created_at", "type": "int64", "sort": True},
    {"name": "updated_at", "type": "int64", "sort": True},
    {"name": "version", "type": "int64"},
]


def _epoch_ms(moment) -> int:
    return int(moment.timestamp() * 1000)


def to_document(service) -> dict:
    return {
        "id": service.id,
        "name": service.name,
        "description": service.description,
        "openapi_url": service.openapi_url,
        "tags": service.tag_list,
        "created_at": _epoch_ms(service.created_at),
        "updated_at": _epoch_ms(service.updated_at),
        "version": service.revision,
    }


def _queryset():
    from .models import Service

    return Service.objects.prefetch_related("tags")


def documents_for(ids):
    return {s.id: to_document(s) for s in _queryset().filter(pk__in=ids)}


def versions_for(ids):
    from .models import Service

    return dict(Service.objects.filter(pk__in=ids).values_list("id", "revision"))


def versions_between(first_id, last_id):
    from .models import Service

    return dict(Service.objects.filter(pk__gte=first_id, pk__lte=last_id).values_list("id", "revision"))


def iter_all_documents(batch_size):
    last = ""
    while True:
        batch = list(_queryset().filter(pk__gt=last).order_by("pk")[:batch_size])
        if not batch:
            return
        yield [to_document(s) for s in batch]
        last = batch[-1].pk


def iter_all_versions():
    from .models import Service

    return Service.objects.values_list("id", "revision").iterator(chunk_size=5000)


def count():
    from .models import Service

    return Service.objects.count()


SERVICES_INDEX = IndexDefinition(
    name="services",
    schema_version=1,
    fields=FIELDS,
    default_sorting_field="updated_at",
    documents_for=documents_for,
    versions_for=versions_for,
    iter_all_documents=iter_all_documents,
    versions_between=versions_between,
    iter_all_versions=iter_all_versions,
    count=count,
    # A name match ranks above a tag match, above one in the description.
    query_by=("name", "tags", "description"),
    query_weights=(4, 2, 1),
    facets=("tags",),
)
