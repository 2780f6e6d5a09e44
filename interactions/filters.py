"""The filters of GET /logs (paging and the full-text parameters are api.LogsQuerySerializer's)."""

import django_filters

from core.filters import QueryFilterSet, can_be_stored

from .models import InteractionLog


class LogFilterSet(QueryFilterSet):
    # Every log of one conversation: its turns and its refusals.
    conversation_id = django_filters.CharFilter(method="filter_conversation")

    class Meta:
        model = InteractionLog
        fields = ["conversation_id"]

    def filter_conversation(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(conversation_id=value) if can_be_stored(value) else queryset.none()
