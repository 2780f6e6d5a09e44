"""What the admin says (issue 29, item 13), in process against local FountainAI-style
services: the control room's actions are admin log entries ("Recent actions", each
object's history); JSON is pretty-printed, never a Python repr or an escaped string; one
wording for policies; credentials rows are the spec's schemes; one date filter on the log
list; an approval is listed with the request it came from. (The layout itself is measured
in Chromium by tests/test_admin_layout.py.)"""

import html
import json
import re

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType

from interactions.models import InteractionLog, PendingApproval, ServiceCall
from prompts.policies import NEEDS_APPROVAL
from prompts.services import operation_policy_set, spec_refresh
from registry import services as registry
from registry.models import Service
from tests.admin_layout_fixtures import LayoutService
from tests.control_fixtures import SceneService

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(db):
    server = SceneService()
    service = registry.service_register(id="scene", name="Scene Service", description="", openapi_url=server.spec_url)
    assert spec_refresh(service=service).usable
    server.service = service
    yield server
    server.close()


@pytest.fixture
def screenplay(db):
    server = LayoutService()
    service = registry.service_register(id="screenplay", name="Screenplay Service", description="", openapi_url=server.spec_url)
    assert spec_refresh(service=service).usable
    yield service
    server.close()


def interact(client, text):
    response = client.post("/interact", {"user_input": text}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def entries(model):
    return list(LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(model)).order_by("id")
                .values_list("object_id", "action_flag", "change_message", "user__username"))


def json_blocks(page: str) -> list:
    """What the page's JSON blocks show, read back as JSON (text that is not JSON as it is)."""
    def read(text):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return [read(html.unescape(text)) for text in re.findall(r'<pre class="json-block">(.*?)</pre>', page, re.S)]


def test_policy_changes_approvals_rejections_and_real_runs_are_admin_log_entries(scene, admin_client, client_api):
    operations = "/admin/control/services/scene/operations/"
    assert admin_client.post(operations, {"policy:getScene": "allowed"}).status_code == 302  # nothing changed
    assert entries(Service) == []
    admin_client.post(operations, {"writes_default": "needs_approval", "policy:deleteScene": "disabled"})
    assert entries(Service) == [("scene", CHANGE, "Changed policies: default for writes: needs approval; deleteScene: disabled.", "admin")]

    interact(client_api, "create scene title=One")
    interact(client_api, "create scene title=Two")
    one, two = PendingApproval.objects.order_by("id")
    admin_client.post("/admin/control/approvals/", {"approval": one.pk, "approve": "Approve"})
    admin_client.post("/admin/control/approvals/", {"approval": two.pk, "reject": "Reject", "reason": "not in this story"})
    admin_client.post("/admin/control/approvals/", {"approval": two.pk, "approve": "Approve"})  # refused: decided already
    assert entries(PendingApproval) == [
        (str(one.pk), CHANGE, "Approved and sent: createScene answered HTTP 201.", "admin"),
        (str(two.pk), CHANGE, "Rejected: not in this story", "admin"),
    ]

    playground = "/admin/control/services/scene/playground/"
    admin_client.post(playground, {"user_input": "get scene sceneId=5", "dry_run": "Dry run"})
    assert entries(InteractionLog) == []  # a dry run sends and logs nothing
    admin_client.post(playground, {"user_input": "get scene sceneId=5", "run": "Run for real"})
    log = InteractionLog.objects.get(user_input="get scene sceneId=5")
    assert entries(InteractionLog) == [(str(log.pk), ADDITION, "Ran in the playground (Scene Service).", "admin")]

    # They are the admin's recent actions, and each object's history.
    index = admin_client.get("/admin/").content.decode()
    recent = index[index.index('id="recent-actions-module"'):]
    assert "Scene Service (scene)" in recent and one.reference in recent and two.reference in recent and "get scene sceneId=5" in recent
    history = admin_client.get("/admin/registry/service/scene/history/").content.decode()
    assert "Changed policies: default for writes: needs approval; deleteScene: disabled." in history


def test_service_answers_and_arguments_are_pretty_printed_json(scene, admin_client, client_api):
    answer = {"sceneId": 7, "title": "A \"quoted\" <b>title</b>", "cast": ["Ada", "Grace"]}
    log = InteractionLog.objects.create(user_input="get scene 7", backend="local", outcome="answered",
                                        service_responses=[{"service_name": "Scene Service", "response": json.dumps(answer)},
                                                           {"service_name": "Scene Service", "response": "plain words, not JSON"}])
    ServiceCall.objects.create(log=log, position=0, service_id="scene", service_name="Scene Service", operation_id="getScene",
                               method="GET", url="http://127.0.0.1:9/api/scenes/7", request={"sceneId": 7}, status=200, ok=True,
                               response=json.dumps(answer))
    page = admin_client.get(f"/admin/interactions/interactionlog/{log.pk}/change/").content.decode()
    # The log's two responses (text that is not JSON as it is), then the call's arguments and answer.
    assert json_blocks(page) == [answer, "plain words, not JSON", {"sceneId": 7}, answer]
    # Not JSON inside an escaped string (\"sceneId\"), and the answer's HTML escaped.
    assert "\\&quot;sceneId" not in page and "<b>title</b>" not in page

    operation_policy_set(service=scene.service, operation_id="createScene", policy=NEEDS_APPROVAL, actor="user:alice")
    interact(client_api, "create scene title=Dawn")
    approvals = admin_client.get("/admin/control/approvals/").content.decode()
    assert json_blocks(approvals) == [{"body": {"title": "Dawn"}}]
    assert "{&#x27;" not in approvals and "{'" not in approvals  # not a Python repr
    approval = PendingApproval.objects.get()
    detail = admin_client.get(f"/admin/interactions/pendingapproval/{approval.pk}/change/").content.decode()
    assert json_blocks(detail) == [{"body": {"title": "Dawn"}}]


