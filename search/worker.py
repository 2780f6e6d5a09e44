"""Delivering the outbox to Typesense.

A worker claims a batch of due entries (SKIP LOCKED on PostgreSQL, a conditional
update with a lease everywhere), reads the current state of the objects they name,
upserts those that exist and deletes those that don't, then deletes the delivered
entries. Delivery is at least once and idempotent.

Ordering without conditional upserts: after writing, the worker reads the objects'
versions again; any object whose version moved while it was delivering is enqueued
once more, so the last write to Typesense for every object always carries its last
committed version, whatever several workers interleave.
"""

import logging
import random
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from . import indexes, outbox
from .backend import SearchNotFound, SearchRejected, SearchUnavailable, get_backend
from .maintenance import ensure_index, repair_index
from .metrics import SYNC_DELIVERIES, SYNC_REPAIRS
from .models import SyncEntry

logger = logging.getLogger("ensemble.search.worker")


@dataclass
class DrainResult:
    claimed: int = 0
    delivered: int = 0
    failed: int = 0
    requeued: int = 0
    unavailable: bool = False
    errors: list[str] = field(default_factory=list)


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with full jitter, capped by SEARCH_SYNC_MAX_BACKOFF_SECONDS."""
    ceiling = min(settings.SEARCH_SYNC_MAX_BACKOFF_SECONDS, 2 ** min(attempts, 20))
    return random.uniform(ceiling / 2, ceiling)


def _lease_free(now):
    return Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)


class Worker:
    def __init__(self, *, batch_size: int | None = None, lease_seconds: int | None = None, name: str | None = None):
        self.batch_size = batch_size or settings.SEARCH_SYNC_BATCH_SIZE
        self.lease_seconds = lease_seconds or settings.SEARCH_SYNC_LEASE_SECONDS
        self.name = name or f"worker-{uuid.uuid4().hex[:8]}"
        self.ensured: set[str] = set()
        self.next_count_check = 0.0

    # --- repairing what Typesense lost ---------------------------------------------------
    def repair(self, reason: str, *, only_if_counts_differ: bool) -> int:
        """Compare each index with the database and queue what differs (maintenance.
        repair_index). With `only_if_counts_differ`, an index is compared only when its
        document count differs from the database's and none of its changes is pending:
        a cheap check for the periodic case."""
        backend, queued = get_backend(), 0
        for definition in indexes.all_indexes():
            if only_if_counts_differ:
                if SyncEntry.objects.filter(index=definition.name).exists():
                    continue
                try:
                    if backend.count(backend.alias_name(definition.name)) == definition.count():
                        continue
                except SearchNotFound:
                    pass
            count = repair_index(definition, backend=backend)
            if count:
                SYNC_REPAIRS.labels(definition.name).inc(count)
                logger.warning("%s: %d documents differed from the database (%s); queued again",
                               definition.name, count, reason, extra={"index": definition.name, "queued": count})
            queued += count
        return queued

    # --- claiming ----------------------------------------------------------------------
    def claim(self) -> tuple[str, list[SyncEntry]]:
        token = f"{self.name}:{uuid.uuid4().hex[:12]}"
        now = timezone.now()
        with transaction.atomic():
            due = SyncEntry.objects.filter(_lease_free(now), next_attempt_at__lte=now).order_by("id")
            if connection.features.has_select_for_update_skip_locked:
                due = due.select_for_update(skip_locked=True)
            ids = list(due.values_list("id", flat=True)[: self.batch_size])
            if ids:
                # Conditional: an entry another worker claimed meanwhile is left alone.
                SyncEntry.objects.filter(_lease_free(now), id__in=ids).update(
                    claimed_by=token, claimed_until=now + timedelta(seconds=self.lease_seconds)
                )
        return token, list(SyncEntry.objects.filter(claimed_by=token))

    # --- delivering ----------------------------------------------------------------------
    def _deliver_index(self, backend, index_name: str, object_ids: list[str]) -> tuple[dict[str, str | None], int]:
        definition = indexes.get(index_name)
        if index_name not in self.ensured:
            ensure_index(definition, backend=backend)
            self.ensured.add(index_name)
        alias = backend.alias_name(index_name)
        documents = definition.documents_for(object_ids)
        outcome = backend.upsert_many(alias, list(documents.values()))
        for object_id in object_ids:
            if object_id not in documents:
                backend.delete_one(alias, object_id)
                outcome[object_id] = None
        # Fence: anything that changed while we delivered goes round once more.
        delivered = {object_id: doc["version"] for object_id, doc in documents.items()}
        current = definition.versions_for(object_ids)
        moved = [i for i in object_ids if outcome.get(i) is None and current.get(i) != delivered.get(i)]
        if moved:
            with transaction.atomic():
                outbox.enqueue(index_name, moved)
        return outcome, len(moved)

    def drain_once(self) -> DrainResult:
        token, entries = self.claim()
        result = DrainResult(claimed=len(entries))
        if not entries:
            return result
        backend = get_backend()
        by_index: dict[str, list[str]] = defaultdict(list)
        for entry in entries:
            if entry.object_id not in by_index[entry.index]:
                by_index[entry.index].append(entry.object_id)

        errors: dict[tuple[str, str], str] = {}
        try:
            for index_name, object_ids in by_index.items():
                try:
                    outcome, moved = self._deliver_index(backend, index_name, object_ids)
                except SearchNotFound:
                    # The collection vanished (dropped by hand?): recreate it next time.
                    self.ensured.discard(index_name)
                    raise SearchUnavailable(f"collection for {index_name} is missing; it will be recreated")
                except (SearchRejected, LookupError) as error:
                    outcome, moved = {object_id: str(error) for object_id in object_ids}, 0
                result.requeued += moved
                for object_id, error in outcome.items():
                    if error:
                        errors[(index_name, object_id)] = error
        except SearchUnavailable as error:
            # Typesense is away: no entry is to blame, so none is pushed back; the
            # worker itself waits (see run_forever) and the batch is free again now.
            result.unavailable = True
            result.errors.append(str(error))
            for entry in entries:
                SYNC_DELIVERIES.labels(entry.index, "unavailable").inc()
            SyncEntry.objects.filter(claimed_by=token).update(
                attempts=F("attempts") + 1, claimed_by="", claimed_until=None, last_error=f"Typesense unavailable: {error}"[:2000]
            )
            return result

        now = timezone.now()
        failed_entries = []
        delivered_ids = []
        for entry in entries:
            error = errors.get((entry.index, entry.object_id))
            if error is None:
                delivered_ids.append(entry.id)
                continue
            entry.attempts += 1
            entry.last_error = error[:2000]
            entry.next_attempt_at = now + timedelta(seconds=backoff_seconds(entry.attempts))
            entry.claimed_by, entry.claimed_until = "", None
            failed_entries.append(entry)
        with transaction.atomic():
            # Only entries still under our claim: after a lost lease another worker owns them.
            SyncEntry.objects.filter(id__in=delivered_ids, claimed_by=token).delete()
            if failed_entries:
                SyncEntry.objects.bulk_update(
                    failed_entries, ["attempts", "last_error", "next_attempt_at", "claimed_by", "claimed_until"]
                )
        result.delivered = len(delivered_ids)
        result.failed = len(failed_entries)
        for entry in entries:
            failed = (entry.index, entry.object_id) in errors
            SYNC_DELIVERIES.labels(entry.index, "failed" if failed else "delivered").inc()
        result.errors.extend(sorted(set(errors.values()))[:5])
        if failed_entries:
            logger.warning("%d sync entries failed: %s", len(failed_entries), "; ".join(result.errors))
        return result

    def drain(self, *, max_seconds: float | None = None) -> DrainResult:
        """Deliver until nothing is due (one-shot mode). Stops early if Typesense is away."""
        total = DrainResult()
        deadline = time.monotonic() + max_seconds if max_seconds else None
        while True:
            step = self.drain_once()
            total.claimed += step.claimed
            total.delivered += step.delivered
            total.failed += step.failed
            total.requeued += step.requeued
            total.errors += step.errors
            if step.unavailable:
                total.unavailable = True
                return total
            if step.claimed == 0 or (deadline and time.monotonic() > deadline):
                return total

    def run_forever(self, *, poll_seconds: float = 0.5, stop=lambda: False, on_step=None) -> None:
        outage_wait = 0.5
        in_outage = False
        while not stop():
            close_old_connections()
            try:
                step = self.drain_once()
                if in_outage and not step.unavailable:
                    # Typesense is back; what it acknowledged before going away may be gone.
                    self.repair("after an outage", only_if_counts_differ=False)
                    in_outage = False
                elif time.monotonic() >= self.next_count_check and not step.unavailable:
                    self.next_count_check = time.monotonic() + settings.SEARCH_SYNC_VERIFY_SECONDS
                    self.repair("periodic count check", only_if_counts_differ=True)
            except SearchUnavailable:
                step = DrainResult(unavailable=True)
            except Exception:  # a database hiccup must not kill the worker
                logger.exception("sync worker step failed")
                step = DrainResult(unavailable=True)
            if on_step:
                on_step(step)
            if step.unavailable:
                in_outage = True
                time.sleep(outage_wait)
                # Short ceiling: when Typesense returns the backlog should drain within seconds.
                outage_wait = min(outage_wait * 2, 5.0)
                continue
            outage_wait = 0.5
            if step.claimed == 0:
                time.sleep(poll_seconds)
