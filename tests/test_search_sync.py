"""The Typesense mirror, against a real Typesense: outbox, worker, retries, fencing,
resync and status."""

import io
from dataclasses import replace
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from registry import services
from registry.models import Service
from registry.search_index import SERVICES_INDEX, to_document
from search import indexes, outbox
from search.backend import SearchNotFound
from search.maintenance import compare_index, ensure_index, rebuild_index
from search.models import SyncEntry
from search.worker import Worker
from tests.conftest import service_payload

pytestmark = pytest.mark.django_db(transaction=True)


def index_doc(backend, service_id):
    try:
        return backend.client.collections[backend.alias_name("services")].documents[service_id].retrieve()
    except Exception as error:
        if "Not Found" in type(error).__name__ or "ObjectNotFound" in type(error).__name__:
            return None
        raise


def register(**overrides):
    payload = service_payload(**overrides)
    return services.service_register(**payload)


def status_exit_code() -> int:
    try:
        call_command("typesense_status", stdout=io.StringIO())
    except SystemExit as exit_:
        return exit_.code
    return 0


def test_register_update_delete_reach_typesense(clean_typesense):
    backend = clean_typesense
    register()
    result = Worker().drain()
    assert result.delivered == 1 and not result.unavailable
    doc = index_doc(backend, "character-service")
    assert doc == to_document(Service.objects.get(pk="character-service"))

    services.service_update(service_id="character-service", **{**service_payload(name="Renamed", tags=["x"]), "id": None})
    Worker().drain()
    doc = index_doc(backend, "character-service")
    assert doc["name"] == "Renamed" and doc["tags"] == ["x"] and doc["version"] == 2

    services.service_delete(service_id="character-service")
    Worker().drain()
    assert index_doc(backend, "character-service") is None
    assert not SyncEntry.objects.exists()
    assert status_exit_code() == 0


def test_admin_style_save_is_synchronised_too(clean_typesense):
    """A save outside registry.services (e.g. a shell) is still recorded by the signal."""
    service = register()
    service.name = "Saved directly"
    service.revision += 1
    service.save()
    Worker().drain()
    assert index_doc(clean_typesense, "character-service")["name"] == "Saved directly"


def test_writes_succeed_while_typesense_is_down_and_arrive_after(clean_typesense, typesense):
    ensure_index(SERVICES_INDEX)
    typesense.stop()
    for i in range(20):
        register(id=f"svc-{i}")
    services.service_update(service_id="svc-0", **{**service_payload(id="svc-0", name="Updated"), "id": None})
    services.service_delete(service_id="svc-1")
    result = Worker().drain()
    assert result.unavailable and result.delivered == 0
    pending = SyncEntry.objects.all()
    assert pending.count() == 22
    assert all(e.attempts == 1 and "unavailable" in e.last_error for e in pending)
    # Outages do not push entries into the future: they are due again at once.
    assert not pending.filter(next_attempt_at__gt=timezone.now()).exists()

    typesense.start()
    worker = Worker()
    worker.drain()
    # As run_forever does once Typesense answers again: a restarted server may have lost
    # what it acknowledged, or brought back documents of a collection dropped before it
    # stopped (seen in CI: the earlier tests' services were back in the index).
    worker.repair("after an outage", only_if_counts_differ=False)
    worker.drain()
    diff = compare_index(SERVICES_INDEX)
    assert diff.in_sync and diff.in_index == 19
    assert index_doc(clean_typesense, "svc-0")["name"] == "Updated"
    assert status_exit_code() == 0


def test_a_rejected_document_is_retried_with_backoff_and_its_error_kept(clean_typesense):
    backend = clean_typesense
    # A collection whose schema makes every service document fail to import.
    alias = backend.alias_name("services")
    broken = backend.collection_name("services", SERVICES_INDEX.schema_version)
    backend.create_collection({"name": broken, "fields": [{"name": "name", "type": "int32"}]})
    backend.point_alias(alias, broken)
    register()
    result = Worker().drain()
    assert result.failed == 1 and result.delivered == 0
    entry = SyncEntry.objects.get()
    assert entry.attempts == 1 and entry.last_error
    assert entry.next_attempt_at > timezone.now() + timedelta(milliseconds=400)
    assert entry.claimed_by == "" and entry.claimed_until is None


def test_a_version_that_moves_during_delivery_is_sent_again(clean_typesense, monkeypatch):
    """Fencing: a write that commits while a worker delivers an older read ends in the index."""
    register()
    original = SERVICES_INDEX.documents_for
    calls = []

    def read_then_concurrent_update(ids):
        documents = original(ids)
        if not calls:
            calls.append(1)
            # Another process commits a newer version after our read, before our upsert.
            services.service_update(service_id="character-service", **{**service_payload(name="Newer"), "id": None})
            # ... and a second worker delivers it first.
            Worker(name="other").drain()
        return documents

    monkeypatch.setitem(indexes._REGISTRY, "services", replace(SERVICES_INDEX, documents_for=read_then_concurrent_update))
    result = Worker(name="slow").drain()
    assert result.requeued == 1
    monkeypatch.undo()
    Worker().drain()
    assert index_doc(clean_typesense, "character-service")["name"] == "Newer"
    assert compare_index(SERVICES_INDEX).in_sync


def test_a_claim_blocks_other_workers_until_its_lease_runs_out(clean_typesense):
    register()
    token, claimed = Worker(name="dies", lease_seconds=60).claim()
    assert len(claimed) == 1
    assert Worker(name="other").drain().claimed == 0
    # The first worker died; its lease runs out.
    SyncEntry.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    assert Worker(name="other").drain().delivered == 1


