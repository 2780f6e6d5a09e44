"""An approval runs exactly the call that was shown, and secret arguments stay secret,
in process, against a real echo service on loopback and a scripted OpenAI-compatible
model (the same against gunicorn: tests/test_secret_origins_live.py).

- A held call records its method, path template, origin, the spec's hash and a digest
  of its arguments; when any of them would differ at approval time, the approval ends
  `changed` with the reason and nothing is sent (issue 25, 6a: a held PUT became DELETE).
- Arguments the spec marks `format: password` or `writeOnly` (or whose names say they
  are secrets) wait encrypted, are shown as [redacted] on the approvals page, and are
  redacted from the log, service_responses and the Typesense document (issue 25, 7)."""

import json

import pytest
from django.contrib.auth.models import User

from core.errors import ApplicationError
from interactions import approvals
from interactions.models import InteractionLog, PendingApproval, ServiceCall
from interactions.search_index import to_document
from prompts.policies import NEEDS_APPROVAL
from prompts.services import operation_policy_set, spec_refresh
from registry import services as registry
from registry.models import Service
from tests.echo_fixtures import EchoServer, notes_spec
from tests.fake_openai import tool_call

pytestmark = pytest.mark.django_db

PASSWORD, ANSWER = "USER-PW-77-x9", "blue-whale-42"


@pytest.fixture
def notes():
    server = EchoServer("127.0.0.1", "notes")
    spec_url = server.publish("/notes/spec.json", notes_spec(server.base))
    service = registry.service_register(id="notes", name="Notes", description="", openapi_url=spec_url)
    assert spec_refresh(service=service).usable
    operation_policy_set(service=service, operation_id="updateNote", policy=NEEDS_APPROVAL, actor="user:alice")
    server.spec_url = spec_url
    yield server
    server.close()


def hold(client_api, fake_openai, arguments=None, user_input="change note 5") -> PendingApproval:
    arguments = arguments or {"noteId": 5, "body": {"text": "Act two"}}
    fake_openai.script({"content": None, "tool_calls": [tool_call("notes__updateNote", arguments)]}, {"content": "It waits."})
    response = client_api.post("/interact", {"user_input": user_input}, format="json")
    assert response.status_code == 200, response.content
    return PendingApproval.objects.get(state="pending")


def refresh(server, **spec):
    server.publish("/notes/spec.json", notes_spec(server.base, **spec))
    assert spec_refresh(service=Service.objects.get(pk="notes"), force=True).usable


def test_a_held_put_that_the_spec_turned_into_delete_is_not_sent(notes, client_api, fake_openai):
    approval = hold(client_api, fake_openai)
    assert (approval.method, approval.path, approval.origin) == ("PUT", "/notes/{noteId}", notes.base)
    assert len(approval.spec_hash) == 64 and len(approval.arguments_digest) == 64

    refresh(notes, method="delete")  # the same operationId, now DELETE /notes/{noteId}
    notes.forget()
    with pytest.raises(ApplicationError) as refused:
        approvals.approval_approve(approval_id=approval.pk, actor="user:alice")
    assert refused.value.status_code == 409 and refused.value.error_code == "CALL_CHANGED"
    assert "the spec now has DELETE for updateNote, not PUT" in refused.value.message
    assert notes.calls("/api/") == []  # nothing was sent
    approval.refresh_from_db()
    assert approval.state == "changed" and "DELETE" in approval.reason and approval.call_id is None
    line = InteractionLog.objects.get().service_responses[approval.position]["response"]
    assert "approved by user:alice but not sent" in line and "PUT" in line
    with pytest.raises(ApplicationError):  # decided once: it cannot be approved again
        approvals.approval_approve(approval_id=approval.pk, actor="user:bob")
    assert notes.calls("/api/") == [] and not ServiceCall.objects.filter(operation_id="updateNote").exists()


def _move_path(server):
    refresh(server, path="/notes/{noteId}/text")


def _move_origin(server):
    other = EchoServer("127.0.0.1", "elsewhere")
    server.others = [other]
    registry.service_base_url_set(service_id="notes", base_url=f"{other.base}/api")


def _change_spec(server):
    refresh(server, summary="Change a note (now audited)")


def _tamper_arguments(server):
    approval = PendingApproval.objects.get(state="pending")
    PendingApproval.objects.filter(pk=approval.pk).update(arguments={"noteId": 6, "body": {"text": "Act two"}})


@pytest.mark.parametrize("change,reason", [
    (_move_path, "its path is now /notes/{noteId}/text, not /notes/{noteId}"),
    (_move_origin, "it would go to http://127.0.0.1:"),
    (_change_spec, "the service's spec changed since the call was held"),
    (_tamper_arguments, "its arguments are not the ones that were held"),
])
def test_any_difference_from_the_held_call_refuses_the_approval(notes, client_api, fake_openai, change, reason):
    notes.others = []
    approval = hold(client_api, fake_openai)
    change(notes)
    notes.forget()
    with pytest.raises(ApplicationError) as refused:
        approvals.approval_approve(approval_id=approval.pk, actor="user:alice")
    assert reason in refused.value.message
    assert notes.calls("/api/") == [] and all(other.calls("/api/") == [] for other in notes.others)
    assert PendingApproval.objects.get(pk=approval.pk).state == "changed"
    for other in notes.others:
        other.close()


