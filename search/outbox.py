"""Recording changes for the worker. Call inside the transaction that makes the change:
the entry commits or rolls back with it, so Typesense never learns of a write the
database lost, and no committed write is forgotten."""

from django.db import transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from .models import SyncEntry


def enqueue(index: str, object_ids) -> None:
    now = timezone.now()
    entries = [SyncEntry(index=index, object_id=str(object_id), created_at=now, next_attempt_at=now) for object_id in object_ids]
    if not entries:
        return
    # Inside the caller's atomic block the entry commits with the change; outside one
    # (a shell session, autocommit) it is written right after it.
    with transaction.atomic():
        SyncEntry.objects.bulk_create(entries, batch_size=1000)


def backlog_summary() -> dict:
    per_index = {
        row["index"]: row
        for row in SyncEntry.objects.values("index").annotate(
            pending=Count("id"), oldest=Min("created_at"), max_attempts=Max("attempts")
        )
    }
    last_failed = SyncEntry.objects.exclude(last_error="").order_by("-id").first()
    return {
        "per_index": per_index,
        "total": sum(row["pending"] for row in per_index.values()),
        "last_error": last_failed.last_error if last_failed else "",
    }


def oldest_pending(index: str):
    """The oldest undelivered entry of `index`, or None."""
    return SyncEntry.objects.filter(index=index).order_by("created_at", "id").first()


def has_pending(index: str) -> bool:
    """Whether some change of `index` is not delivered yet (the index may be behind)."""
    return SyncEntry.objects.filter(index=index).exists()


def pending_entries(index: str):
    """The undelivered entries of `index`, as a queryset (for a subquery in an admin list)."""
    return SyncEntry.objects.filter(index=index)
