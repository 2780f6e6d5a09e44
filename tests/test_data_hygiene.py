"""Retention and export of interaction logs, and the audit trail of registry and key changes."""

import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.models import AuditEvent
from interactions.models import InteractionLog, ServiceCall
from search.models import SyncEntry
from tests.conftest import service_payload

pytestmark = pytest.mark.django_db


def _log(days_old: float, text: str) -> InteractionLog:
    log = InteractionLog.objects.create(user_input=text, assistant_response="ok", backend="local", outcome="answered",
                                        created_at=timezone.now() - timedelta(days=days_old), request_id=f"req-{text}")
    ServiceCall.objects.create(log=log, position=0, service_id="svc", service_name="Svc", operation_id="op",
                               request={"id": 1}, status=200, ok=True, response="{}")
    return log


def test_retention_deletes_old_logs_and_queues_their_index_removal(settings):
    old, recent = _log(40, "old"), _log(5, "recent")
    SyncEntry.objects.all().delete()
    settings.ENSEMBLE_LOG_RETENTION_DAYS = 30
    out = io.StringIO()
    call_command("retention_prune", stdout=out)
    assert "Deleted 1 log(s)" in out.getvalue()
    assert list(InteractionLog.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not ServiceCall.objects.filter(log_id=old.pk).exists()
    # The worker will remove the document from Typesense (it finds no row and deletes).
    assert list(SyncEntry.objects.values_list("index", "object_id")) == [("interaction_logs", str(old.pk))]


def test_retention_dry_run_and_days_option():
    _log(10, "a")
    _log(3, "b")
    out = io.StringIO()
    call_command("retention_prune", "--days", "7", "--dry-run", stdout=out)
    assert "1 log(s)" in out.getvalue() and InteractionLog.objects.count() == 2
    call_command("retention_prune", "--days", "7", stdout=io.StringIO())
    assert InteractionLog.objects.count() == 1
    with pytest.raises(CommandError):
        call_command("retention_prune", "--days", "0")


def test_retention_removes_the_documents_from_typesense(clean_typesense, settings):
    from interactions.search_index import LOGS_INDEX
    from search.maintenance import compare_index
    from search.worker import Worker

    _log(40, "old")
    _log(1, "new")
    Worker().drain()
    call_command("retention_prune", "--days", "30", stdout=io.StringIO())
    Worker().drain()
    report = compare_index(LOGS_INDEX)
    assert report.in_sync and report.in_index == 1


def test_export_writes_json_lines_with_service_calls(tmp_path):
    first, second = _log(3, "first"), _log(1, "second")
    target = tmp_path / "logs.jsonl"
    call_command("logs_export", "--output", str(target), stderr=io.StringIO())
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [row["id"] for row in rows] == [first.pk, second.pk]
    assert rows[0]["user_input"] == "first" and rows[0]["request_id"] == "req-first"
    assert rows[0]["service_calls"][0]["operation_id"] == "op" and rows[0]["service_calls"][0]["status"] == 200
    since = (timezone.now() - timedelta(days=2)).isoformat()
    out = io.StringIO()
    call_command("logs_export", "--since", since, stdout=out, stderr=io.StringIO())
    assert [json.loads(line)["id"] for line in out.getvalue().splitlines()] == [second.pk]
    with pytest.raises(CommandError):
        call_command("logs_export", "--since", "yesterday")


def test_api_changes_to_the_registry_are_audited(client_admin, api_keys):
    client_admin.post("/services/register", service_payload(id="audited", tags=["a"]), format="json")
    client_admin.put("/services/update/audited", service_payload(id="audited", name="Renamed", tags=["b"]), format="json",
                     HTTP_X_REQUEST_ID="trace-audit-0001")
    client_admin.delete("/services/delete/audited")
    events = list(AuditEvent.objects.filter(target_type="service").order_by("id"))
    assert [e.action for e in events] == ["service.register", "service.update", "service.delete"]
    assert all(e.actor == f"key:{api_keys['admin'][:12]} (test admin)" for e in events)
    update = events[1]
    assert update.changes["name"][1] == "Renamed" and update.changes["tags"] == [["a"], ["b"]]
    assert update.request_id == "trace-audit-0001" and "description" not in update.changes


def test_a_refused_change_leaves_no_audit_event(client_admin):
    client_admin.post("/services/register", service_payload(id="dup"), format="json")
    client_admin.post("/services/register", service_payload(id="dup"), format="json")  # 400: already exists
    client_admin.delete("/services/delete/missing")  # 404
    assert AuditEvent.objects.filter(target_type="service").count() == 1


def test_admin_changes_to_the_registry_and_keys_are_audited(admin_client):
    admin_client.post("/admin/registry/service/add/", {"id": "from-admin", "name": "A", "description": "d",
                                                     "openapi_url": "https://example.com/o.yml", "tags": "x"})
    admin_client.post("/admin/apikeys/apikey/add/", {"name": "ci"})
    from apikeys.models import ApiKey

    key = ApiKey.objects.get(name="ci")
    admin_client.post("/admin/apikeys/apikey/", {"action": "rotate_selected", "_selected_action": [key.pk]})
    admin_client.post("/admin/apikeys/apikey/", {"action": "revoke_selected", "_selected_action": [key.pk]})
    actions = list(AuditEvent.objects.order_by("id").values_list("actor", "action"))
    assert actions == [("user:admin", "service.register"), ("user:admin", "apikey.create"),
                       ("user:admin", "apikey.create"), ("user:admin", "apikey.rotate"), ("user:admin", "apikey.revoke")]
    # Secrets never reach the trail.
    assert "digest" not in json.dumps(list(AuditEvent.objects.values_list("changes", flat=True)))


def test_the_audit_trail_is_read_only_in_the_admin(admin_client):
    from audit.services import audit_record

    event = audit_record(actor="test", action="service.update", target_type="service", target_id="x")
    assert admin_client.get("/admin/audit/auditevent/").status_code == 200
    assert admin_client.get("/admin/audit/auditevent/add/").status_code == 403
    assert admin_client.post(f"/admin/audit/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403


def test_editing_a_key_in_the_admin_is_audited(admin_client):
    from apikeys.models import ApiKey
    from apikeys.services import api_key_create

    key, _ = api_key_create(name="old name", is_admin=False)
    response = admin_client.post(f"/admin/apikeys/apikey/{key.pk}/change/", {"name": "new name", "expires_at_0": "", "expires_at_1": ""})
    assert response.status_code == 302 and ApiKey.objects.get(pk=key.pk).name == "new name"
    event = AuditEvent.objects.get(action="apikey.change")
    assert event.actor == "user:admin" and event.changes == {"name": ["old name", "new name"]}
