"""Conversations (issue 28), in process: POST /interact with and without conversation_id
through the whole Django stack, the demo services answering over real HTTP, the real
OpenAI SDK against a local scripted server, the real Typesense. The same answers from
gunicorn (another key, unknown ids, full, expired, held calls): test_conversations_live.py."""

import io
import json
from datetime import timedelta

import httpx
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.services import api_key_create
from interactions import approvals
from interactions.models import Conversation, InteractionLog, PendingApproval, ServiceCall
from prompts.policies import NEEDS_APPROVAL
from prompts.services import operation_policy_set
from registry.models import Service
from search.models import SyncEntry
from tests.contract import assert_conforms, assert_error
from tests.fake_openai import tool_call

pytestmark = pytest.mark.django_db


def interact(client, user_input, conversation_id=None):
    body = {"user_input": user_input}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    return client.post("/interact", body, format="json")


def turn(client, user_input, conversation_id=None) -> dict:
    response = interact(client, user_input, conversation_id)
    body = assert_conforms(response, "handleUserInput", 200)
    assert response["X-Conversation-Id"] == body["conversation_id"]
    return body


def test_an_answer_starts_a_conversation_and_the_next_input_continues_it(client_api, demo_services):
    first = turn(client_api, "get character 1")
    second = turn(client_api, "list characters", first["conversation_id"])
    assert second["conversation_id"] == first["conversation_id"] and len(first["conversation_id"]) >= 40
    other = turn(client_api, "list characters")  # no id: a new conversation
    assert other["conversation_id"] != first["conversation_id"]
    conversation = Conversation.objects.get(pk=first["conversation_id"])
    assert conversation.turns == 2 and conversation.owner.startswith("key-id:")  # the key row, not its label
    assert list(conversation.logs.order_by("turn").values_list("turn", "user_input")) == [
        (1, "get character 1"), (2, "list characters")]


def test_a_first_turn_writes_its_conversation_with_its_log_and_reads_no_history(client_api, demo_services):
    """A new conversation has no earlier turns and no held calls: nothing is read for
    them, and the conversation is written in the first log's transaction (one write)."""
    turn(client_api, "get character 1")  # the scope is built
    with CaptureQueriesContext(connection) as captured:
        body = turn(client_api, "get character 1")
    statements = [q["sql"] for q in captured.captured_queries]
    history_or_held = [s for s in statements if s.startswith("SELECT") and ('"turn" <' in s or "interactions_pendingapproval" in s)]
    assert history_or_held == []
    conversation = next(i for i, s in enumerate(statements) if s.startswith('INSERT INTO "interactions_conversation"'))
    log = next(i for i, s in enumerate(statements) if s.startswith('INSERT INTO "interactions_interactionlog"'))
    # The log's atomic block opens right before (BEGIN, or a savepoint inside the test's transaction).
    assert statements[conversation - 1].startswith(("BEGIN", "SAVEPOINT")) and log == conversation + 1
    assert InteractionLog.objects.get(conversation_id=body["conversation_id"]).turn == 1


def test_another_keys_conversation_and_an_unknown_id_get_the_same_answer_and_are_logged(client_api, demo_services):
    started = turn(client_api, "get character 1")["conversation_id"]
    _, raw = api_key_create(name="someone else", is_admin=False)
    stranger = APIClient()
    stranger.credentials(HTTP_X_API_KEY=raw)
    theirs = interact(stranger, "get character 2", started)
    unknown = interact(stranger, "get character 3", "x" * 43)
    for response in (theirs, unknown):
        assert_error(response, "handleUserInput", 400, "CONVERSATION_NOT_FOUND")
    assert theirs.json() == unknown.json()  # nothing tells an existing id from an unknown one
    for text in ("get character 2", "get character 3"):
        log = InteractionLog.objects.get(user_input=text)
        assert log.outcome == "rejected" and "CONVERSATION_NOT_FOUND" in log.error and log.conversation_id is None
    assert Conversation.objects.get(pk=started).turns == 1  # untouched


