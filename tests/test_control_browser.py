"""The admin as the control room, in headless Chromium against gunicorn: an admin sets
operation policies, approves or rejects held calls, reads the operations' health and
tries requests in the playground; a local FountainAI-style service records what it
actually receives. Screenshots go to test-artifacts/control-room/ (not committed)."""

import json
import re
from pathlib import Path

import httpx
import pytest

from tests.browser import chromium_page, ensure_superuser, log_in
from tests.control_fixtures import SceneService

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "control-room"


@pytest.fixture(scope="module")
def scene(running_server):
    service = SceneService()
    service_id = f"scene-{service.httpd.server_address[1]}"
    headers = {"X-API-KEY": running_server.api_key, "X-ADMIN-API-KEY": running_server.admin_key}
    response = httpx.post(f"{running_server.url}/services/register", headers=headers, json={
        "id": service_id, "name": "Scene Service", "description": "Scenes of a story.", "openapi_url": service.spec_url,
    })
    assert response.status_code == 201, response.text
    service.id = service_id
    assert "getScene" in system_prompt(running_server, service_id)  # fetches the spec
    yield service
    httpx.delete(f"{running_server.url}/services/delete/{service_id}", headers=headers)
    service.close()


@pytest.fixture(scope="module")
def admin(running_server):
    ensure_superuser(running_server, "control", "control-test-password")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium_page(viewport={"width": 1400, "height": 1000}) as page:
        log_in(page, running_server.url, "control", "control-test-password")
        yield page


def system_prompt(server, service_id) -> str:
    response = httpx.get(f"{server.url}/system-prompt", params={"service_ids": service_id}, headers={"X-API-KEY": server.api_key})
    assert response.status_code == 200, response.text
    return response.json()["system_prompt"]