def test_an_approval_shows_the_request_it_came_from(scene, admin_client, client_api):
    operation_policy_set(service=scene.service, operation_id="createScene", policy=NEEDS_APPROVAL, actor="user:alice")
    interact(client_api, "create scene title=Dawn")
    approval = PendingApproval.objects.get()
    for path in ("/admin/control/approvals/", "/admin/interactions/pendingapproval/"):
        page = admin_client.get(path).content.decode()
        link = f'href="/admin/interactions/interactionlog/{approval.log_id}/change/"'
        assert re.search(link + r"[^>]*>create scene title=Dawn</a>", page), path
        assert f"log {approval.log_id}<" not in page


def test_an_approved_call_is_not_listed_under_pending_approvals(scene, admin_client, client_api):
    operation_policy_set(service=scene.service, operation_id="createScene", policy=NEEDS_APPROVAL, actor="user:alice")
    interact(client_api, "create scene title=Dawn")
    approval = PendingApproval.objects.get()
    admin_client.post("/admin/control/approvals/", {"approval": approval.pk, "approve": "Approve"})
    log_page = admin_client.get(f"/admin/interactions/interactionlog/{approval.log_id}/change/").content.decode()
    assert "Calls held for approval" in log_page and "Pending approvals" not in log_page.split('id="content"')[1]
    pending = admin_client.get("/admin/control/approvals/").content.decode()
    table = pending[pending.index('id="pending-approvals"'):pending.index('id="decided-approvals"')]
    assert approval.reference not in table and "Nothing waits for approval." in table
    every = admin_client.get("/admin/interactions/pendingapproval/").content.decode()
    assert "Calls held for approval, pending and decided" in every


def test_one_wording_for_policies(scene, admin_client):
    operation_policy_set(service=scene.service, operation_id="createScene", policy=NEEDS_APPROVAL, actor="user:alice")
    operations = admin_client.get("/admin/control/services/scene/operations/").content.decode()
    select = re.search(r'<select name="policy:createScene".*?</select>', operations, re.S).group(0)
    assert re.findall(r">([^<]+)</option>", select) == ["allowed", "needs approval", "disabled"]
    page = admin_client.get("/admin/registry/service/scene/change/").content.decode()
    shown = dict(re.findall(r'data-operation="(\w+)".*?<span class="policy-\w+">([^<]+)</span>', page, re.S))
    assert shown == {"getScene": "allowed", "deleteScene": "allowed", "createScene": "needs approval"}
    assert "Default for writes: <strong>allowed</strong>" in page
    registry.service_update(service_id="scene", name="Scene Service", description="", openapi_url=scene.service.openapi_url,
                            read_only=True)
    page = admin_client.get("/admin/registry/service/scene/change/").content.decode()
    assert "Default for writes: <strong>disabled</strong>" in page and ">Disabled<" not in page and ">Allowed<" not in page
    dry = admin_client.post("/admin/control/services/scene/playground/", {"user_input": "get scene sceneId=2", "dry_run": "1"})
    assert "policy allowed" in dry.content.decode() and "not sent" in dry.content.decode()


def test_credentials_rows_are_the_specs_schemes(screenplay, scene, admin_client):
    page = admin_client.get("/admin/registry/service/screenplay/change/").content.decode()
    group = page[page.index('id="credentials-group"'):page.index('id="operations-group"')]
    assert 'name="credentials-TOTAL_FORMS" value="2"' in group and 'name="credentials-MAX_NUM_FORMS" value="2"' in group
    for name, described in (("apiKeyAuth", "an API key in the X-Screenplay-Service-Key header"), ("bearerAuth", "a bearer token")):
        assert f"<strong>{name}</strong><br><span class=\"quiet\">{described}</span>" in group
    assert " of screenplay" not in group and "<select" not in group
    # A spec without security schemes: a note, and the page still saves (the management form is there).
    page = admin_client.get("/admin/registry/service/scene/change/").content.decode()
    group = page[page.index('id="credentials-group"'):page.index('id="operations-group"')]
    assert "Its spec declares no security scheme" in group and "<table" not in group
    assert 'name="credentials-TOTAL_FORMS" value="0"' in group
    form = {"name": "Scene Service", "description": "Renamed in the admin.", "openapi_url": scene.spec_url, "tags": "",
            "credentials-TOTAL_FORMS": "0", "credentials-INITIAL_FORMS": "0", "operation_policies-TOTAL_FORMS": "0",
            "operation_policies-INITIAL_FORMS": "0", "vocabulary-TOTAL_FORMS": "0", "vocabulary-INITIAL_FORMS": "0",
            "_save": "Save"}
    assert admin_client.post("/admin/registry/service/scene/change/", form).status_code == 302
    assert Service.objects.get(pk="scene").description == "Renamed in the admin."


def test_the_log_list_has_one_date_filter(admin_client):
    InteractionLog.objects.create(user_input="x", backend="local", outcome="answered")
    page = admin_client.get("/admin/interactions/interactionlog/").content.decode()
    titles = re.findall(r'data-filter-title="([^"]+)"', page)
    assert "outcome" in titles and [t for t in titles if "date" in t or "created" in t] == ["date range"]
