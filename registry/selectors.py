"""Reads from the registry."""

from django.db.models import QuerySet

from .filters import ServiceFilterSet
from .models import Service


def service_list(*, tags: list[str] | None = None) -> QuerySet[Service]:
    """Services ordered by id; with `tags`, only services that carry every one of them
    (the rule is ServiceFilterSet's, shared with the API's query parameters)."""
    return ServiceFilterSet({"tags": tags or []}).qs
