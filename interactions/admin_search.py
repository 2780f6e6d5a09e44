"""The interaction-log list searches through Typesense (see search/admin_search.py), with
facets by service, outcome, backend and date range."""

from datetime import timedelta

from django.contrib import admin
from django.utils import timezone

from registry.models import Service
from search.admin_search import TypesenseSearchMixin

from .models import ServiceCall
from .search_index import LOGS_INDEX

DAY = 24 * 3600
WITHIN = {"1d": ("last 24 hours", DAY), "7d": ("last 7 days", 7 * DAY), "30d": ("last 30 days", 30 * DAY)}


class ServiceFilter(admin.SimpleListFilter):
    title = "service called"
    parameter_name = "service"

    def lookups(self, request, model_admin):
        # Names are few (one per service); repeats are dropped here, not by a DISTINCT.
        names = dict.fromkeys(Service.objects.order_by("name").values_list("name", flat=True))
        return [(name, name) for name in names]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return queryset.filter(pk__in=ServiceCall.objects.filter(service_name=self.value()).values("log_id"))


class WithinFilter(admin.SimpleListFilter):
    title = "date range"
    parameter_name = "within"

    def lookups(self, request, model_admin):
        return [(value, label) for value, (label, _) in WITHIN.items()]

    def queryset(self, request, queryset):
        if self.value() not in WITHIN:
            return queryset
        return queryset.filter(created_at__gte=timezone.now() - timedelta(seconds=WITHIN[self.value()][1]))


class LogSearchMixin(TypesenseSearchMixin):
    search_index = LOGS_INDEX
    search_facet_params = {
        "service": ("service_names", "service"),
        "outcome__exact": ("outcome", "outcome"),
        "backend__exact": ("backend", "backend"),
    }
    search_date_buckets = ("within", "timestamp", "date range", WITHIN)

    def get_list_filter(self, request):
        return [*super().get_list_filter(request), ServiceFilter, WithinFilter]
