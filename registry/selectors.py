"""Reads from the registry."""

import functools
import hashlib
import threading
from dataclasses import dataclass
from typing import NamedTuple

import orjson
from django.db.models import Q, QuerySet

from core.scalar_read import ScalarRead, quoted
from search import query

from .filters import ServiceFilterSet
from .models import RegistryRevision, Service, ServiceTag
from .search_index import SERVICES_INDEX


def _filtered(tags: list[str] | None) -> QuerySet[Service]:
    """Services ordered by id; with `tags`, only services that carry every one of them
    (the rule is ServiceFilterSet's, shared with the API's query parameters)."""
    return ServiceFilterSet({"tags": tags or []}, queryset=Service.objects.order_by("id")).qs


def service_list(*, tags: list[str] | None = None) -> QuerySet[Service]:
    """Services ordered by id (tags prefetched); with `tags`, only those carrying all of them."""
    return _filtered(tags).prefetch_related("tags")


class ServiceListBody(NamedTuple):
    """`GET /services`'s JSON body and its entity tag."""

    body: bytes
    etag: str


@functools.cache
def registry_revision_read() -> ScalarRead:
    """The read of the registry's revision token (NULL if its row is missing), which
    another statement can carry: GET /services has the key lookup read it."""
    return ScalarRead(f"(SELECT token FROM {quoted(RegistryRevision._meta.db_table)} WHERE id = 1)")


def registry_revision() -> str | None:
    """The registry's current revision token (None if its row is missing)."""
    return registry_revision_read().value()


def _render(tags: list[str] | None) -> bytes:
    """The body DRF's JSONRenderer gave for ServiceListSerializer, built from rows: two
    queries (services, then their tags in order), no model instances."""
    services = _filtered(tags)
    rows = list(services.values_list("id", "name", "description", "openapi_url"))
    tag_rows = ServiceTag.objects.order_by("service_id", "position", "id").values_list("service_id", "name")
    if tags:
        tag_rows = tag_rows.filter(service_id__in=services.values("id"))
    tags_of: dict[str, list[str]] = {}
    for service_id, name in tag_rows:
        tags_of.setdefault(service_id, []).append(name)
    body = orjson.dumps({"services": [
        {"id": id_, "name": name, "description": description, "openapi_url": url, "tags": tags_of.get(id_, [])}
        for id_, name, description, url in rows
    ]})
    # DRF escapes these two (valid JSON, but not valid JavaScript); do the same.
    return body.replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")


# Rendered bodies of this process, for one revision; replaced when the revision moves.
_MAX_BODIES = 256
_bodies: dict = {"revision": None, "by_tags": {}}
_bodies_lock = threading.Lock()


def service_list_body(*, revision: str | None, tags: list[str] | None = None) -> ServiceListBody:
    """The rendered `GET /services` body for the registry's `revision` (read just now:
    registry_revision(), or along with the request's key): from memory unless the
    registry moved since. The revision is read before the rows, so a cached body is
    never older than it."""
    key = tuple(tags or ())
    with _bodies_lock:
        if revision is not None and _bodies["revision"] == revision and key in _bodies["by_tags"]:
            return _bodies["by_tags"][key]
    body = _render(tags)
    result = ServiceListBody(body, '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"')
    if revision is not None:
        with _bodies_lock:
            if _bodies["revision"] != revision:
                _bodies["revision"], _bodies["by_tags"] = revision, {}
            if len(_bodies["by_tags"]) < _MAX_BODIES:
                _bodies["by_tags"][key] = result
    return result


@dataclass
class ServiceSearch:
    services: list[Service]
    backlog: int  # registry changes not yet in Typesense
    source: str  # "typesense", or "database" when Typesense did not answer


def services_search(*, q: str, tags: list[str] | None = None) -> ServiceSearch:
    """GET /services?q=: services whose name, tags or description match `q` (typos
    forgiven), best match first, through the Typesense mirror; `tags` narrows as without
    `q`. The rows are read again from the database, so a deleted service never shows.
    When Typesense does not answer, the database answers instead (the registry is small;
    plain substring match, ordered by id) and `source` says so."""
    candidates = service_list(tags=tags)
    backlog = 0
    try:
        backlog = query.backlog(SERVICES_INDEX)
        # Every match: the index may still hold deleted services (the backlog) besides the rows.
        result = query.search(SERVICES_INDEX, q=q, limit=max(Service.objects.count() + backlog, query.PER_PAGE_MAX))
    except query.SearchError:
        words = Q(name__icontains=q) | Q(description__icontains=q) | Q(id__icontains=q) | Q(tags__name__icontains=q)
        matching = Service.objects.filter(words).values("pk")
        return ServiceSearch(services=list(candidates.filter(pk__in=matching)), backlog=backlog, source="database")
    rows = candidates.in_bulk(result.ids)
    return ServiceSearch(services=[rows[i] for i in result.ids if i in rows], backlog=backlog, source="typesense")


def service_count() -> int:
    return Service.objects.count()
