"""Reads from the registry."""

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


def service_get(*, service_id: str) -> Service | None:
    return Service.objects.prefetch_related("tags").filter(pk=service_id).first()


def services_by_ids(ids: list[str]) -> dict[str, Service]:
    searchable = [i for i in ids if "\x00" not in i]  # no id holds NUL; PostgreSQL refuses it in a query
    return {s.id: s for s in Service.objects.prefetch_related("tags").filter(pk__in=searchable)}
