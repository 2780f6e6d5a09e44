"""The registry of search indexes. Domain apps declare an `IndexDefinition` (collection
schema, how to read documents and versions), most with `row_index` (one document per
row), and register it in `AppConfig.ready()`; this package never imports a domain
model: the apps hand it their querysets."""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any


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
    # Every document, one at a time in id order, for a resync (the int: how many rows to
    # read at once). One at a time, so a copy of every row never holds many documents.
    iter_all_documents: Callable[[int], Iterator[dict]]
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
    # False when rows are written once (they appear and disappear, and are at most amended
    # now and then): a resync then needs no per-batch version check; its final check
    # catches deletions and, through `amended_since`, the rows amended while it copied.
    versioned: bool = True
    # The ids of rows amended at or after a time (None: rows of this index are never amended).
    amended_since: Callable[[datetime], list[str]] | None = None

    def collection_schema(self, collection_name: str) -> dict:
        schema = {"name": collection_name, "fields": self.fields}
        if self.default_sorting_field:
            schema["default_sorting_field"] = self.default_sorting_field
        return schema


def row_index(
    *, name: str, schema_version: int, fields: list[dict], default_sorting_field: str | None,
    queryset: Callable[[], Any], documents: Callable[[Any], list[dict]], version_field: str | None = None,
    id_type: type = str, query_by: tuple[str, ...] = (), query_weights: tuple[int, ...] = (), facets: tuple[str, ...] = (),
    all_documents: Callable[[int], Iterator[dict]] | None = None, amended_field: str | None = None,
) -> IndexDefinition:
    """An index with one document per row of a model (NetBox's SearchIndex pattern).
    The app declares its rows (`queryset()`), how a queryset of them becomes documents
    (`documents(qs)`, one batch at a time, each with its "id"), and the column that
    versions a row (None: rows never change, version 1); every read the sync worker
    and the resync need is derived here, the same way for every index.

    `all_documents(chunk_size)`, when given, is the resync's read of every document in
    id order (a large table's own streaming read, with no query per batch); without it
    the resync reads `documents` of one page after another (keyset, by id).

    `amended_field`, for rows without versions that are still amended now and then: the
    time column their amendments set (so a resync can enqueue those it may have copied
    before the amendment)."""

    def cast(ids) -> list:
        valid = []
        for object_id in ids:
            try:
                valid.append(id_type(object_id))
            except (TypeError, ValueError):
                pass  # an id of another shape has no row
        return valid

    def versions(rows) -> dict[str, int]:
        if version_field is None:
            return {str(pk): 1 for pk in rows.values_list("pk", flat=True)}
        return {str(pk): version for pk, version in rows.values_list("pk", version_field)}

    def iter_all_documents(batch_size: int) -> Iterator[dict]:
        last = None
        while True:
            rows = queryset().order_by("pk")
            if last is not None:
                rows = rows.filter(pk__gt=last)
            batch = documents(rows[:batch_size])
            if not batch:
                return
            yield from batch
            last = id_type(batch[-1]["id"])

    def iter_all_versions() -> Iterable[tuple[str, int]]:
        columns = ("pk", version_field) if version_field else ("pk",)
        rows = queryset().values_list(*columns).iterator(chunk_size=5000)
        return ((str(row[0]), row[1] if version_field else 1) for row in rows)

    return IndexDefinition(
        name=name, schema_version=schema_version, fields=fields, default_sorting_field=default_sorting_field,
        documents_for=lambda ids: {document["id"]: document for document in documents(queryset().filter(pk__in=cast(ids)))},
        versions_for=lambda ids: versions(queryset().filter(pk__in=cast(ids))),
        versions_between=lambda first, last: versions(queryset().filter(pk__gte=id_type(first), pk__lte=id_type(last))),
        iter_all_documents=all_documents or iter_all_documents,
        iter_all_versions=iter_all_versions,
        count=lambda: queryset().count(),
        query_by=query_by, query_weights=query_weights, facets=facets, versioned=version_field is not None,
        amended_since=(lambda since: [str(pk) for pk in queryset().filter(**{f"{amended_field}__gte": since})
                                      .values_list("pk", flat=True)]) if amended_field else None,
    )


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
