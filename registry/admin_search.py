"""The service list searches through Typesense (see search/admin_search.py), with tags as
a facet (the `tag` filter of the list)."""

from search.admin_search import TypesenseSearchMixin

from .search_index import SERVICES_INDEX


class ServiceSearchMixin(TypesenseSearchMixin):
    search_index = SERVICES_INDEX
    search_facet_params = {"tag": ("tags", "tag")}
