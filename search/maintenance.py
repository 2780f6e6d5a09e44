"""Collections, rebuilds and comparisons: what the operator commands and the worker use
to keep each index's collection in shape. Collections are versioned
(`<prefix><index>_v<schema_version>[_<generation>]`) behind an alias (`<prefix><index>`),
so a schema change is a rebuild into a new collection and an alias swap: searches never
see a half-filled index."""

import queue
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from . import outbox
from .backend import SearchNotFound, TypesenseBackend, encode_document, get_backend, join_jsonl
from .indexes import IndexDefinition


def ensure_index(definition: IndexDefinition, *, backend: TypesenseBackend | None = None, fill: bool = True) -> str:
    """Make sure the alias points at a collection of the current schema version; create
    an empty one on a fresh server (filled from the database unless `fill` is off),
    rebuild when the schema version changed. Returns the collection name."""
    backend = backend or get_backend()
    alias = backend.alias_name(definition.name)
    target = backend.alias_target(alias)
    expected_prefix = backend.collection_name(definition.name, definition.schema_version)
    if target and target.startswith(expected_prefix) and backend.collection_exists(target):
        return target
    if target is None or not backend.collection_exists(target):
        name = expected_prefix
        if not backend.collection_exists(name):
            backend.create_collection(definition.collection_schema(name))
        backend.point_alias(alias, name)
        if not fill or (target is None and definition.count() == 0):
            return name
        # A missing or emptied collection: the database is the truth, copy it back.
        resync_index(definition, backend=backend)
        return name
    return rebuild_index(definition, backend=backend).collection


IMPORTS_IN_FLIGHT = 2
# Rows amended this long before a copy started are enqueued again after it too: the
# amendment's time comes from the clock of whichever process wrote it.
AMENDED_CLOCK_MARGIN = timedelta(seconds=60)


@dataclass
class ResyncReport:
    index: str
    collection: str = ""
    documents: int = 0
    failed: int = 0
    removed: int = 0
    requeued: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def _encoded_batches(documents, batch_size: int):
    """Documents in batches as the import needs them: (ids, versions, JSON lines). Each
    document is encoded as it comes and let go: holding a batch of 1,000 documents while
    it waited for its import made them outlive collections of the young generations and
    set off full ones, which took more CPU than building the documents."""
    ids: list[str] = []
    versions: list[int] = []
    lines: list[bytes] = []
    for document in documents:
        ids.append(document["id"])
        versions.append(document["version"])
        lines.append(encode_document(document))
        if len(ids) >= batch_size:
            yield ids, versions, join_jsonl(lines)
            ids, versions, lines = [], [], []
    if ids:
        yield ids, versions, join_jsonl(lines)


