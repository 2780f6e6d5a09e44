"""POST /interact and GET /logs, with the demo services answering over real HTTP, the
embedded assistant, and the real OpenAI SDK against a local scripted server."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from interactions.models import InteractionLog, ServiceCall
from search.models import SyncEntry
from tests.contract import assert_conforms, assert_error
from tests.fake_openai import tool_call

pytestmark = pytest.mark.django_db


def interact(client, user_input, **extra):
    return client.post("/interact", {"user_input": user_input, **extra}, format="json")


# --- the embedded assistant ---------------------------------------------------------------


def test_local_assistant_calls_the_matching_operation(client_api, demo_services):
    body = assert_conforms(interact(client_api, "get character 1"), "handleUserInput", 200)
    assert "getCharacter" in body["assistant_response"] and "John Doe" in body["assistant_response"]
    (response,) = body["service_responses"]
    assert response["service_name"] == "Character Service" and json.loads(response["response"])["name"] == "John Doe"
    log = InteractionLog.objects.get()
    assert log.outcome == "answered" and log.backend == "local"
    call = ServiceCall.objects.get()
    assert (call.operation_id, call.status, call.ok, call.request) == ("getCharacter", 200, True, {"characterId": 1})
    assert call.url.endswith("/character/characters/1") and len(call.spec_hash) == 64
    assert SyncEntry.objects.filter(index="interaction_logs", object_id=str(log.pk)).exists()


def test_local_assistant_posts_a_body(client_api, demo_services):
    body = interact(client_api, 'create action characterId=2 description="waves"').json()
    assert json.loads(body["service_responses"][0]["response"])["description"] == "waves"


def test_local_assistant_asks_for_missing_inputs_and_calls_nothing(client_api, demo_services):
    body = assert_conforms(interact(client_api, "create a character"), "handleUserInput", 200)
    assert "body.name" in body["assistant_response"] and body["service_responses"] == []


def test_local_assistant_says_when_nothing_fits(client_api, demo_services):
    body = interact(client_api, "what is the weather tomorrow").json()
    assert "no service operation" in body["assistant_response"] and body["service_responses"] == []
    assert InteractionLog.objects.get().outcome == "answered"


def test_asked_what_it_can_do_it_names_what_the_services_offer(client_api, demo_services):
    body = interact(client_api, "what can you do?").json()
    answer = body["assistant_response"]
    assert "Character Service" in answer and "Create a character" in answer
    assert "Action Service" in answer and "Record an action a character performs" in answer
    assert body["service_responses"] == [] and ServiceCall.objects.count() == 0


def test_logs_return_interactions_newest_first(client_api, demo_services):
    for text in ("get character 1", "get character 2", "list actions"):
        interact(client_api, text)
    body = assert_conforms(client_api.get("/logs"), "retrieveLogs", 200)
    assert [log["user_input"] for log in body["logs"]] == ["list actions", "get character 2", "get character 1"]
    assert body["logs"][1]["service_responses"][0]["service_name"] == "Character Service"
    page = client_api.get("/logs?limit=1&offset=1").json()["logs"]
    assert [log["user_input"] for log in page] == ["get character 2"]


def test_logs_at_an_absurd_offset_are_empty(client_api):
    body = assert_conforms(client_api.get("/logs?offset=239859176344804130816"), "retrieveLogs", 200)
    assert body == {"logs": []}


@pytest.mark.parametrize("query", ["limit=0", "limit=1001", "offset=-1", "limit=abc", "offset=1.5", "limit=&offset="])
def test_logs_reject_out_of_range_paging(client_api, query):
    assert_error(client_api.get(f"/logs?{query}"), "retrieveLogs", 400, "VALIDATION_ERROR")


def test_interactions_reach_typesense(client_api, demo_services, clean_typesense):
    from search.worker import Worker

    interact(client_api, "get character 1")
    Worker().drain()
    log = InteractionLog.objects.get()
    doc = clean_typesense.client.collections[clean_typesense.alias_name("interaction_logs")].documents[str(log.pk)].retrieve()
    assert doc["user_input"] == "get character 1" and doc["service_names"] == ["Character Service"]


@pytest.mark.django_db(transaction=True)
def test_logs_answer_502_when_typesense_sync_is_broken(client_api, demo_services, typesense, clean_typesense, settings):
    from search.worker import Worker

    interact(client_api, "get character 1")
    assert client_api.get("/logs").status_code == 200  # pending, but within the allowed lag
    typesense.stop()
    Worker().drain()  # one failed attempt
    SyncEntry.objects.update(created_at=timezone.now() - timedelta(seconds=settings.ENSEMBLE_LOGS_MAX_SYNC_LAG_SECONDS + 1))
    response = client_api.get("/logs")
    body = assert_conforms(response, "retrieveLogs", 502)
    assert body["errorCode"] == "TYPESENSE_SYNC_FAILED" and body["retryAttempt"] == 1
    typesense.start()
    assert client_api.get("/logs").status_code == 200  # Typesense answers again: the worker will catch up
    Worker().drain()
    assert not SyncEntry.objects.exists()


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload, fragment",
    [({}, "required"), ({"user_input": 42}, "string"), ({"user_input": ""}, "empty"), ({"user_input": "   "}, "empty"),
     ({"user_input": "hi", "extra": 1}, "extra"), ({"user_input": None}, "null"), ({"user_input": "a\x00b"}, "Null characters")],
)
def test_bad_input_is_a_clear_400_and_leaves_a_log_row(client_api, payload, fragment):
    body = assert_error(client_api.post("/interact", payload, format="json"), "handleUserInput", 400)
    assert fragment in (body["message"] + body["details"])
    assert InteractionLog.objects.get().outcome == "rejected"


def test_a_1_mb_input_is_refused_and_logged(client_api):
    body = assert_error(interact(client_api, "x" * 1_000_000), "handleUserInput", 400, "PAYLOAD_TOO_LARGE")
    assert "bytes" in body["message"]
    assert InteractionLog.objects.get().outcome == "rejected"


def test_an_input_over_the_character_limit_is_refused(client_api, settings):
    settings.ENSEMBLE_USER_INPUT_MAX_CHARS = 100
    assert_error(interact(client_api, "y" * 101), "handleUserInput", 400, "VALIDATION_ERROR")


FAILING_SPEC = """
openapi: 3.0.0
info: {title: Flaky, version: '1'}
paths:
  /fail:
    get: {operationId: getFailure, summary: Get a failure, responses: {'200': {description: ok}}}
  /huge:
    get: {operationId: getHuge, summary: Get a huge answer, responses: {'200': {description: ok}}}