def test_the_unchanged_call_is_sent_once_as_it_was_shown(notes, client_api, fake_openai):
    approval = hold(client_api, fake_openai)
    _, call = approvals.approval_approve(approval_id=approval.pk, actor="user:alice")
    assert call.ok
    (sent,) = notes.calls("/api/")
    assert (sent["method"], sent["path"], json.loads(sent["body"])) == ("PUT", "/api/notes/5", {"text": "Act two"})


def test_secret_arguments_wait_encrypted_are_shown_redacted_and_kept_nowhere(notes, client_api, fake_openai):
    arguments = {"noteId": 5, "body": {"text": "Act two", "password": PASSWORD, "recovery": ANSWER}}
    approval = hold(client_api, fake_openai, arguments, user_input=f"change note 5, my password is {PASSWORD}")
    # Shown and stored redacted; the real values only encrypted.
    assert approval.arguments == {"noteId": 5, "body": {"text": "Act two", "password": "[redacted]", "recovery": "[redacted]"}}
    sealed = bytes(approval.sealed_arguments)
    assert sealed and PASSWORD.encode() not in sealed and ANSWER.encode() not in sealed
    admin = User.objects.create_superuser("root", "root@example.com", "a-long-test-password")
    from django.test import Client

    browser = Client()
    browser.force_login(admin)
    page = browser.get("/admin/control/approvals/").content.decode()
    assert approval.reference in page and "[redacted]" in page and PASSWORD not in page and ANSWER not in page
    detail = browser.get(f"/admin/interactions/pendingapproval/{approval.pk}/change/").content.decode()
    assert PASSWORD not in detail and "sealed" not in detail.lower()

    # Approved: the service gets the real values, which its echo then brings back.
    _, call = approvals.approval_approve(approval_id=approval.pk, actor="user:alice")
    (sent,) = notes.calls("/api/")
    assert json.loads(sent["body"]) == arguments["body"]
    assert call.ok and PASSWORD not in call.text and "[redacted]" in call.text
    assert PendingApproval.objects.get(pk=approval.pk).sealed_arguments is None  # decided: no longer kept at all

    log = InteractionLog.objects.get()
    row = ServiceCall.objects.get(log=log)
    kept = {
        "log": json.dumps([log.user_input, log.assistant_response, log.service_responses, log.error]),
        "service call": json.dumps([row.request, row.url, row.response, row.error]),
        "approval": json.dumps(list(PendingApproval.objects.values_list("arguments", "reason"))),
        "Typesense document": json.dumps(to_document(log)),
        "GET /logs": client_api.get("/logs").content.decode(),
        "approvals page": browser.get("/admin/control/approvals/").content.decode(),
        "log page": browser.get(f"/admin/interactions/interactionlog/{log.pk}/change/").content.decode(),
    }
    assert row.request["body"] == {"text": "Act two", "password": "[redacted]", "recovery": "[redacted]"}
    for where, text in kept.items():
        for secret in (PASSWORD, ANSWER):
            assert secret not in text.replace("\\/", "/"), f"{secret} is in the {where}"
    assert "[redacted]" in log.user_input  # the user's own words, too


def test_a_call_sent_at_once_keeps_its_secret_arguments_out_of_the_log(notes, client_api, fake_openai):
    operation_policy_set(service=Service.objects.get(pk="notes"), operation_id="updateNote", policy="allowed", actor="user:a")
    fake_openai.script({"content": None, "tool_calls": [tool_call("notes__updateNote", {
        "noteId": 5, "body": {"text": "x", "password": PASSWORD}})]}, {"content": f"Done with {PASSWORD}."})
    body = client_api.post("/interact", {"user_input": "change note 5"}, format="json").json()
    assert PASSWORD not in json.dumps(body) and "[redacted]" in body["service_responses"][0]["response"]
    assert json.loads(notes.calls("/api/")[0]["body"])["password"] == PASSWORD  # the service got it
    row = ServiceCall.objects.get()
    assert row.request["body"]["password"] == "[redacted]" and PASSWORD not in row.response
    # An invalid value is not repeated in the error the model and the log get.
    fake_openai.script({"content": None, "tool_calls": [tool_call("notes__updateNote", {
        "noteId": 5, "body": {"text": "x", "password": ["not-a-string-pw"]}})]}, {"content": "failed"})
    body = client_api.post("/interact", {"user_input": "change note 5 again"}, format="json").json()
    assert "invalid arguments" in body["service_responses"][0]["response"] and "not-a-string-pw" not in json.dumps(body)


def test_without_a_credentials_key_secret_arguments_are_not_held_in_the_clear(notes, client_api, fake_openai, settings):
    settings.ENSEMBLE_CREDENTIALS_KEYS = []
    fake_openai.script({"content": None, "tool_calls": [tool_call("notes__updateNote", {
        "noteId": 5, "body": {"text": "x", "password": PASSWORD}})]}, {"content": "no"})
    body = client_api.post("/interact", {"user_input": "change note 5"}, format="json").json()
    assert "ENSEMBLE_CREDENTIALS_KEYS is not set" in body["service_responses"][0]["response"]
    assert not PendingApproval.objects.exists() and notes.calls("/api/") == []
    # Without secrets the call waits as before.
    assert hold(client_api, fake_openai).sealed_arguments is None


def test_mcp_logs_a_tool_call_with_its_secret_arguments_redacted(notes):
    from mcp_gateway.selectors import find_operation_tool
    from mcp_gateway.services import describe_call

    tool = find_operation_tool("notes__updateNote")
    text = describe_call("notes__updateNote", {"noteId": 5, "body": {"text": "x", "password": PASSWORD}}, tool.parameters)
    assert PASSWORD not in text and '"password": "[redacted]"' in text and '"text": "x"' in text
