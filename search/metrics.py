"""The sync backlog as Prometheus gauges, read from the outbox at scrape time: true for
the whole deployment, whichever process or host the workers run on."""

from django.db.models import Count, Min, Q
from django.utils import timezone
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

from . import indexes
from .models import SyncEntry

# Counted by the worker process (served on its own --metrics-address).
SYNC_DELIVERIES = Counter(
    "ensemble_sync_deliveries_total", "Sync entries handled by the Typesense worker, by index and outcome.",
    ["index", "outcome"],
)
SYNC_REPAIRS = Counter(
    "ensemble_sync_repairs_total", "Documents found missing, stale or extra in Typesense and queued again.", ["index"]
)


class SyncBacklogCollector:
    def collect(self):
        pending = GaugeMetricFamily("ensemble_sync_backlog", "Changes waiting to reach Typesense.", labels=["index"])
        retrying = GaugeMetricFamily(
            "ensemble_sync_retrying", "Waiting changes whose delivery already failed at least once.", labels=["index"]
        )
        age = GaugeMetricFamily(
            "ensemble_sync_oldest_pending_seconds", "Age of the oldest waiting change.", labels=["index"]
        )
        now = timezone.now()
        rows = {
            row["index"]: row
            for row in SyncEntry.objects.values("index").annotate(
                pending=Count("id"), retrying=Count("id", filter=Q(attempts__gt=0)), oldest=Min("created_at")
            )
        }
        # Every index, even an idle one, so "0" is a value and not a missing series.
        for name in sorted({definition.name for definition in indexes.all_indexes()} | set(rows)):
            row = rows.get(name, {"pending": 0, "retrying": 0, "oldest": now})
            pending.add_metric([name], row["pending"])
            retrying.add_metric([name], row["retrying"])
            age.add_metric([name], (now - row["oldest"]).total_seconds())
        yield pending
        yield retrying
        yield age
