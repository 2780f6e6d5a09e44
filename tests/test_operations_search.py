"""The operations index: relevant operations found by a Typesense search, kept in sync
like the registry, with in-process ranking whenever the index cannot be trusted."""

import json

import pytest

from assistants import openai_backend
from operations import ranking as ranking_module
from prompts.search_index import OPERATIONS_INDEX, search_operations
from search.maintenance import compare_index
from search.models import SyncEntry
from search.worker import Worker
from tests.fake_openai import tool_call

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def synced(demo_services, clean_typesense):
    Worker().drain()
    assert not SyncEntry.objects.exists()
    return clean_typesense


def no_local_ranking(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("ranked in-process although the operations index was usable")

    monkeypatch.setattr(ranking_module, "rank_tools_locally", fail)


def test_operations_are_indexed_and_found(synced):
    diff = compare_index(OPERATIONS_INDEX)
    assert diff.in_sync and diff.in_index == 5
    found = dict(search_operations("get character 1"))
    assert found["character-service:getCharacter"] == found["character-service:listCharacters"] == max(found.values())
    assert found.get("action-service:listActions", 0) < found["character-service:getCharacter"]
    assert search_operations("record an action")[0][0] == "action-service:createAction"
    assert search_operations("what is the weather tomorrow") == []


def test_the_local_assistant_ranks_through_typesense(client_api, synced, monkeypatch):
    no_local_ranking(monkeypatch)
    body = client_api.post("/interact", {"user_input": "get character 1"}, format="json").json()
    assert "getCharacter" in body["assistant_response"]
    body = client_api.post("/interact", {"user_input": "what is the weather"}, format="json").json()
    assert "no service operation" in body["assistant_response"]


def test_read_only_and_spec_changes_reach_the_index(synced, file_server):
    from prompts.services import spec_refresh
    from registry import services
    from registry.models import Service

    action = Service.objects.get(pk="action-service")
    services.service_update(service_id=action.id, name=action.name, description=action.description,
                            openapi_url=action.openapi_url, tags=action.tag_list, read_only=True)
    Worker().drain()
    found = search_operations("record an action")
    assert found is not None, "the index was in sync, so Typesense should have answered"
    assert "action-service:createAction" not in dict(found)
    assert compare_index(OPERATIONS_INDEX).in_index == 4

    url = file_server.add("/one.yml", "openapi: 3.0.0\ninfo: {title: One, version: '1'}\npaths:\n  /x:\n"
                                      "    get: {operationId: onlyOne, summary: The only one, responses: {'200': {description: ok}}}\n")
    character = Service.objects.get(pk="character-service")
    services.service_update(service_id=character.id, name=character.name, description="", openapi_url=url, tags=[])
    spec_refresh(service=Service.objects.get(pk="character-service"))
    Worker().drain()
    diff = compare_index(OPERATIONS_INDEX)
    assert diff.in_sync and diff.in_index == 2  # listActions + onlyOne
    services.service_delete(service_id="character-service")
    Worker().drain()
    assert compare_index(OPERATIONS_INDEX).in_index == 1


def test_pending_entries_or_typesense_down_fall_back_to_in_process_ranking(client_api, synced, typesense):
    from prompts.services import spec_refresh
    from registry.models import Service

    spec_refresh(service=Service.objects.get(pk="character-service"), force=True)
    assert SyncEntry.objects.filter(index="operations").exists()
    assert search_operations("get character 1") is None
    Worker().drain()
    typesense.stop()
    assert search_operations("get character 1") is None
    body = client_api.post("/interact", {"user_input": "get character 1"}, format="json").json()
    assert "getCharacter" in body["assistant_response"]


def test_the_openai_backend_offers_the_most_relevant_tools_when_too_many(client_api, synced, fake_openai, monkeypatch,
                                                                       settings):
    no_local_ranking(monkeypatch)
    settings.ENSEMBLE_ASSISTANT_MAX_TOOLS = 2
    fake_openai.script({"content": None, "tool_calls": [tool_call("action-service__createAction",
                                                                  {"body": {"characterId": 1, "description": "bows"}})]},
                       {"content": "Done."})
    body = client_api.post("/interact", {"user_input": "record an action for a character"}, format="json").json()
    offered = [t["function"]["name"] for t in fake_openai.requests[0]["tools"]]
    assert len(offered) == 3 and offered[0] == "action-service__createAction"
    assert offered[-1] == openai_backend.SEARCH_TOOL
    assert json.loads(body["service_responses"][0]["response"])["description"] == "bows"


def test_the_model_finds_an_operation_it_was_not_offered(client_api, synced, fake_openai, settings):
    settings.ENSEMBLE_ASSISTANT_MAX_TOOLS = 1
    fake_openai.script(
        {"content": None, "tool_calls": [tool_call(openai_backend.SEARCH_TOOL, {"query": "list every action"})]},
        {"content": None, "tool_calls": [tool_call("action-service__listActions", {}, "call_2")]},
        {"content": "Here they are."},
    )
    body = client_api.post("/interact", {"user_input": "show character 1"}, format="json").json()
    first, second, _ = fake_openai.requests
    assert [t["function"]["name"] for t in first["tools"]] == ["character-service__getCharacter", openai_backend.SEARCH_TOOL]
    found = json.loads(second["messages"][-1]["content"])
    assert found["operations"][0]["tool"] == "action-service__listActions"
    assert "action-service__listActions" in [t["function"]["name"] for t in second["tools"]]
    assert body["assistant_response"] == "Here they are." and body["service_responses"][0]["service_name"] == "Action Service"


def test_cached_prompt_and_tools_follow_registry_changes(client_api, synced, fake_openai):
    """The prompt and tools are remembered per service and spec version: a change shows at once."""
    from registry import services
    from registry.models import Service

    fake_openai.script({"content": "one"}, {"content": "two"})
    client_api.post("/interact", {"user_input": "get character 1"}, format="json")
    character = Service.objects.get(pk="character-service")
    services.service_update(service_id=character.id, name="Cast Service", description=character.description,
                            openapi_url=character.openapi_url, tags=character.tag_list, read_only=True)
    client_api.post("/interact", {"user_input": "get character 1"}, format="json")
    first, second = fake_openai.requests
    assert "## Character Service" in first["messages"][0]["content"]
    assert "## Cast Service" in second["messages"][0]["content"] and "Character Service" not in second["messages"][0]["content"]
    descriptions = {t["function"]["name"]: t["function"]["description"] for t in second["tools"]}
    assert descriptions["character-service__getCharacter"].startswith("Cast Service:")
    assert "character-service__createCharacter" not in descriptions  # read-only now


def test_the_interaction_scope_is_kept_until_services_specs_or_policies_change(synced, file_server):
    """The scope (services, tools, prompt) is reused while nothing changed, and rebuilt on
    the next request after a policy change, a spec refetch or a registration."""
    from operations.scope import assistant_scope
    from prompts.services import operation_policy_set, spec_refresh
    from registry import services
    from registry.models import Service

    first = assistant_scope()
    assert assistant_scope() is first  # nothing changed: the same scope, no rebuild
    names = {tool.name for tool in first.tools}
    assert "action-service__createAction" in names

    action = Service.objects.get(pk="action-service")
    operation_policy_set(service=action, operation_id="createAction", policy="disabled", actor="test")
    after_policy = assistant_scope()
    assert "action-service__createAction" not in {tool.name for tool in after_policy.tools}
    assert "createAction" not in after_policy.prompt

    url = file_server.add("/one.yml", "openapi: 3.0.0\ninfo: {title: One, version: '1'}\npaths:\n  /x:\n"
                                      "    get: {operationId: onlyOne, summary: The only one, responses: {'200': {description: ok}}}\n")
    services.service_register(id="one-service", name="One", description="", openapi_url=url)
    assert "one-service__onlyOne" not in {tool.name for tool in assistant_scope().tools}  # no spec yet
    spec_refresh(service=Service.objects.get(pk="one-service"))
    assert "one-service__onlyOne" in {tool.name for tool in assistant_scope().tools}


def test_a_large_scope_is_kept_out_of_full_collections_and_freed_when_replaced(synced, monkeypatch):
    """A large registry's scope is frozen out of Python's full garbage collections (they
    walked all of it in the middle of requests: the p99 of /interact at 1,000 services),
    and the scope it replaces is freed, even when its objects hold each other in a cycle."""
    import gc
    import weakref

    from operations import scope as selectors
    from registry import services
    from registry.models import Service

    monkeypatch.setattr(selectors, "LONG_LIVED_TOOLS", 1)  # the demo registry counts as large
    try:
        old = selectors.assistant_scope()
        assert gc.get_freeze_count() > len(old.tools)
        object.__setattr__(old, "itself", old)  # a cycle: reference counting alone cannot free it
        gone = weakref.ref(old)
        del old
        character = Service.objects.get(pk="character-service")
        services.service_update(service_id=character.id, name="Cast Service", description=character.description,
                                openapi_url=character.openapi_url, tags=character.tag_list)
        assert selectors.assistant_scope().prompt.count("Cast Service") >= 1  # rebuilt
        assert gone() is None
    finally:
        gc.unfreeze()