def _batches_ahead(definition, batch_size):
    """Read and encode the next batches while the current ones are being imported: a
    reader thread with its own connection stays ahead, so the database, the JSON
    encoding and Typesense work at the same time. When the import stops early (a
    failure), the reader is told to stop and is waited for: it holds a connection and an
    open read, which must not outlive the resync."""
    if connection.in_atomic_block:
        # Inside a transaction another connection would not see its rows: read here.
        yield from _encoded_batches(definition.iter_all_documents(batch_size), batch_size)
        return
    batches: queue.Queue = queue.Queue(maxsize=2)
    done = object()
    stop = threading.Event()

    def hand_over(item) -> bool:
        while not stop.is_set():
            try:
                batches.put(item, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def read():
        try:
            for batch in _encoded_batches(definition.iter_all_documents(batch_size), batch_size):
                if not hand_over(batch):
                    return
        except BaseException as error:  # handed to the consumer, raised there
            hand_over(error)
        finally:
            hand_over(done)
            connection.close()

    reader = threading.Thread(target=read, name="resync-reader", daemon=True)
    reader.start()
    try:
        while (item := batches.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def _import_all(definition, backend, collection, batch_size, report, progress):
    """Import every row, batch by batch, fenced like a worker delivery: an object whose
    version moved (or that was deleted) after it was read is enqueued again, so writes
    racing with the copy are never left stale in the index. A versioned index is fenced
    per batch; rows written once (the logs) can only disappear or, now and then, be
    amended, so they are fenced once, after the last batch: one query for every id
    imported (a query per batch was a tenth of the resync's time) and one for the rows
    amended since the copy started.

    IMPORTS_IN_FLIGHT imports are sent at once (each on its own connection), so Typesense
    has the next batch as soon as it is done with one, instead of waiting for this
    process to read the answer and send again. Results are taken in order; when one
    import fails, the others already sent are fenced too before the failure is raised."""
    imported_unversioned: list[str] = []
    copy_started = timezone.now()

    def settle(ids, versions, outcome):
        failures = [error for error in outcome.values() if error]
        report.documents += len(ids) - len(failures)
        report.failed += len(failures)
        report.errors.extend(failures[:3])
        imported = {object_id: version for object_id, version in zip(ids, versions, strict=True) if not outcome.get(object_id)}
        if definition.versioned:
            current = definition.versions_between(ids[0], ids[-1])
            _requeue(definition, [object_id for object_id, version in imported.items() if current.get(object_id) != version],
                     report)
        else:
            imported_unversioned.extend(imported)
        if progress:
            progress(report)

    in_flight: deque = deque()
    with closing(_batches_ahead(definition, batch_size)) as batches, \
            ThreadPoolExecutor(max_workers=IMPORTS_IN_FLIGHT, thread_name_prefix="resync-import") as imports:
        try:
            for ids, versions, jsonl in batches:
                in_flight.append((ids, versions, imports.submit(backend.upsert_encoded, collection, ids, jsonl)))
                if len(in_flight) >= IMPORTS_IN_FLIGHT:
                    ids, versions, sent = in_flight.popleft()
                    settle(ids, versions, sent.result())
            while in_flight:
                ids, versions, sent = in_flight.popleft()
                settle(ids, versions, sent.result())
        except BaseException:
            for ids, versions, sent in in_flight:
                if sent.exception() is None:
                    settle(ids, versions, sent.result())
            raise
    if imported_unversioned:
        current = definition.versions_between(imported_unversioned[0], imported_unversioned[-1])
        _requeue(definition, [object_id for object_id in imported_unversioned if object_id not in current], report)
    if definition.amended_since is not None:
        # A row amended after the copy read it may have been delivered by a worker before
        # the copy imported what it had read: deliver it once more.
        _requeue(definition, definition.amended_since(copy_started - AMENDED_CLOCK_MARGIN), report)


def _requeue(definition, ids: list[str], report) -> None:
    if ids:
        with transaction.atomic():
            outbox.enqueue(definition.name, ids)
        report.requeued += len(ids)


def _requeue_differences(definition, backend, collection, report) -> None:
    """Writes that raced with the copy: enqueue every object whose index version differs."""
    diff = compare_index(definition, backend=backend, collection=collection)
    ids = diff.missing + diff.stale + diff.extra
    if ids:
        with transaction.atomic():
            outbox.enqueue(definition.name, ids)
    report.requeued += len(ids)


def resync_index(definition, *, backend=None, batch_size: int = 1000, progress=None) -> ResyncReport:
    """Copy every row into the live collection (upserts) and delete documents whose row
    is gone. Searches keep working throughout; writes that race with it are enqueued."""
    backend = backend or get_backend()
    started = time.monotonic()
    alias = backend.alias_name(definition.name)
    report = ResyncReport(index=definition.name, collection=backend.alias_target(alias) or "")
    if not report.collection:
        report.collection = ensure_index(definition, backend=backend, fill=False)
    _import_all(definition, backend, alias, batch_size, report, progress)
    # Documents with no row behind them (deletes that never reached the index). Every
    # row was just upserted, so equal counts mean there are none: skip the export then.
    if backend.count(alias) != definition.count():
        db_ids = {object_id for object_id, _ in definition.iter_all_versions()}
        candidates = [doc["id"] for doc in backend.export_fields(alias, ["id"]) if doc["id"] not in db_ids]
        # A row created after db_ids was read may already have been delivered by a
        # worker: ask the database again, now that the export has seen the document.
        still_there = definition.versions_for(candidates) if candidates else {}
        for object_id in candidates:
            if object_id not in still_there:
                backend.delete_one(alias, object_id)
                report.removed += 1
    report.seconds = time.monotonic() - started
    return report


def rebuild_index(definition, *, backend=None, batch_size: int = 1000, progress=None) -> ResyncReport:
    """Build a fresh collection beside the live one, swap the alias, drop the old one."""
    backend = backend or get_backend()
    started = time.monotonic()
    alias = backend.alias_name(definition.name)
    old = backend.alias_target(alias)
    name = backend.collection_name(definition.name, definition.schema_version, generation=str(int(time.time() * 1000)))
    backend.create_collection(definition.collection_schema(name))
    report = ResyncReport(index=definition.name, collection=name)
    _import_all(definition, backend, name, batch_size, report, progress)
    backend.point_alias(alias, name)
    if old and old != name:
        backend.drop_collection(old)
    # Deliveries during the copy went to the old collection: compare once and requeue.
    _requeue_differences(definition, backend, name, report)
    report.seconds = time.monotonic() - started
    return report


@dataclass
class IndexComparison:
    index: str
    in_database: int
    in_index: int
    missing: list[str]
    stale: list[str]
    extra: list[str]

    @property
    def in_sync(self) -> bool:
        return not (self.missing or self.stale or self.extra)


def compare_index(definition, *, backend=None, collection: str | None = None) -> IndexComparison:
    backend = backend or get_backend()
    collection = collection or backend.alias_name(definition.name)
    in_db = dict(definition.iter_all_versions())
    try:
        in_index = {doc["id"]: doc.get("version") for doc in backend.export_fields(collection, ["id", "version"])}
    except SearchNotFound:  # never created: everything is missing
        in_index = {}
    return IndexComparison(
        index=definition.name,
        in_database=len(in_db),
        in_index=len(in_index),
        missing=sorted(i for i in in_db if i not in in_index),
        stale=sorted(i for i, v in in_db.items() if i in in_index and in_index[i] != v),
        extra=sorted(i for i in in_index if i not in in_db),
    )


def repair_index(definition: IndexDefinition, *, backend: TypesenseBackend | None = None) -> int:
    """Queue again every object whose document is missing, stale or extra.

    Typesense 0.24 can lose writes it had acknowledged when it is killed (seen in
    tests/test_faults.py: a collection's recent documents gone after a SIGKILL and
    restart), so the outbox alone cannot promise the index. The worker calls this after
    every outage and whenever an index's count differs from the database's. Queueing an
    object that is merely in flight is harmless: the worker ships the row as it is then."""
    report = compare_index(definition, backend=backend)
    ids = report.missing + report.stale + report.extra
    if ids:
        with transaction.atomic():
            outbox.enqueue(definition.name, ids)
    return len(ids)
