"""The interaction logs' resync against a real Typesense: its streaming read of the
database builds exactly the documents `to_document` builds, the copy counts, removes and
swaps collections as before, and a failure in the middle is reported as before and
leaves no reading or importing thread behind."""

import io
import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from interactions.models import Conversation, InteractionLog, ServiceCall
from interactions.search_index import LOGS_INDEX, to_document
from search.backend import SearchUnavailable
from search.maintenance import compare_index, rebuild_index, resync_index

pytestmark = pytest.mark.django_db(transaction=True)

# What the services answered, as logs hold it: the usual text, and what older or edited
# rows may hold (other JSON values, missing keys, an integer past 64 bits, long text).
RESPONSES = [
    [],
    [{"service_name": "Character Service", "response": "Juliet waits on the balcony"}],
    [{"service_name": "Character Service", "response": "ok"}, {"service_name": "Action Service", "response": "done"},
     {"service_name": "Character Service", "response": "again"}],
    [{"service_name": "Action Service", "response": {"status": 200, "items": [1, 2.5, None, True]}}],
    [{"service_name": "Numbers", "response": 123456789012345678901234567890}, {"service_name": "Numbers", "response": -7}],
    [{"response": "no service name"}, {"service_name": "No response"}, {"service_name": "Null", "response": None}],
    [{"service_name": "Ünïcödé ☃", "response": "Mercutio’s sword 😀 — «quoted» \"and\" \\ back\nslash"}],
    [{"service_name": "Long", "response": "x" * 25_000}],
]
CALLED = [[], ["character-service"], ["character-service", "action-service", "character-service"], ["zeta", "alpha"]]


def make_logs(count: int) -> list[InteractionLog]:
    conversation = Conversation.objects.create(owner="key:test")
    start = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    logs = []
    for i in range(count):
        log = InteractionLog.objects.create(
            # Whole seconds and microseconds, and times before 1970 (a negative timestamp).
            created_at=start - timedelta(days=60 * 365 * (i % 3 == 2), seconds=i * 3607, microseconds=i * 7919 * (i % 4 != 0)),
            user_input=("Romeo " * 5000 if i == 3 else f"input {i} Julliet"),
            assistant_response=f"answer {i}",
            service_responses=RESPONSES[i % len(RESPONSES)],
            backend="local" if i % 2 else "openai",
            outcome="answered" if i % 3 else "calls_failed",
            conversation=conversation if i % 4 == 1 else None,
            turn=i if i % 4 == 1 else None,
        )
        # Calls on logs at the ends of batches too (the batches below are of 4 and 7).
        for position, service_id in enumerate(CALLED[i % len(CALLED)] if i % 5 != 4 else []):
            ServiceCall.objects.create(log=log, position=position, service_id=service_id, service_name=service_id.title(),
                                       operation_id="op")
        logs.append(log)
    # Calls are written in log order, but nothing relies on it: a late call of an early log.
    ServiceCall.objects.create(log=logs[1], position=9, service_id="late-service", service_name="Late", operation_id="op")
    return logs


def expected_documents() -> list[dict]:
    return [to_document(log) for log in InteractionLog.objects.order_by("pk")]


def exported(backend, collection: str) -> dict[str, dict]:
    text = backend.client.collections[collection].documents.export()
    return {document["id"]: document for document in map(json.loads, text.splitlines())}


def resync_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("resync")]


