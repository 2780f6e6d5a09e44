"""The services index: what a service looks like in Typesense."""

from search.indexes import row_index

from .models import Service

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


def _services():
    return Service.objects.prefetch_related("tags")


SERVICES_INDEX = row_index(
    name="services",
    schema_version=1,
    fields=FIELDS,
    default_sorting_field="updated_at",
    queryset=_services,
    documents=lambda services: [to_document(service) for service in services],
    version_field="revision",
    # A name match ranks above a tag match, above one in the description.
    query_by=("name", "tags", "description"),
    query_weights=(4, 2, 1),
    facets=("tags",),
)