"""


@pytest.mark.parametrize("text, fragment", [("get failure", "HTTP 500"), ("get huge answer", "more than")])
def test_failing_services_are_recorded_not_500(client_api, file_server, text, fragment):
    from prompts.services import spec_refresh
    from registry import services

    url = file_server.add("/flaky.yml", FAILING_SPEC)
    spec_refresh(service=services.service_register(id="flaky", name="Flaky", description="", openapi_url=url, tags=[]))
    body = assert_conforms(interact(client_api, text), "handleUserInput", 200)
    assert fragment in body["service_responses"][0]["response"]
    call = ServiceCall.objects.get()
    assert not call.ok and InteractionLog.objects.get().outcome == "calls_failed"  # the only call failed


# --- the OpenAI backend, through the real SDK -------------------------------------------------


def test_openai_tool_call_then_answer(client_api, demo_services, fake_openai):
    fake_openai.script(
        {"content": None, "tool_calls": [tool_call("character-service__getCharacter", {"characterId": 1})]},
        {"content": "John Doe is a restless detective."},
    )
    body = assert_conforms(interact(client_api, "Who is character 1?"), "handleUserInput", 200)
    assert body["assistant_response"] == "John Doe is a restless detective."
    assert json.loads(body["service_responses"][0]["response"])["name"] == "John Doe"
    first, second = fake_openai.requests
    names = {t["function"]["name"] for t in first["tools"]}
    assert {"character-service__getCharacter", "action-service__createAction"} <= names
    get_character = next(t for t in first["tools"] if t["function"]["name"] == "character-service__getCharacter")
    assert get_character["function"]["parameters"]["properties"]["characterId"] == {"type": "integer", "minimum": 1}
    assert first["messages"][0]["role"] == "system" and "getCharacter" in first["messages"][0]["content"]
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool" and json.loads(tool_message["content"])["status"] == 200
    log = InteractionLog.objects.get()
    assert (log.backend, log.model, log.prompt_tokens, log.completion_tokens) == ("openai", "fake-model", 20, 10)


def test_openai_several_tools_in_one_turn_and_chained_calls(client_api, demo_services, fake_openai):
    fake_openai.script(
        {"content": None, "tool_calls": [tool_call("character-service__listCharacters", {}, "a"),
                                         tool_call("action-service__listActions", {"characterId": 1}, "b")]},
        {"content": None, "tool_calls": [tool_call("action-service__createAction", {"body": {"characterId": 1, "description": "sits"}}, "c")]},
        {"content": "Done."},
    )
    body = interact(client_api, "Summarise and act").json()
    assert [r["service_name"] for r in body["service_responses"]] == ["Character Service", "Action Service", "Action Service"]
    assert json.loads(body["service_responses"][2]["response"])["description"] == "sits"
    assert len(fake_openai.requests) == 3


def test_openai_round_limit(client_api, demo_services, fake_openai, settings):
    settings.ENSEMBLE_ASSISTANT_MAX_ROUNDS = 2
    loop = {"content": None, "tool_calls": [tool_call("character-service__listCharacters", {})]}
    fake_openai.script(loop, loop, loop)
    body = assert_conforms(interact(client_api, "loop forever"), "handleUserInput", 200)
    assert "stopped after 2 rounds" in body["assistant_response"] and len(body["service_responses"]) == 2
    assert InteractionLog.objects.get().outcome == "limit_reached"


def test_openai_unknown_tool_and_bad_arguments_go_back_to_the_model(client_api, demo_services, fake_openai):
    fake_openai.script(
        {"content": None, "tool_calls": [tool_call("nope__nothing", {}, "a"),
                                         tool_call("character-service__getCharacter", {"characterId": "abc"}, "b"),
                                         tool_call("character-service__getCharacter", "{not json", "c")]},
        {"content": "Sorry."},
    )
    body = interact(client_api, "break things").json()
    assert body["assistant_response"] == "Sorry."
    errors = [json.loads(m["content"])["error"] for m in fake_openai.requests[1]["messages"] if m["role"] == "tool"]
    assert "unknown tool" in errors[0] and "characterId" in errors[1] and "not valid JSON" in errors[2]
    # The schema violation never reached the service, but is on record.
    (response,) = body["service_responses"]
    assert "invalid arguments" in response["response"]
    assert ServiceCall.objects.get().status is None


@pytest.mark.parametrize("step", ["malformed", "server_error", "sleep"])
def test_openai_failures_are_500_error_response_and_logged(client_api, demo_services, fake_openai, settings, step):
    settings.OPENAI_TIMEOUT_SECONDS = 1
    fake_openai.script(step)
    body = assert_error(interact(client_api, "hello"), "handleUserInput", 500, "ASSISTANT_FAILED")
    log = InteractionLog.objects.get()
    assert log.outcome == "assistant_failed" and log.error and f"log {log.pk}" in body["details"]


def test_read_only_services_offer_only_get_operations(client_api, demo_services, fake_openai):
    from registry import services
    from registry.models import Service

    service = Service.objects.get(pk="action-service")
    services.service_update(service_id=service.id, name=service.name, description=service.description,
                            openapi_url=service.openapi_url, tags=service.tag_list, read_only=True)
    fake_openai.script({"content": None, "tool_calls": [tool_call("action-service__createAction",
                                                                  {"body": {"characterId": 1, "description": "x"}})]},
                       {"content": "ok"})
    interact(client_api, "record an action")
    names = {t["function"]["name"] for t in fake_openai.requests[0]["tools"]}
    assert "action-service__listActions" in names and "action-service__createAction" not in names
    errors = [json.loads(m["content"])["error"] for m in fake_openai.requests[1]["messages"] if m["role"] == "tool"]
    assert "unknown tool" in errors[0] and not ServiceCall.objects.exists()