@pytest.fixture
def local_time_zone_not_utc(monkeypatch):
    """The machine's own time zone must not leak into timestamps (a naive datetime's
    timestamp() is taken in it): the tests run with one that is not UTC."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_resync_reads_the_documents_to_document_builds(local_time_zone_not_utc):
    make_logs(23)
    assert list(LOGS_INDEX.iter_all_documents(4)) == expected_documents()
    # One read of the logs and one of their calls for the whole table, not two per batch.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert sum(1 for _ in LOGS_INDEX.iter_all_documents(4)) == 23
    assert len(queries) == 2, [query["sql"] for query in queries]


def test_resync_and_rebuild_copy_every_log_as_to_document_builds_it(clean_typesense):
    backend = clean_typesense
    make_logs(30)
    expected = {document["id"]: document for document in expected_documents()}

    report = resync_index(LOGS_INDEX, batch_size=4)
    assert (report.documents, report.failed, report.removed, report.requeued) == (30, 0, 0, 0)
    alias = backend.alias_name(LOGS_INDEX.name)
    assert backend.alias_target(alias) == report.collection
    assert exported(backend, alias) == expected

    # A log deleted without its sync entry (a shell, a restore) is removed by the next resync.
    InteractionLog.objects.filter(pk=int(min(expected, key=int))).delete()
    report = resync_index(LOGS_INDEX, batch_size=7)
    assert (report.documents, report.failed, report.removed) == (29, 0, 1)

    old = backend.alias_target(alias)
    rebuilt = rebuild_index(LOGS_INDEX, batch_size=7)
    assert rebuilt.collection != old and backend.alias_target(alias) == rebuilt.collection
    assert old not in backend.list_collections()
    assert (rebuilt.documents, rebuilt.failed, rebuilt.requeued) == (29, 0, 0)
    assert exported(backend, alias) == {i: d for i, d in expected.items() if i != min(expected, key=int)}
    assert compare_index(LOGS_INDEX).in_sync


def test_a_resync_that_loses_typesense_midway_fails_and_leaves_no_thread(clean_typesense, typesense, monkeypatch):
    backend = clean_typesense
    make_logs(40)
    imports = []
    original = backend.upsert_encoded

    def stop_typesense_after_two_imports(collection, ids, jsonl):
        imports.append(len(ids))
        if len(imports) == 3:
            typesense.stop()
        return original(collection, ids, jsonl)

    monkeypatch.setattr(backend, "upsert_encoded", stop_typesense_after_two_imports)
    with pytest.raises(SearchUnavailable):
        resync_index(LOGS_INDEX, backend=backend, batch_size=4)
    assert resync_threads() == []
    assert len(imports) < 10  # it stopped at the failure, not after reading everything

    # The command reports it as before: the index's name and Typesense's error.
    typesense.start()
    imports.clear()
    with pytest.raises(CommandError, match="^interaction_logs: "):
        call_command("typesense_resync", "--index", "interaction_logs", "--batch-size", "4", stdout=io.StringIO())
    assert resync_threads() == []

    typesense.start()
    monkeypatch.setattr(backend, "upsert_encoded", original)
    report = resync_index(LOGS_INDEX, backend=backend, batch_size=4)
    assert (report.documents, report.failed) == (40, 0)
    assert compare_index(LOGS_INDEX).in_sync


def test_a_log_amended_while_the_resync_copies_it_ends_up_amended_in_the_index(clean_typesense, monkeypatch):
    """The race of a rare rewrite: the resync reads a log; an administrator rejects the
    log's held call, and the sync worker delivers the amended log; then the resync imports
    the copy it read before. The resync enqueues the logs amended while it copied, so the
    next delivery puts the amended log back."""
    from interactions.approvals import approval_reject
    from interactions.models import PendingApproval
    from search.worker import Worker

    backend = clean_typesense
    logs = make_logs(12)
    held_log = logs[5]
    approval = PendingApproval.objects.create(
        reference="APR-RACE0001", log=held_log, position=0, service_id="action-service", service_name="Action Service",
        operation_id="createAction", method="POST", arguments={"body": {"characterId": 1}}, requested_by="key:test",
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    Worker().drain()  # the logs' own sync entries, delivered before the resync starts
    original = backend.upsert_encoded
    raced = []

    def amend_before_the_stale_copy_arrives(collection, ids, jsonl):
        if str(held_log.pk) in ids and not raced:
            raced.append(approval_reject(approval_id=approval.pk, actor="admin:test", reason="not today"))
            assert Worker().drain().delivered >= 1  # the amended log reaches the index first
        return original(collection, ids, jsonl)  # then the copy read before the amendment

    monkeypatch.setattr(backend, "upsert_encoded", amend_before_the_stale_copy_arrives)
    report = resync_index(LOGS_INDEX, backend=backend, batch_size=4)
    assert raced and report.requeued >= 1
    alias = backend.alias_name(LOGS_INDEX.name)
    assert "rejected by an administrator" not in exported(backend, alias)[str(held_log.pk)]["assistant_response"]  # stale for now
    Worker().drain()
    amended = exported(backend, alias)[str(held_log.pk)]
    assert amended == to_document(InteractionLog.objects.get(pk=held_log.pk))
    assert "rejected by an administrator (not today)" in InteractionLog.objects.get(pk=held_log.pk).assistant_response
