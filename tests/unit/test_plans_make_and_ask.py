"""Plans that make what the target needs, look up what a write acts on, answer what the
assistant can do: over a spec written here (nothing of the FountainAI services), read in
memory, nothing sent."""

import pytest

from assistants.planning import make_plan
from tests.unit.test_assistant_generality import tools_of

BOARDS = {"openapi": "3.0.3", "info": {"title": "Boards", "version": "1"}, "servers": [{"url": "https://boards.example.com"}],
  "paths": {
    "/boards": {"post": {"operationId": "createBoard", "summary": "Create a board",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object", "required": ["name"],
            "properties": {"name": {"type": "string"}}}}}},
        "responses": {"201": {"description": "made", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Board"}}}}}},
      "get": {"operationId": "listBoards", "summary": "List my boards",
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Board"}}}}}}}},
    "/boards/{boardId}/pins": {"post": {"operationId": "addPins", "summary": "Add pins to a board",
        "parameters": [{"name": "boardId", "in": "path", "required": True, "schema": {"type": "string"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object",
            "properties": {"pinIds": {"type": "array", "items": {"type": "string"}}}}}}},
        "responses": {"200": {"description": "ok"}}}},
    "/pins": {"get": {"operationId": "searchPins", "summary": "Search pins by title",
        "parameters": [{"name": "q", "in": "query", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Pin"}}}}}}}}}},
  },
  "components": {"schemas": {"Board": {"type": "object", "properties": {"boardId": {"type": "string"}, "name": {"type": "string"}}},
                             "Pin": {"type": "object", "properties": {"pinId": {"type": "string"}, "title": {"type": "string"}}}}}}


@pytest.fixture(scope="module")
def boards():
    return tools_of(BOARDS)


def steps(tools, text):
    plan = make_plan(tools, text, index=False)
    return [(s.tool.operation["operation_id"], s.arguments, {k: (t.step, t.output.field) for k, t in s.takes.items()})
            for s in plan.steps], plan.message


def test_a_new_thing_the_target_needs_is_created_first(boards):
    calls, _ = steps(boards, "add the pin 'Old Lighthouse' to a new board called 'Coast'")
    assert calls == [("searchPins", {"q": "Old Lighthouse"}, {}), ("createBoard", {"body": {"name": "Coast"}}, {}),
                     ("addPins", {"body": {}}, {"body.pinIds": (0, "pinId"), "boardId": (1, "boardId")})]


def test_what_a_write_acts_on_is_looked_up_or_asked_for(boards):
    calls, _ = steps(boards, "add the pin 'Old Lighthouse' to my first board")
    assert [c[0] for c in calls] == ["searchPins", "listBoards", "addPins"]
    assert calls[-1][2] == {"body.pinIds": (0, "pinId"), "boardId": (1, "boardId")}
    calls, message = steps(boards, "add pins to a new board called 'Coast'")  # which pins is not said
    assert calls == [] and "addPins" in message and "pinIds" in message


def test_asked_what_it_can_do_it_names_the_operations(boards):
    calls, message = steps(boards, "what can you do?")
    assert calls == [] and "Boards: List my boards; Create a board; Add pins to a board; Search pins by title" in message
    assert steps(boards, "help me find the pin 'Old Lighthouse'")[0][0][0] == "searchPins"  # a request, not a question


EVENTS = {"openapi": "3.0.3", "info": {"title": "Devices", "version": "1"}, "servers": [{"url": "https://d.example.com"}],
          "paths": {"/events": {"get": {"operationId": "listEvents", "summary": "List events",
                                        "parameters": [{"name": "deviceId", "in": "query", "required": False,
                                                        "schema": {"type": "integer"}}],
                                        "responses": {"200": {"description": "ok"}}}},
                    "/devices/{deviceId}": {"get": {"operationId": "getDevice", "summary": "Read a device",
                                                    "parameters": [{"name": "deviceId", "in": "path", "required": True,
                                                                    "schema": {"type": "integer"}}],
                                                    "responses": {"200": {"description": "ok"}}}}}}


def test_an_optional_id_filter_of_a_read_is_taken_from_the_request():
    tools = tools_of(EVENTS)
    assert steps(tools, "list the events of device 12")[0] == [("listEvents", {"deviceId": 12}, {})]
    assert steps(tools, "list the events")[0] == [("listEvents", {}, {})]
    assert steps(tools, "show device 12")[0] == [("getDevice", {"deviceId": 12}, {})]