@pytest.mark.parametrize("value", ["", "y" * 65])
def test_unusable_ids_are_not_found(client_api, value):
    assert_error(interact(client_api, "hello", value), "handleUserInput", 400, "CONVERSATION_NOT_FOUND")


def test_an_id_that_is_not_text_is_a_clear_400(client_api):
    assert_error(interact(client_api, "hello", "a\x00b"), "handleUserInput", 400, "VALIDATION_ERROR")
    assert InteractionLog.objects.get().outcome == "rejected"


def test_a_full_conversation_and_an_expired_one_answer_clearly_and_are_logged(client_api, demo_services, settings):
    settings.ENSEMBLE_CONVERSATION_MAX_TURNS = 2
    full = turn(client_api, "get character 1")["conversation_id"]
    turn(client_api, "get character 2", full)
    refused = interact(client_api, "get character 1 again", full)
    assert_error(refused, "handleUserInput", 400, "CONVERSATION_FULL")
    assert "limit of 2 turns" in refused.json()["message"]
    log = InteractionLog.objects.get(user_input="get character 1 again")
    assert (log.outcome, log.conversation_id, log.turn) == ("rejected", full, None)

    expired = turn(client_api, "get character 1")["conversation_id"]
    Conversation.objects.filter(pk=expired).update(
        last_turn_at=timezone.now() - timedelta(seconds=settings.ENSEMBLE_CONVERSATION_TTL + 1))
    assert_error(interact(client_api, "still there?", expired), "handleUserInput", 400, "CONVERSATION_EXPIRED")
    assert InteractionLog.objects.get(user_input="still there?").conversation_id == expired
    assert Conversation.objects.get(pk=expired).turns == 1


def test_logs_filter_by_conversation_and_the_documents_carry_it(client_api, demo_services, clean_typesense):
    from search.worker import Worker

    first = turn(client_api, "get character 1")["conversation_id"]
    turn(client_api, "list characters", first)
    turn(client_api, "get character 2")  # another conversation
    page = assert_conforms(client_api.get("/logs", {"conversation_id": first}), "retrieveLogs", 200)
    assert [log["user_input"] for log in page["logs"]] == ["list characters", "get character 1"]
    assert client_api.get("/logs", {"conversation_id": "nope"}).json() == {"logs": []}
    assert len(client_api.get("/logs").json()["logs"]) == 3

    Worker().drain()
    log = InteractionLog.objects.get(user_input="get character 1")
    collection = clean_typesense.client.collections[clean_typesense.alias_name("interaction_logs")]
    assert collection.documents[str(log.pk)].retrieve()["conversation_id"] == first
    searched = client_api.get("/logs", {"q": "character", "conversation_id": first}).json()["logs"]
    assert sorted(log["user_input"] for log in searched) == ["get character 1", "list characters"]


def test_retention_removes_whole_conversations(client_api, demo_services):
    old = turn(client_api, "get character 1")["conversation_id"]
    turn(client_api, "get character 2", old)
    in_use = turn(client_api, "list characters")["conversation_id"]
    turn(client_api, "get character 1", in_use)
    long_ago = timezone.now() - timedelta(days=40)
    InteractionLog.objects.filter(conversation_id__in=[old, in_use]).update(created_at=long_ago)
    Conversation.objects.filter(pk=old).update(last_turn_at=long_ago)
    # in_use: its turns are old, but its latest turn is now: it stays whole.
    Conversation.objects.filter(pk=in_use).update(last_turn_at=timezone.now())
    logs_of_old = list(InteractionLog.objects.filter(conversation_id=old).values_list("pk", flat=True))
    SyncEntry.objects.all().delete()

    out = io.StringIO()
    call_command("retention_prune", "--days", "30", "--dry-run", stdout=out)
    assert "2 log(s)" in out.getvalue()
    call_command("retention_prune", "--days", "30", stdout=io.StringIO())
    assert not Conversation.objects.filter(pk=old).exists()
    assert not InteractionLog.objects.filter(pk__in=logs_of_old).exists()
    assert not ServiceCall.objects.filter(log_id__in=logs_of_old).exists()
    assert InteractionLog.objects.filter(conversation_id=in_use).count() == 2
    exported = io.StringIO()
    call_command("logs_export", stdout=exported, stderr=io.StringIO())
    rows = [json.loads(line) for line in exported.getvalue().splitlines()]
    assert [(row["conversation_id"], row["turn"]) for row in rows] == [(in_use, 1), (in_use, 2)]
    assert sorted(SyncEntry.objects.values_list("object_id", flat=True)) == sorted(str(pk) for pk in logs_of_old)


