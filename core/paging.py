"""A paginator for admin lists over very large tables (a million interaction logs):
it counts at most COUNT_CAP rows (COUNT over a LIMITed subquery, so the cost stays
bounded), instead of the whole table on every page. Past the cap the list says
COUNT_CAP results and offers that many pages; narrow the list with a filter or search
to reach older rows."""

from django.core.paginator import Paginator
from django.utils.functional import cached_property

COUNT_CAP = 10_000


class CappedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        return self.object_list[:COUNT_CAP].count()
