"""Operation policies, held calls and the control room's reads, in process, against
a local FountainAI-style service that records what it receives (the browser and
gunicorn side is tests/test_control_browser.py)."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from control import selectors as control
from core.errors import ApplicationError
from interactions import approvals
from interactions.models import InteractionLog, PendingApproval, ServiceCall
from prompts.policies import ALLOWED, DISABLED, NEEDS_APPROVAL, WRITES_DEFAULT, effective_policy
from prompts.services import operation_policy_set, spec_refresh
from registry import services as registry
from search.models import SyncEntry
from tests.control_fixtures import SceneService
from tests.fake_openai import tool_call

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(db):
    server = SceneService()
    service = registry.service_register(id="scene", name="Scene Service", description="", openapi_url=server.spec_url)
    assert spec_refresh(service=service).usable
    server.service = service
    yield server
    server.close()


def interact(client, text):
    response = client.post("/interact", {"user_input": text}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def fresh(service):
    from registry.models import Service

    return Service.objects.prefetch_related("operation_policies").get(pk=service.pk)


GET = {"operation_id": "getScene", "method": "GET", "path": "/scenes/{sceneId}"}
POST = {"operation_id": "createScene", "method": "POST", "path": "/scenes"}


def test_one_rule_decides_the_policy_and_every_change_is_audited(scene):
    service = scene.service
    assert (effective_policy(fresh(service), GET), effective_policy(fresh(service), POST)) == (ALLOWED, ALLOWED)
    operation_policy_set(service=service, operation_id=WRITES_DEFAULT, policy=NEEDS_APPROVAL, actor="user:alice")
    assert (effective_policy(fresh(service), GET), effective_policy(fresh(service), POST)) == (ALLOWED, NEEDS_APPROVAL)
    operation_policy_set(service=service, operation_id="createScene", policy=ALLOWED, actor="user:alice")
    assert effective_policy(fresh(service), POST) == ALLOWED  # the operation's own policy beats the default
    # The read-only switch is writes disabled, whatever the rows say.
    registry.service_update(service_id="scene", name="Scene Service", description="", openapi_url=service.openapi_url, read_only=True)
    assert (effective_policy(fresh(service), GET), effective_policy(fresh(service), POST)) == (ALLOWED, DISABLED)
    assert not operation_policy_set(service=service, operation_id="createScene", policy=ALLOWED, actor="user:bob")
    events = list(AuditEvent.objects.filter(action="operation.policy").order_by("id").values_list("actor", "changes"))
    assert events == [("user:alice", {"(writes default)": [None, NEEDS_APPROVAL]}), ("user:alice", {"createScene": [None, ALLOWED]})]
    # The operations index is told in the same transaction.
    assert SyncEntry.objects.filter(index="operations", object_id="scene:createScene").exists()


def test_a_disabled_operation_is_not_a_tool_and_a_forced_call_is_refused(scene, client_api, fake_openai):
    operation_policy_set(service=scene.service, operation_id="deleteScene", policy=DISABLED, actor="user:alice")
    fake_openai.script({"content": None, "tool_calls": [tool_call("scene__deleteScene", {"sceneId": 1})]}, {"content": "done"})
    interact(client_api, "delete scene 1")
    names = {t["function"]["name"] for t in fake_openai.requests[0]["tools"]}
    assert "scene__getScene" in names and "scene__deleteScene" not in names
    assert "deleteScene" not in fake_openai.requests[0]["messages"][0]["content"]
    assert scene.calls() == [] and not ServiceCall.objects.exists()


def test_a_held_call_runs_once_when_approved(scene, client_api, fake_openai):
    operation_policy_set(service=scene.service, operation_id="createScene", policy=NEEDS_APPROVAL, actor="user:alice")
    fake_openai.script(
        {"content": None, "tool_calls": [tool_call("scene__createScene", {"body": {"title": 5}}, "c1"),
                                         tool_call("scene__createScene", {"body": {"title": "Dawn"}}, "c2")]},
        {"content": "Your scene will be created once approved."},
    )
    body = interact(client_api, "create a scene called Dawn")
    approval = PendingApproval.objects.get()
    # Bad arguments went back to the model; the good call waits; the user is told the reference.
    tool_messages = [json.loads(m["content"]) for m in fake_openai.requests[1]["messages"] if m["role"] == "tool"]
    assert "invalid arguments" in tool_messages[0]["error"] and tool_messages[1]["reference"] == approval.reference
    assert approval.reference in body["assistant_response"] and "waits for an administrator's approval" in body["assistant_response"]
    assert approval.arguments == {"body": {"title": "Dawn"}} and approval.requested_by.startswith("key:")
    assert scene.calls() == []

    approval_done, call = approvals.approval_approve(approval_id=approval.pk, actor="user:alice")
    assert call.ok and approval_done.state == "approved" and approval_done.call_id is not None
    with pytest.raises(ApplicationError) as second:
        approvals.approval_approve(approval_id=approval.pk, actor="user:bob")
    assert second.value.status_code == 409
    assert [(m, p) for m, p, _ in scene.calls()] == [("POST", "/api/scenes")]
    log = InteractionLog.objects.get()
    assert log.service_responses[approval.position] == {"service_name": "Scene Service", "response": '{"sceneId": 7, "title": "created"}'}
    # The answer the log keeps no longer says it waits: it says what became of it.
    assert "waits for an administrator" not in log.assistant_response
    assert f"{approval.reference}: createScene was approved and sent; it answered HTTP 201" in log.assistant_response
    assert SyncEntry.objects.filter(index="interaction_logs", object_id=str(log.pk)).count() >= 2  # logged, then amended


def test_rejected_expired_and_since_disabled_calls_are_never_sent(scene, client_api, settings):
    operation_policy_set(service=scene.service, operation_id="createScene", policy=NEEDS_APPROVAL, actor="user:alice")
    for title in ("One", "Two", "Three"):
        interact(client_api, f"create scene title={title}")
    one, two, three = PendingApproval.objects.order_by("id")
    with pytest.raises(ApplicationError):
        approvals.approval_reject(approval_id=one.pk, actor="user:alice", reason=" ")
    approvals.approval_reject(approval_id=one.pk, actor="user:alice", reason="no")
    PendingApproval.objects.filter(pk=two.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ApplicationError):
        approvals.approval_approve(approval_id=two.pk, actor="user:alice")
    operation_policy_set(service=scene.service, operation_id="createScene", policy=DISABLED, actor="user:alice")
    _, call = approvals.approval_approve(approval_id=three.pk, actor="user:alice")
    assert call is None
    assert [a.state for a in PendingApproval.objects.order_by("id")] == ["rejected", "expired", "approved"]
    assert scene.calls() == []
    responses = [log.service_responses[0]["response"] for log in InteractionLog.objects.order_by("id")]
    assert "rejected" in responses[0] and "not approved in time" in responses[1] and "no longer offered" in responses[2]
    answers = [log.assistant_response for log in InteractionLog.objects.order_by("id")]
    assert f"{one.reference}: createScene was rejected by an administrator (no)" in answers[0]
    assert all("nothing has been sent yet" not in answer for answer in answers)


def test_operations_table_figures_and_constant_queries(scene, django_assert_num_queries):
    now = timezone.now()
    log = InteractionLog.objects.create(user_input="x", backend="local", outcome="answered")

    def calls(operation_id, durations, *, age, ok=True, error=""):
        ServiceCall.objects.bulk_create([
            ServiceCall(log=log, position=0, service_id="scene", service_name="Scene Service", operation_id=operation_id,
                        ok=ok, status=200 if ok else 500, error=error, duration_ms=d, created_at=now - age)
            for d in durations
        ])

    service = fresh(scene.service)
    with django_assert_num_queries(3):  # policies, counts, durations (no error to read)
        empty = control.operations_table(service, now=now)
    assert [r.week.calls for r in empty] == [0, 0, 0]
    calls("getScene", range(1, 101), age=timedelta(hours=1))  # 100 calls today, 1..100 ms
    calls("getScene", [1000] * 20, age=timedelta(days=2), ok=False, error="boom")  # 20 failures two days ago
    calls("getScene", [5], age=timedelta(days=8))  # too old
    calls("createScene", [7], age=timedelta(hours=2), ok=False, error="")
    service = fresh(scene.service)
    with django_assert_num_queries(4):  # and the last errors, whatever the number of calls
        rows = {r.operation_id: r for r in control.operations_table(service, now=now)}
    get = rows["getScene"]
    assert (get.day.calls, get.day.failed, get.day.p50_ms, get.day.p95_ms) == (100, 0, 50, 95)
    assert (get.week.calls, get.week.failed, get.week.failed_share) == (120, 20, "17%")
    assert (get.week.p50_ms, get.week.p95_ms, get.last_error) == (60, 1000, "boom")
    assert (rows["createScene"].day.failed_share, rows["createScene"].last_error) == ("100%", "HTTP 500")
    assert rows["createScene"].required == ["body.title"] and rows["getScene"].required == ["sceneId"]
    from django.contrib.auth.models import User

    with django_assert_num_queries(6):  # failing specs (and how many), operations, backlog, approvals, held secrets
        overview = control.overview(User(username="root", is_superuser=True))
    assert overview["failing_operations"][0] == {"service_id": "scene", "operation_id": "createScene", "calls": 1, "failed": 1}


def test_a_refetch_that_changes_operations_is_kept_in_the_history(scene):
    from prompts.models import SpecChange
    from tests import control_fixtures

    original = control_fixtures.SPEC
    try:
        control_fixtures.SPEC = original.replace("operationId: deleteScene", "operationId: removeScene")
        spec_refresh(service=scene.service, force=True)
    finally:
        control_fixtures.SPEC = original
    change = SpecChange.objects.get()
    assert (change.added, change.removed, change.changed) == (["removeScene"], ["deleteScene"], [])


@pytest.mark.parametrize("path", ["/admin/control/approvals/", "/admin/control/playground/", "/admin/control/services/scene/operations/"])
def test_control_room_pages_need_a_staff_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_control_room_pages_make_the_same_queries_with_more_services_and_approvals(scene, admin_client, client_api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    pages = ("/admin/", "/admin/control/approvals/", "/admin/registry/service/scene/change/",
             "/admin/control/services/scene/operations/", "/admin/control/services/scene/playground/")
    operation_policy_set(service=scene.service, operation_id="createScene", policy=NEEDS_APPROVAL, actor="user:alice")
    interact(client_api, "create scene title=One")

    def counts():
        result = []
        for path in pages:
            with CaptureQueriesContext(connection) as queries:
                assert admin_client.get(path).status_code == 200, path
            result.append(len(queries))
        return result

    counts()  # warms the process's caches (content types)
    before = counts()
    for i in range(5):
        registry.service_register(id=f"other-{i}", name="Other", description="", openapi_url=f"http://127.0.0.1:9/{i}.yml")
        interact(client_api, f"create scene title=More{i}")
    assert PendingApproval.objects.count() == 6 and counts() == before