def _needs_approval(operation_id="createCharacter"):
    operation_policy_set(service=Service.objects.get(pk="character-service"), operation_id=operation_id,
                         policy=NEEDS_APPROVAL, actor="user:setup")


def test_a_rejected_held_call_is_told_at_the_start_of_the_next_turn_once(client_api, demo_services):
    _needs_approval()
    held = turn(client_api, "create a character name=Ada")
    approval = PendingApproval.objects.get()
    assert approval.reference in held["assistant_response"]
    approvals.approval_reject(approval_id=approval.pk, actor="user:alice", reason="we have an Ada already")
    conversation_id = held["conversation_id"]
    nxt = turn(client_api, "get character 1", conversation_id)
    assert nxt["assistant_response"].startswith(f"{approval.reference}: createCharacter was rejected by an administrator "
                                                "(we have an Ada already)")
    again = turn(client_api, "get character 2", conversation_id)
    assert approval.reference not in again["assistant_response"]  # once
    other = turn(client_api, "get character 2")  # another conversation hears nothing of it
    assert approval.reference not in other["assistant_response"]


def test_an_approved_held_call_reports_its_result_on_the_next_turn(client_api, demo_services):
    _needs_approval()
    conversation_id = turn(client_api, "create a character name=Ada")["conversation_id"]
    approval = PendingApproval.objects.get()
    _, call = approvals.approval_approve(approval_id=approval.pk, actor="user:alice")
    assert call.ok
    answer = turn(client_api, "get character 1", conversation_id)["assistant_response"]
    head = f"{approval.reference} (createCharacter on Character Service) was approved and sent; it answered: "
    assert answer.startswith(head) and json.loads(answer[len(head):].split("\n\n")[0])["name"] == "Ada"
    assert approval.reference not in turn(client_api, "get character 1", conversation_id)["assistant_response"]


# --- the OpenAI backend gets the earlier turns -------------------------------------------------


