"""The query parameters of GET /services."""

from core.filters import AllOfFilter, QueryFilterSet

from .models import Service


class ServiceFilterSet(QueryFilterSet):
    # A service must carry all the given tags (README: decisions the contract leaves open).
    tags = AllOfFilter(field_name="tags__name")

    class Meta:
        model = Service
        fields = ["tags"]

    def __init__(self, data=None, queryset=None, **kwargs):
        if queryset is None:
            queryset = Service.objects.prefetch_related("tags").order_by("id")
        super().__init__(data, queryset=queryset, **kwargs)
