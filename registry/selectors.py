"""Reads from the registry."""

from dataclasses import dataclass

from django.db.models import QuerySet

from .models import Service


def service_list(*, tags: list[str] | None = None) -> QuerySet[Service]:
    """Services ordered by id; with `tags`, only services that carry every one of them."""
    queryset = Service.objects.prefetch_related("tags")
    if any("\x00" in tag for tag in tags or []):
        # No tag can hold a NUL character (PostgreSQL could not even compare it).
        return queryset.none()
    for tag in dict.fromkeys(t.strip() for t in tags or [] if t.strip()):
        queryset = queryset.filter(tags__name=tag)
    return queryset.order_by("id")


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
    from django.db.models import Q

    from search import query

    from .search import SERVICES_INDEX

    candidates = service_list(tags=tags)
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
