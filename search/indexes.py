"""The registry of search indexes. Domain apps declare an `IndexDefinition` (collection
schema, how to read documents and versions) and register it in `AppConfig.ready()`;
this package never imports a domain model."""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class IndexDefinition:
    name: str  # logical name; the Typesense alias is PREFIX + name
    schema_version: int  # bump when `fields` change: resync rebuilds behind the alias
    fields: list[dict]
    default_sorting_field: str | None
    # Documents for the given object ids that still exist: {object_id: document}.
    documents_for: Callable[[list[str]], dict[str, dict]]
    # Current versions for the given ids that still exist: {object_id: version}.
    versions_for: Callable[[list[str]], dict[str, int]]
    # Every document, in batches ordered by id, for a full rebuild.
    iter_all_documents: Callable[[int], Iterator[list[dict]]]
    # Versions of the existing objects with first_id <= id <= last_id (in the order
    # iter_all_documents uses): one range scan per resync batch instead of an IN list.
    versions_between: Callable[[str, str], dict[str, int]]
    # Every (object_id, version) pair, for comparing the database with the index.
    iter_all_versions: Callable[[], Iterable[tuple[str, int]]]
    count: Callable[[], int]
    # How the index is searched: the text fields in query order with their weights
    # (higher ranks first), and the fields whose values are counted as facets.
    query_by: tuple[str, ...] = ()
    query_weights: tuple[int, ...] = ()
    facets: tuple[str, ...] = ()

    def collection_schema(self, collection_name: str) -> dict:
        schema = {"name": collection_name, "fields": self.fields}
        if self.default_sorting_field:
            schema["default_sorting_field"] = self.default_sorting_field
        return schema


_REGISTRY: dict[str, IndexDefinition] = {}


def register(definition: IndexDefinition) -> None:
    _REGISTRY[definition.name] = definition


def get(name: str) -> IndexDefinition:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise LookupError(f"No search index named {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def all_indexes() -> list[IndexDefinition]:
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]
