"""The control room obeys permissions (issue 25, item 2): for every page and action, the
matrix of a superuser, an operator (group "Operators"), an approver (group "Approvers")
and a staff user with no permission, in process against a local service that records
what it receives; then the high-severity case against gunicorn: a staff user with no
permissions cannot change a policy, approve a held write or run the playground for
real (and an operator and an approver from the migrated groups can)."""

import importlib
import re

import httpx
import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test import Client

from interactions.models import InteractionLog, PendingApproval
from prompts.models import OperationPolicy
from prompts.policies import NEEDS_APPROVAL
from prompts.services import operation_policy_set, spec_refresh
from registry import services as registry
from tests.admin_forms import AdminSession
from tests.control_fixtures import SceneService

ROLES = ("superuser", "operator", "approver", "staff")


@pytest.fixture
def groups(db):
    """The groups as migration control 0002 makes them (run again: a transactional test
    elsewhere in the session may have flushed the tables since the test database was migrated)."""
    migration = importlib.import_module("control.migrations.0002_operators_and_approvers")
    state = MigrationLoader(connection).project_state(("control", "0002_operators_and_approvers"))
    migration.create_groups(state.apps, None)
    return {group.name: group for group in Group.objects.all()}


@pytest.fixture
def users(groups):
    made = {"superuser": User.objects.create_superuser("root", "root@example.com", "pw-root-123456")}
    for role, group in (("operator", "Operators"), ("approver", "Approvers"), ("staff", None)):
        made[role] = User.objects.create_user(role, f"{role}@example.com", f"pw-{role}-123456", is_staff=True)
        if group:
            made[role].groups.add(groups[group])
    return made


@pytest.fixture
def scene(db):
    server = SceneService()
    service = registry.service_register(id="scene", name="Scene Service", description="", openapi_url=server.spec_url)
    assert spec_refresh(service=service).usable
    operation_policy_set(service=service, operation_id="createScene", policy=NEEDS_APPROVAL, actor="user:setup")
    server.service = service
    yield server
    server.close()


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def held(client_api) -> PendingApproval:
    response = client_api.post("/interact", {"user_input": "create scene title=Held"}, format="json")
    assert response.status_code == 200, response.content
    return PendingApproval.objects.get(state="pending")


# Each action: (what the request does, whether its effect happened).
def operations_page(client, scene, client_api):
    response = client.get("/admin/control/services/scene/operations/")
    return response, b'id="operations-table"' in response.content


def change_policy(client, scene, client_api):
    response = client.post("/admin/control/services/scene/operations/", {"policy:deleteScene": "disabled"})
    return response, OperationPolicy.objects.filter(service_id="scene", operation_id="deleteScene", policy="disabled").exists()


def approvals_page(client, scene, client_api):
    approval = held(client_api)
    response = client.get("/admin/control/approvals/")
    return response, approval.reference.encode() in response.content


def approve(client, scene, client_api):
    approval = held(client_api)
    response = client.post("/admin/control/approvals/", {"approval": approval.pk, "approve": "Approve"})
    return response, scene.calls("POST") != []


def reject(client, scene, client_api):
    approval = held(client_api)
    response = client.post("/admin/control/approvals/", {"approval": approval.pk, "reason": "not now", "reject": "Reject"})
    return response, PendingApproval.objects.get(pk=approval.pk).state == "rejected"


def playground_page(client, scene, client_api):
    response = client.get("/admin/control/playground/")
    return response, b'id="playground-form"' in response.content


def service_playground_page(client, scene, client_api):
    response = client.get("/admin/control/services/scene/playground/")
    return response, b'id="playground-form"' in response.content


def dry_run(client, scene, client_api):
    response = client.post("/admin/control/services/scene/playground/", {"user_input": "get scene sceneId=3", "dry_run": "Dry run"})
    return response, b'id="dry-run-result"' in response.content and b"getScene" in response.content and scene.calls() == []


def real_run(client, scene, client_api):
    response = client.post("/admin/control/services/scene/playground/", {"user_input": "get scene sceneId=3", "run": "Run for real"})
    return response, [path for _, path, _ in scene.calls("GET")] == ["/api/scenes/3"]


