"""Admin change lists that search through Typesense: typo-tolerant, ranked, highlighted,
with facet counts; the database search (Django's icontains) answers, with a notice, when
Typesense does not. Domain apps subclass `TypesenseSearchMixin` in their admin and say
which index to search and how their change-list filters map to index filters.

Typesense only ranks: the rows shown are read from the database by id, so the list's
other filters, permissions and deleted rows behave as without search."""

import time
from dataclasses import dataclass, field

from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR, SEARCH_VAR
from django.db.models import Case, IntegerField, Value, When
from django.utils.safestring import SafeString

from . import query
from .backend import SearchError

RANKED_MAX = query.PER_PAGE_MAX  # the best matches shown (one Typesense page)


@dataclass
class FacetGroup:
    title: str
    choices: list[dict]  # {"label", "count", "url", "selected"}


@dataclass
class SearchState:
    term: str
    source: str = "typesense"  # or "database" when Typesense did not answer
    error: str = ""
    found: int = 0
    backlog: int = 0
    snippets: dict[str, SafeString] = field(default_factory=dict)
    facet_counts: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    bucket_counts: dict[str, int] = field(default_factory=dict)
    facets: list[FacetGroup] = field(default_factory=list)

    @property
    def shown_max(self) -> int:
        return RANKED_MAX


class TypesenseSearchMixin:
    change_list_template = "admin/search/change_list.html"
    search_index = None  # the IndexDefinition to search
    # Change-list parameter -> (index field, facet title); the parameter must be one of
    # the list's filters so the database path applies it too.
    search_facet_params: dict[str, tuple[str, str]] = {}
    # A date-range filter: (parameter, index field, title, {value: (label, seconds back)}).
    search_date_buckets: tuple | None = None

    # --- the search --------------------------------------------------------------------
    def _index_filters(self, request) -> list[str]:
        filters = []
        for param, (index_field, _) in self.search_facet_params.items():
            if request.GET.get(param):
                filters.append(query.filter_in(index_field, [request.GET[param]]))
        if self.search_date_buckets:
            param, index_field, _, buckets = self.search_date_buckets
            if request.GET.get(param) in buckets:
                since_ms = int((time.time() - buckets[request.GET[param]][1]) * 1000)
                filters.append(f"{index_field}:>={since_ms}")
        return filters

    def _date_bucket_filters(self) -> dict[str, str]:
        _, index_field, _, buckets = self.search_date_buckets
        now = time.time()
        return {value: f"{index_field}:>={int((now - seconds) * 1000)}" for value, (_, seconds) in buckets.items()}

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip() or self.search_index is None:
            return super().get_search_results(request, queryset, search_term)
        state = SearchState(term=search_term, backlog=query.backlog(self.search_index))
        request.typesense_search = state
        # The date filter of the search itself is left out of the bucket counts, so each
        # bucket counts what choosing it would show.
        filters = self._index_filters(request)
        try:
            result = query.search(
                self.search_index, q=search_term, filters=filters, limit=RANKED_MAX, with_facets=True, with_snippets=True
            )
            if self.search_date_buckets:
                others = [f for f in filters if not f.startswith(f"{self.search_date_buckets[1]}:")]
                state.bucket_counts = query.count_each(
                    self.search_index, q=search_term, filters=others, buckets=self._date_bucket_filters()
                )
        except SearchError as error:
            state.source, state.error = "database", str(error)[:300]
            return super().get_search_results(request, queryset, search_term)
        state.found, state.snippets, state.facet_counts = result.found, result.snippets, result.facets
        pk_type = self.model._meta.pk.to_python
        ids = [pk_type(i) for i in result.ids]
        if not ids:
            return queryset.none(), False
        rank = Case(*[When(pk=pk, then=Value(position)) for position, pk in enumerate(ids)], output_field=IntegerField())
        return queryset.filter(pk__in=ids).annotate(search_rank=rank), False

    def get_ordering(self, request):
        state = getattr(request, "typesense_search", None)
        if state and state.source == "typesense" and ORDER_VAR not in request.GET:
            return ["search_rank"]  # best match first, unless a column was clicked
        return super().get_ordering(request)

    def get_list_display(self, request):
        columns = list(super().get_list_display(request))
        if not request.GET.get(SEARCH_VAR, "").strip():
            return columns

        def match(obj):
            state = getattr(request, "typesense_search", None)
            return state.snippets.get(str(obj.pk), "") if state else ""

        match.short_description = "match"
        return [*columns, match]

    # --- the page ------------------------------------------------------------------
    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        state = getattr(request, "typesense_search", None)
        context = getattr(response, "context_data", None)
        if state is None or context is None or "cl" not in context:
            return response
        if state.source == "typesense":
            state.facets = self._facet_groups(request, context["cl"], state)
        context["typesense_search"] = state
        return response

    def _facet_groups(self, request, cl, state) -> list[FacetGroup]:
        groups = []
        for param, (index_field, title) in self.search_facet_params.items():
            current = request.GET.get(param)
            choices = [
                {"label": value, "count": count, "selected": value == current,
                 "url": cl.get_query_string({param: value}, [PAGE_VAR])}
                for value, count in state.facet_counts.get(index_field, [])
                if value
            ]
            if current:
                choices.insert(0, {"label": "all", "count": None, "selected": False, "url": cl.get_query_string({}, [param, PAGE_VAR])})
            groups.append(FacetGroup(title=title, choices=choices))
        if self.search_date_buckets:
            param, _, title, buckets = self.search_date_buckets
            current = request.GET.get(param)
            choices = [
                {"label": label, "count": state.bucket_counts.get(value, 0), "selected": value == current,
                 "url": cl.get_query_string({param: value}, [PAGE_VAR])}
                for value, (label, _) in buckets.items()
            ]
            if current:
                choices.insert(0, {"label": "any time", "count": None, "selected": False, "url": cl.get_query_string({}, [param, PAGE_VAR])})
            groups.append(FacetGroup(title=title, choices=choices))
        return groups
