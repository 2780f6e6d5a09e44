"""Full-text searches over an index, as the domain apps' selectors ask for them. Returns
ids in rank order (the caller reads the rows again from the database, so a deleted row
never shows), facet counts and highlighted snippets, and how far the index is behind.

Highlights come back between two control characters rather than HTML tags: the text is
the user's, so it is escaped first and only then are the markers turned into <mark>."""

from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .backend import SearchError, SearchNotFound, get_backend
from .indexes import IndexDefinition
from .models import SyncEntry

MARK_START, MARK_END = "\x02", "\x03"
PER_PAGE_MAX = 250  # Typesense's limit for one page
MAX_HITS = 2**32 - 1  # Typesense refuses to fetch a hit past this position
_QUERY_MAX = 500  # characters of a query sent to Typesense


@dataclass
class SearchResult:
    ids: list[str]  # in rank order, for the requested window
    found: int  # how many documents match in all
    snippets: dict[str, SafeString] = field(default_factory=dict)  # id -> highlighted HTML
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # field -> [(value, count)]


def backlog(definition: IndexDefinition) -> int:
    """Changes to this index that have not reached Typesense yet: a search may miss them."""
    return SyncEntry.objects.filter(index=definition.name).count()


def filter_in(field_name: str, values) -> str:
    """`field:=[`a`,`b`]`: backtick-quoted, so commas and spaces in values are literal. A
    value holding a backtick cannot be quoted (Typesense 0.24 has no escape): it matches
    nothing."""
    values = [str(v) for v in values]
    usable = [v for v in values if "`" not in v]
    if not usable:
        return f"{field_name}:=[`\u0000`]" if values else ""
    return f"{field_name}:=[{','.join(f'`{v}`' for v in usable)}]"


def highlight_html(snippet: str) -> SafeString:
    return mark_safe(escape(snippet).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))


def _params(definition: IndexDefinition, q: str, filters: list[str], sort_by: str) -> dict:
    params = {
        "q": q.strip()[:_QUERY_MAX] or "*",
        "query_by": ",".join(definition.query_by),
        "query_by_weights": ",".join(str(w) for w in definition.query_weights),
        "sort_by": sort_by,
        "highlight_start_tag": MARK_START,
        "highlight_end_tag": MARK_END,
    }
    filter_by = " && ".join(f for f in filters if f)
    if filter_by:
        params["filter_by"] = filter_by
    return params


def search(
    definition: IndexDefinition,
    *,
    q: str,
    filters: list[str] = (),
    offset: int = 0,
    limit: int = 50,
    sort_by: str | None = None,
    with_facets: bool = False,
    with_snippets: bool = False,
) -> SearchResult:
    """The ids of the documents matching `q` and every filter, best match first (then
    newest by the index's sorting field), from `offset`. Raises SearchError."""
    sort_by = sort_by or "_text_match:desc" + (f",{definition.default_sorting_field}:desc" if definition.default_sorting_field else "")
    params = _params(definition, q, list(filters), sort_by)
    if not with_snippets:
        params["include_fields"] = "id"
        params["highlight_fields"] = "none"
    if with_facets and definition.facets:
        params["facet_by"] = ",".join(definition.facets)
        params["max_facet_values"] = 20
    if offset + max(limit, 1) > MAX_HITS:
        return SearchResult(ids=[], found=0)  # no index holds that many matches; nothing to ask
    # Typesense 0.24 pages by page number only: read the pages that cover the window.
    per_page = limit if limit <= PER_PAGE_MAX and offset % limit == 0 else PER_PAGE_MAX
    first_page, last_page = offset // per_page + 1, (offset + max(limit, 1) - 1) // per_page + 1
    pages = [{**params, "page": page, "per_page": per_page} for page in range(first_page, last_page + 1)]
    alias = get_backend().alias_name(definition.name)
    try:
        if len(pages) == 1:
            results = [get_backend().search(alias, pages[0])]
        else:
            results = get_backend().multi_search([{**page, "collection": alias} for page in pages])
    except SearchNotFound:
        return SearchResult(ids=[], found=0)  # nothing synchronised yet: no collection

    hits = [hit for result in results for hit in result.get("hits", [])]
    skip = offset - (first_page - 1) * per_page
    hits = hits[skip : skip + limit]
    outcome = SearchResult(ids=[hit["document"]["id"] for hit in hits], found=int(results[0].get("found", 0)))
    if with_snippets:
        for hit in hits:
            for highlight in hit.get("highlights", []):
                if highlight.get("snippet"):
                    outcome.snippets[hit["document"]["id"]] = highlight_html(highlight["snippet"])
                    break
    for facet in results[0].get("facet_counts", []):
        outcome.facets[facet["field_name"]] = [(c["value"], int(c["count"])) for c in facet.get("counts", [])]
    return outcome


def count_each(definition: IndexDefinition, *, q: str, filters: list[str], buckets: dict[str, str]) -> dict[str, int]:
    """How many documents match `q`, `filters` and each bucket's extra filter (e.g. date
    ranges, which Typesense 0.24 cannot facet), in one request."""
    params = _params(definition, q, list(filters), "_text_match:desc")
    alias = get_backend().alias_name(definition.name)
    searches = []
    for extra in buckets.values():
        search_params = {**params, "collection": alias, "per_page": 0}
        search_params["filter_by"] = " && ".join(f for f in (params.get("filter_by"), extra) if f)
        searches.append(search_params)
    try:
        results = get_backend().multi_search(searches)
    except SearchNotFound:
        return {label: 0 for label in buckets}
    return {label: int(result.get("found", 0)) for label, result in zip(buckets, results, strict=False)}


__all__ = ["SearchError", "SearchResult", "backlog", "count_each", "filter_in", "highlight_html", "search"]