MATRIX = [  # the action, and who may do it
    (operations_page, {"superuser", "operator", "approver"}),
    (change_policy, {"superuser", "operator"}),
    (approvals_page, {"superuser", "operator", "approver"}),
    (approve, {"superuser", "approver"}),
    (reject, {"superuser", "approver"}),
    (playground_page, {"superuser", "operator", "approver"}),
    (service_playground_page, {"superuser", "operator", "approver"}),
    (dry_run, {"superuser", "operator", "approver"}),
    (real_run, {"superuser", "operator"}),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action,allowed", MATRIX, ids=[action.__name__ for action, _ in MATRIX])
def test_permission_matrix(action, allowed, role, users, scene, client_api):
    logs_before = InteractionLog.objects.count()
    response, happened = action(browser(users[role]), scene, client_api)
    if role in allowed:
        assert response.status_code in (200, 302), response.content[:500]
        assert happened, f"{role} may {action.__name__}, but it did not happen"
    else:
        assert response.status_code == 403
        assert not happened, f"{role} may not {action.__name__}, but it happened"
        if action is real_run:
            assert InteractionLog.objects.count() == logs_before  # nothing ran, nothing was logged


def test_a_page_shows_only_the_buttons_its_user_may_press(users, scene, client_api):
    held(client_api)
    operator, approver = browser(users["operator"]), browser(users["approver"])
    assert b'name="save_policies"' in operator.get("/admin/control/services/scene/operations/").content
    page = approver.get("/admin/control/services/scene/operations/").content
    assert b'name="save_policies"' not in page and b'name="policy:createScene"' not in page
    assert b'class="default approve"' in approver.get("/admin/control/approvals/").content
    assert b'class="default approve"' not in operator.get("/admin/control/approvals/").content
    assert b'id="real-run"' in operator.get("/admin/control/playground/").content
    assert b'id="real-run"' not in approver.get("/admin/control/playground/").content


def test_the_overview_shows_each_user_only_what_they_may_see(users, scene, client_api):
    from credentials.models import ServiceCredential

    held(client_api)
    ServiceCredential.objects.create(service_id="scene", scheme="apiKeyAuth", ciphertext=b"x", origins=["http://a.example"],
                                     pending_origins=["http://b.example"])
    users["credentials"] = User.objects.create_user("keeper", "k@example.com", "pw-keeper-123456", is_staff=True)
    from django.contrib.auth.models import Permission

    users["credentials"].user_permissions.add(Permission.objects.get(codename="view_servicecredential"))
    expected = {  # the overview's parts each user sees
        "superuser": {"pending-count", "held-credentials", "failing-specs", "failing-operations", "sync-backlog"},
        "operator": {"pending-count", "failing-specs", "failing-operations", "sync-backlog"},
        "approver": {"pending-count", "failing-specs", "failing-operations", "sync-backlog"},
        "credentials": {"held-credentials"},
        "staff": set(),
    }
    parts = {"pending-count", "held-credentials", "failing-specs", "failing-operations", "sync-backlog"}
    for role, seen in expected.items():
        page = browser(users[role]).get("/admin/").content.decode()
        assert {part for part in parts if f'id="{part}"' in page} == seen, role
        assert ('id="control-overview"' in page) == bool(seen), role
    page = browser(users["superuser"]).get("/admin/").content.decode()
    assert "1 waiting" in page and "apiKeyAuth wait for an admin to confirm http://b.example" in page


def test_the_groups_hold_the_control_rooms_permissions(groups):
    def held_by(name):
        return {f"{p.content_type.app_label}.{p.codename}" for p in groups[name].permissions.all()}

    assert held_by("Operators") == {"control.view_operations", "control.change_policies", "control.run_playground",
                                    "control.view_approvals", "registry.view_service"}
    assert held_by("Approvers") == {"control.view_approvals", "control.decide_approvals", "control.view_operations",
                                    "registry.view_service"}


def test_the_service_page_shows_the_operations_panel_to_who_may_see_operations(users, scene):
    page = browser(users["operator"]).get("/admin/registry/service/scene/change/")
    assert page.status_code == 200 and b'id="operations-panel"' in page.content
    assert browser(users["staff"]).get("/admin/registry/service/scene/change/").status_code == 403


# --- against gunicorn ---------------------------------------------------------------------


def _make_user(server, username: str, group: str | None):
    server.manage("shell", "-c", (
        "from django.contrib.auth.models import Group, User; "
        f"u = User.objects.create_user({username!r}, {username + '@example.com'!r}, {username + '-pw-0123456789'!r}, is_staff=True); "
        + (f"u.groups.add(Group.objects.get(name={group!r}))" if group else "None")
    ))


def _state(server, service_id: str) -> str:
    return server.manage("shell", "-c", (
        "from prompts.models import OperationPolicy; from interactions.models import PendingApproval; "
        f"print(sorted(OperationPolicy.objects.filter(service_id={service_id!r}).values_list('operation_id', 'policy')), "
        f"sorted(PendingApproval.objects.filter(service_id={service_id!r}).values_list('state', flat=True)))"
    )).stdout.strip().splitlines()[-1]


def test_a_staff_user_without_permissions_changes_sends_and_runs_nothing_against_gunicorn(running_server):
    scene = SceneService()
    service_id = f"perm-scene-{scene.httpd.server_address[1]}"
    keys = {"X-API-KEY": running_server.api_key, "X-ADMIN-API-KEY": running_server.admin_key}
    url = running_server.url
    sessions = []
    try:
        assert httpx.post(f"{url}/services/register", headers=keys, json={
            "id": service_id, "name": "Permission Scenes", "description": "Scenes.", "openapi_url": scene.spec_url}).status_code == 201
        assert httpx.get(f"{url}/system-prompt", params={"service_ids": service_id}, headers=keys).status_code == 200  # fetched
        running_server.manage("shell", "-c", (
            "from prompts.services import operation_policy_set; from registry.models import Service; "
            f"operation_policy_set(service=Service.objects.get(pk={service_id!r}), operation_id='createScene', "
            "policy='needs_approval', actor='user:setup')"))
        answer = httpx.post(f"{url}/interact", headers=keys, json={"user_input": "create permission scene title=Held"}, timeout=30)
        reference = re.search(r"APR-[0-9A-F]{8}", answer.json()["assistant_response"]).group(0)
        approval_id = running_server.manage("shell", "-c", (
            f"from interactions.models import PendingApproval; print(PendingApproval.objects.get(reference={reference!r}).pk)"
        )).stdout.strip().splitlines()[-1]
        suffix = scene.httpd.server_address[1]
        for username, group in ((f"nobody{suffix}", None), (f"operator{suffix}", "Operators"), (f"approver{suffix}", "Approvers")):
            _make_user(running_server, username, group)
        nobody, operator, approver = (AdminSession(running_server, f"{name}{suffix}", f"{name}{suffix}-pw-0123456789")
                                      for name in ("nobody", "operator", "approver"))
        sessions += [nobody, operator, approver]
        before = _state(running_server, service_id)
        operations, playground = f"/admin/control/services/{service_id}/operations/", f"/admin/control/services/{service_id}/playground/"

        # The staff user with no permission: 403 each time, and nothing changed, sent or run.
        assert nobody.post(operations, {"policy:createScene": "allowed", "save_policies": "Save"}).status_code == 403
        assert nobody.post("/admin/control/approvals/", {"approval": approval_id, "approve": "Approve"}).status_code == 403
        assert nobody.post(playground, {"user_input": "get scene sceneId=77", "run": "Run for real"}).status_code == 403
        assert _state(running_server, service_id) == before
        assert scene.calls() == []
        assert nobody.http.get("/admin/control/approvals/").status_code == 403

        # The migrated groups can: the operator changes a policy and runs for real, the approver approves.
        assert operator.post(operations, {"policy:deleteScene": "disabled", "save_policies": "Save"}).status_code == 302
        assert operator.post("/admin/control/approvals/", {"approval": approval_id, "approve": "Approve"}).status_code == 403
        assert approver.post(playground, {"user_input": "get scene sceneId=77", "run": "Run for real"}).status_code == 403
        assert scene.calls() == []
        assert approver.post("/admin/control/approvals/", {"approval": approval_id, "approve": "Approve"}).status_code == 302
        assert [(m, p) for m, p, _ in scene.calls()] == [("POST", "/api/scenes")]
        assert operator.post(playground, {"user_input": "get scene sceneId=77", "run": "Run for real"}).status_code == 200
        assert ("GET", "/api/scenes/77") in [(m, p) for m, p, _ in scene.calls()]
        assert "('deleteScene', 'disabled')" in _state(running_server, service_id)
    finally:
        for session in sessions:
            session.close()
        httpx.delete(f"{url}/services/delete/{service_id}", headers=keys)
        scene.close()