def interact(server, text) -> dict:
    response = httpx.post(f"{server.url}/interact", json={"user_input": text}, headers={"X-API-KEY": server.api_key}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def logged(server, text) -> dict:
    response = httpx.get(f"{server.url}/logs", params={"limit": 200}, headers={"X-API-KEY": server.api_key})
    assert response.status_code == 200
    return next(entry for entry in response.json()["logs"] if entry["user_input"] == text)


def set_policy(page, server, service_id, operation_id, policy):
    page.goto(f"{server.url}/admin/control/services/{service_id}/operations/")
    page.select_option(f"select[name='policy:{operation_id}']", policy)
    page.click("input[name=save_policies]")
    assert operation_id in page.inner_text(".messagelist")


def row_of(page, reference):
    return page.locator(f"#pending-approvals tr[data-reference='{reference}']")


def test_needs_approval_waits_then_runs_once_rejected_and_expired_never(running_server, scene, admin):
    url = running_server.url
    set_policy(admin, running_server, scene.id, "createScene", "needs_approval")  # the later tests rely on it too

    # The request is answered plainly, and nothing reaches the service.
    answer = interact(running_server, "create scene title=Opening")
    reference = re.search(r"APR-[0-9A-F]{8}", answer["assistant_response"]).group(0)
    assert "waits for an administrator's approval" in answer["assistant_response"]
    assert scene.calls("POST") == []

    # The admin sees it (with a count on the index), and approves it in the browser.
    admin.goto(f"{url}/admin/")
    assert re.search(r"[1-9]\d* waiting", admin.inner_text("#pending-count"))
    admin.goto(f"{url}/admin/control/approvals/")
    assert "createScene" in row_of(admin, reference).inner_text()
    admin.screenshot(path=str(ARTIFACTS / "approvals.png"), full_page=True)
    row_of(admin, reference).locator("input.approve").click()
    assert f"{reference} approved and sent" in admin.inner_text(".messagelist")
    assert [(m, p) for m, p, _ in scene.calls("POST")] == [("POST", "/api/scenes")]
    assert json.loads(scene.calls("POST")[0][2]) == {"title": "Opening"}
    # Its result joins the same interaction in GET /logs.
    entry = logged(running_server, "create scene title=Opening")
    assert entry["service_responses"] == [{"service_name": "Scene Service", "response": '{"sceneId": 7, "title": "created"}'}]
    assert reference in entry["assistant_response"]

    # Rejected with a reason: never sent.
    answer = interact(running_server, "create scene title=Rejected")
    rejected = re.search(r"APR-[0-9A-F]{8}", answer["assistant_response"]).group(0)
    admin.goto(f"{url}/admin/control/approvals/")
    row_of(admin, rejected).locator("input.reason").fill("not in this story")
    row_of(admin, rejected).locator("input.reject").click()
    assert f"{rejected} rejected" in admin.inner_text(".messagelist")
    assert "rejected by an administrator (not in this story)" in logged(running_server, "create scene title=Rejected")["service_responses"][0]["response"]

    # Expired: never sent, and it can no longer be approved.
    answer = interact(running_server, "create scene title=Late")
    late = re.search(r"APR-[0-9A-F]{8}", answer["assistant_response"]).group(0)
    running_server.manage("shell", "-c", (
        "from datetime import timedelta; from django.utils import timezone; from interactions.models import PendingApproval; "
        f"PendingApproval.objects.filter(reference='{late}').update(expires_at=timezone.now() - timedelta(seconds=1))"
    ))
    admin.goto(f"{url}/admin/control/approvals/")
    assert row_of(admin, late).count() == 0
    assert admin.inner_text(f"#decided-approvals tr[data-reference='{late}'] .state") == "expired"
    assert "not approved in time" in logged(running_server, "create scene title=Late")["service_responses"][0]["response"]
    assert len(scene.calls("POST")) == 1


def test_a_disabled_operation_is_offered_nowhere_and_never_called(running_server, scene, admin):
    assert "deleteScene" in system_prompt(running_server, scene.id)
    set_policy(admin, running_server, scene.id, "deleteScene", "disabled")
    assert "deleteScene" not in system_prompt(running_server, scene.id)
    answer = interact(running_server, "delete scene sceneId=3")
    assert "deleteScene" not in answer["assistant_response"]
    assert scene.calls("DELETE") == []


def test_operations_table_counts_the_calls_made(running_server, scene, admin):
    for text in ("get scene sceneId=5", "get scene sceneId=6", "get scene sceneId=404"):
        interact(running_server, text)
    # What the service received (the disabled DELETE test may have led to a GET too).
    gets = scene.calls("GET")
    failed = [p for _, p, _ in gets if p == "/api/scenes/404"]
    assert len(gets) >= 3 and len(failed) == 1
    admin.goto(f"{running_server.url}/admin/registry/service/{scene.id}/change/")
    row = admin.locator("#operations-panel tr[data-operation='getScene']")
    assert row.locator(".day-calls").inner_text() == str(len(gets)) == row.locator(".week-calls").inner_text()
    assert row.locator(".day-failed").inner_text() == f"{100 * len(failed) / len(gets):.0f}%"
    assert "HTTP 404" in row.locator(".last-error").inner_text()
    create = admin.locator("#operations-panel tr[data-operation='createScene']")
    assert create.locator(".day-calls").inner_text() == "1"  # the approved call; rejected and expired ones never ran
    assert "needs approval" in create.locator(".policy").inner_text()
    assert "disabled" in admin.locator("#operations-panel tr[data-operation='deleteScene'] .policy").inner_text()
    admin.screenshot(path=str(ARTIFACTS / "service-page.png"), full_page=True)


def test_playground_dry_run_sends_nothing_and_real_run_sends_once(running_server, scene, admin):
    admin.goto(f"{running_server.url}/admin/control/services/{scene.id}/playground/")
    admin.fill("#user-input", "get scene sceneId=9")
    admin.click("#dry-run")
    chosen = admin.inner_text("#dry-run-result .chosen")
    assert "getScene" in chosen and "not sent" in chosen
    assert json.loads(admin.inner_text("#dry-run-result .chosen .arguments")) == {"sceneId": 9}
    assert [p for _, p, _ in scene.calls("GET") if p == "/api/scenes/9"] == []
    admin.click("#real-run")
    assert json.loads(admin.inner_text("#run-result .call pre")) == {"sceneId": 9, "title": "Opening"}
    assert [p for _, p, _ in scene.calls("GET") if p == "/api/scenes/9"] == ["/api/scenes/9"]
    admin.click("#log-link")
    assert "get scene sceneId=9" in admin.content()


def test_overview_on_the_admin_index(running_server, scene, admin):
    interact(running_server, "create scene title=Waiting")  # createScene needs approval (first test)
    admin.goto(f"{running_server.url}/admin/")
    assert admin.inner_text("#pending-count") == "1 waiting"
    assert f"{scene.id}:getScene: 1 of {len(scene.calls('GET'))} failed" in admin.inner_text("#failing-operations")
    assert "pending" in admin.inner_text("#sync-backlog")
    # The policy changes and decisions above are the admin's recent actions.
    recent = admin.inner_text("#recent-actions-module")
    assert "Scene Service" in recent and "APR-" in recent
    admin.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)


def test_two_admins_approving_at_the_same_moment_run_the_call_once(running_server, scene, admin):
    import threading

    answer = interact(running_server, "create scene title=Twice")  # createScene needs approval (first test)
    reference = re.search(r"APR-[0-9A-F]{8}", answer["assistant_response"]).group(0)
    admin.goto(f"{running_server.url}/admin/control/approvals/")
    approval_id = row_of(admin, reference).locator("input[name=approval]").first.get_attribute("value")
    cookies = {c["name"]: c["value"] for c in admin.context.cookies()}
    before = len(scene.calls("POST"))
    barrier, statuses = threading.Barrier(2), []

    def approve():
        with httpx.Client(cookies=cookies) as client:
            barrier.wait()
            response = client.post(f"{running_server.url}/admin/control/approvals/",
                                   data={"approval": approval_id, "approve": "Approve"},
                                   headers={"X-CSRFToken": cookies["csrftoken"]})
            statuses.append(response.status_code)

    threads = [threading.Thread(target=approve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses == [302, 302]
    assert len(scene.calls("POST")) == before + 1