def test_openai_second_and_third_requests_carry_the_earlier_turns_and_tool_results(client_api, demo_services, fake_openai):
    fake_openai.script(
        {"content": None, "tool_calls": [tool_call("character-service__getCharacter", {"characterId": 1})]},
        {"content": "John Doe is a detective."},
        {"content": "He is a detective, as I said."},
        {"content": "You asked about John Doe twice."},
    )
    conversation_id = turn(client_api, "Who is character 1?")["conversation_id"]
    turn(client_api, "What does he do?", conversation_id)
    turn(client_api, "What did I ask?", conversation_id)
    _, _, second, third = fake_openai.requests
    messages = second["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert messages[1]["content"] == "Who is character 1?" and messages[-1]["content"] == "What does he do?"
    (call,) = messages[2]["tool_calls"]
    assert call["function"]["name"] == "character-service__getCharacter"
    assert json.loads(call["function"]["arguments"]) == {"characterId": 1}
    result = json.loads(messages[3]["content"])
    assert messages[3]["tool_call_id"] == call["id"] and result["ok"] and result["status"] == 200
    assert json.loads(result["body"])["name"] == "John Doe"
    assert messages[4]["content"] == "John Doe is a detective."
    assert [m["role"] for m in third["messages"]] == ["system", "user", "assistant", "tool", "assistant", "user", "assistant",
                                                      "user"]
    assert third["messages"][5:7] == [{"role": "user", "content": "What does he do?"},
                                      {"role": "assistant", "content": "He is a detective, as I said."}]


def test_openai_history_is_trimmed_to_its_budget(client_api, demo_services, fake_openai, settings):
    fake_openai.script(
        {"content": None, "tool_calls": [tool_call("character-service__listCharacters", {})]},
        {"content": "Here they are."},
        {"content": "Second answer."},
        {"content": "Third answer."},
    )
    for number in range(12):
        httpx.post(f"{demo_services}/character/characters", json={
            "name": f"Extra {number}", "description": "A character who is here to make the listing long."})
    conversation_id = turn(client_api, "List the characters")["conversation_id"]
    # The listing is by far the largest part of the first turn: about 580 tokens whole.
    listing = ServiceCall.objects.get().response
    assert len(listing) > 1200
    settings.ENSEMBLE_CONVERSATION_HISTORY_TOKENS = 200  # the first turn (~580 tokens) fits only shortened (~170)
    turn(client_api, "And now?", conversation_id)
    settings.ENSEMBLE_CONVERSATION_HISTORY_TOKENS = 40  # only the latest turn, and it fits whole
    turn(client_api, "And then?", conversation_id)
    _, _, second, third = fake_openai.requests
    tool_message = next(m for m in second["messages"] if m["role"] == "tool")
    body = json.loads(tool_message["content"])["body"]
    assert body.endswith(f"(shortened; {len(listing)} characters)") and len(body) < 260
    assert [m["content"] for m in second["messages"] if m["role"] == "user"] == ["List the characters", "And now?"]
    assert [m["role"] for m in third["messages"]] == ["system", "user", "assistant", "user"]
    assert third["messages"][1:3] == [{"role": "user", "content": "And now?"}, {"role": "assistant", "content": "Second answer."}]


def test_the_playground_and_interaction_handle_stay_stateless(demo_services):
    from interactions.services import interaction_handle

    log, _ = interaction_handle(user_input="get character 1")
    assert log.conversation_id is None and not Conversation.objects.exists()


def test_the_admin_shows_a_conversation_as_a_thread(client, client_api, demo_services):
    _needs_approval()
    conversation_id = turn(client_api, "create a character name=Ada")["conversation_id"]
    turn(client_api, "get character 1", conversation_id)
    reference = PendingApproval.objects.get().reference
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw-0123456789"))
    page = client.get(f"/admin/interactions/conversation/{conversation_id}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "create a character name=Ada" in text and "get character 1" in text and reference in text
    assert "getCharacter" in text and "#1" in text and "#2" in text
    assert client.get("/admin/interactions/conversation/").status_code == 200


def test_the_history_holds_the_answered_turns_oldest_first_with_their_calls():
    from interactions.selectors import conversation_history

    conversation = Conversation.objects.create(owner="key:x", turns=4)
    for number, outcome in ((1, "answered"), (2, "calls_failed"), (3, "assistant_failed")):
        log = InteractionLog.objects.create(user_input=f"ask {number}", assistant_response=f"answer {number}", backend="local",
                                            outcome=outcome, conversation=conversation, turn=number)
        ServiceCall.objects.create(log=log, position=0, service_id="svc", service_name="Svc", operation_id=f"op{number}",
                                   method="GET", request={"n": number}, status=500 if number > 1 else 200, ok=number == 1,
                                   response=f"body {number}")
    InteractionLog.objects.create(user_input="refused", backend="local", outcome="rejected", conversation=conversation)
    history = conversation_history(conversation.pk, before_turn=4)
    # An answer whose calls all failed is a turn; a failed assistant and a refusal are not.
    assert [(t.user_input, t.assistant_response) for t in history] == [("ask 1", "answer 1"), ("ask 2", "answer 2")]
    assert [(c.operation_id, c.arguments, c.status, c.ok, c.response) for t in history for c in t.calls] == [
        ("op1", {"n": 1}, 200, True, "body 1"), ("op2", {"n": 2}, 500, False, "body 2")]
    assert [t.user_input for t in conversation_history(conversation.pk, before_turn=4, limit=1)] == ["ask 2"]
    assert conversation_history(conversation.pk, before_turn=2) == history[:1]
