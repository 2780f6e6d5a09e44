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