def test_resync_rebuilds_the_index_from_the_database(clean_typesense):
    backend = clean_typesense
    for i in range(5):
        register(id=f"svc-{i}")
    Worker().drain()
    alias = backend.alias_name("services")
    # Damage: a document deleted, one stale, one that should not exist.
    backend.delete_one(alias, "svc-0")
    backend.upsert_many(alias, [{**index_doc(backend, "svc-1"), "version": 0, "name": "old"}])
    backend.upsert_many(alias, [{**index_doc(backend, "svc-2"), "id": "ghost"}])
    diff = compare_index(SERVICES_INDEX)
    assert (diff.missing, diff.stale, diff.extra) == (["svc-0"], ["svc-1"], ["ghost"])
    out = io.StringIO()
    try:
        call_command("typesense_status", stdout=out)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    assert code == 1 and "DIFFERS" in out.getvalue() and "ghost" in out.getvalue()

    call_command("typesense_resync", "--index", "services", stdout=io.StringIO())
    assert compare_index(SERVICES_INDEX).in_sync
    assert status_exit_code() == 0


def test_rebuild_swaps_the_alias_to_a_new_collection(clean_typesense):
    backend = clean_typesense
    register()
    Worker().drain()
    old = backend.alias_target(backend.alias_name("services"))
    report = rebuild_index(SERVICES_INDEX)
    assert report.collection != old and report.documents == 1
    assert backend.alias_target(backend.alias_name("services")) == report.collection
    with pytest.raises(SearchNotFound):
        backend.count(old)
    assert compare_index(SERVICES_INDEX).in_sync


def test_resync_command_rejects_an_unknown_index():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No search index named"):
        call_command("typesense_resync", "--index", "nope", stdout=io.StringIO())


def test_enqueue_outside_a_transaction_still_records():
    outbox.enqueue("services", ["x"])
    assert SyncEntry.objects.filter(object_id="x").exists()


def test_readyz_reports_database_typesense_and_backlog(client, typesense, clean_typesense):
    # /healthz is liveness only now; readiness (/readyz) reports what it used to (tests/test_health.py).
    register()
    body = client.get("/readyz").json()
    assert body["database"] == "ok" and body["typesense"] == "ok" and body["backlog"]["pending"] == 1
    typesense.stop()
    body = client.get("/readyz").json()
    assert body["typesense"] == "unreachable"


def test_a_schema_version_change_rebuilds_behind_the_alias(clean_typesense, monkeypatch):
    backend = clean_typesense
    register()
    call_command("typesense_migrate", stdout=io.StringIO())
    Worker().drain()
    old = backend.alias_target(backend.alias_name("services"))
    assert old == backend.collection_name("services", 1)
    monkeypatch.setitem(indexes._REGISTRY, "services", replace(SERVICES_INDEX, schema_version=2))
    out = io.StringIO()
    call_command("typesense_migrate", "--index", "services", stdout=out)
    new = backend.alias_target(backend.alias_name("services"))
    assert new.startswith(backend.collection_name("services", 2)) and new in out.getvalue()
    assert index_doc(backend, "character-service")["name"] == "Character Service"
    assert old not in backend.list_collections()


def test_resync_keeps_a_row_created_and_delivered_while_it_compares(clean_typesense, monkeypatch):
    """The race the 100,000-log test once hit: a write lands between the resync's read of
    the database ids and its export of the index; it must not be taken for an extra."""
    from search import maintenance

    for i in range(3):
        register(id=f"svc-{i}")
    Worker().drain()
    clean_typesense.upsert_many(clean_typesense.alias_name("services"), [{**index_doc(clean_typesense, "svc-0"), "id": "ghost"}])
    original_export = clean_typesense.export_fields

    def export_after_a_concurrent_write(collection, fields):
        if fields == ["id"]:
            register(id="late")  # created after the ids were read ...
            Worker().drain()  # ... and delivered before the export
            monkeypatch.setattr(clean_typesense, "export_fields", original_export)
        return original_export(collection, fields)

    monkeypatch.setattr(clean_typesense, "export_fields", export_after_a_concurrent_write)
    report = maintenance.resync_index(SERVICES_INDEX, backend=clean_typesense)
    assert report.removed == 1  # the ghost, not the late row
    assert index_doc(clean_typesense, "late") is not None and index_doc(clean_typesense, "ghost") is None


def test_documents_typesense_lost_are_found_and_sent_again(clean_typesense):
    """Typesense can lose acknowledged writes when killed (tests/test_faults.py); the
    worker's count check and its after-outage comparison put them back."""
    backend = clean_typesense
    for i in range(5):
        register(id=f"lost-{i}")
    worker = Worker()
    worker.drain()
    alias = backend.alias_name("services")
    backend.delete_one(alias, "lost-1")
    backend.delete_one(alias, "lost-3")
    assert worker.repair("test", only_if_counts_differ=True) == 2
    worker.drain()
    assert compare_index(SERVICES_INDEX).in_sync
    # A stale document keeps the count, so only the full comparison (after an outage) sees it.
    backend.upsert_many(alias, [{**to_document(Service.objects.get(pk="lost-0")), "version": 0}])
    assert worker.repair("test", only_if_counts_differ=True) == 0
    assert worker.repair("test", only_if_counts_differ=False) == 1
    worker.drain()
    assert compare_index(SERVICES_INDEX).in_sync
