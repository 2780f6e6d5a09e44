"""Plans that read a state as a verb ("close room 4"), a destination ("add the member …
to the room called …", "… to it") and a statement asked to be kept ("record that member
5 drops the call"), and that ask rather than write nothing: over a spec written here,
read in memory, nothing sent."""

import pytest

from tests.unit.test_assistant_generality import tools_of
from tests.unit.test_plans_make_and_ask import steps

_JSON = "application/json"


def _body(required, **properties):
    return {"required": True, "content": {_JSON: {"schema": {"type": "object", "required": list(required),
                                                               "properties": properties}}}}


def _answers(ref, many=False):
    schema = {"$ref": f"#/components/schemas/{ref}"}
    if many:
        schema = {"type": "object", "properties": {"items": {"type": "array", "items": schema}}}
    return {"200": {"description": "ok", "content": {_JSON: {"schema": schema}}}}


_ROOM_ID = {"name": "roomId", "in": "path", "required": True, "schema": {"type": "string"}}
ROOMS = {"openapi": "3.0.3", "info": {"title": "Rooms", "version": "1"}, "servers": [{"url": "https://rooms.example.com"}],
  "paths": {
    "/rooms": {
      "get": {"operationId": "listRooms", "summary": "List rooms",
              "parameters": [{"name": "name", "in": "query", "schema": {"type": "string"}}], "responses": _answers("Room", many=True)},
      "post": {"operationId": "createRoom", "summary": "Create a room", "requestBody": _body(["name"], name={"type": "string"}),
               "responses": _answers("Room")}},
    "/rooms/{roomId}": {
      "get": {"operationId": "fetchRoom", "summary": "Fetch a room", "parameters": [_ROOM_ID], "responses": _answers("Room")},
      "post": {"operationId": "updateRoom", "summary": "Update a room", "parameters": [_ROOM_ID],
               "requestBody": _body([], name={"type": "string"}, state={"type": "string", "enum": ["open", "closed", "archived"]}),
               "responses": _answers("Room")}},
    "/rooms/{roomId}/members": {
      "post": {"operationId": "addRoomMember", "summary": "Add a member to a room", "parameters": [_ROOM_ID],
               "requestBody": _body(["identity"], identity={"type": "string"}), "responses": _answers("Member")}},
    "/members": {
      "post": {"operationId": "createMember", "summary": "Create a member",
               "requestBody": _body(["identity"], identity={"type": "string"}), "responses": _answers("Member")}},
    "/rooms/{roomId}/songs": {
      "post": {"operationId": "addSongsToRoom", "summary": "Add songs to a room's playlist", "parameters": [_ROOM_ID],
               "requestBody": _body([], songIds={"type": "array", "items": {"type": "string"}}), "responses": _answers("Room")}},
    "/queue": {
      "post": {"operationId": "addToQueue", "summary": "Add an item to the queue",
               "parameters": [{"name": "songId", "in": "query", "required": True, "schema": {"type": "string"}}],
               "responses": {"204": {"description": "queued"}}}},
    "/songs": {
      "get": {"operationId": "searchSongs", "summary": "Search songs by title",
              "parameters": [{"name": "q", "in": "query", "required": True, "schema": {"type": "string"}}],
              "responses": _answers("Song", many=True)}},
    "/events": {
      "post": {"operationId": "createEvent", "summary": "Create an event",
               "requestBody": _body(["memberId", "description"], memberId={"type": "integer"}, description={"type": "string"}),
               "responses": _answers("Event")}},
  },
  "components": {"schemas": {
      "Room": {"type": "object", "properties": {"roomId": {"type": "string"}, "name": {"type": "string"},
                                                "state": {"type": "string"}}},
      "Member": {"type": "object", "properties": {"memberId": {"type": "integer"}, "identity": {"type": "string"}}},
      "Song": {"type": "object", "properties": {"songId": {"type": "string"}, "title": {"type": "string"}}},
      "Event": {"type": "object", "properties": {"eventId": {"type": "integer"}, "description": {"type": "string"}}}}}}


@pytest.fixture(scope="module")
def rooms():
    return tools_of(ROOMS)


def test_a_verb_of_a_state_asks_for_the_write_that_sets_it(rooms):
    assert steps(rooms, "Close room RM0a1b2c3d, the party is over")[0] == [
        ("updateRoom", {"roomId": "RM0a1b2c3d", "body": {"state": "closed"}}, {})]
    assert steps(rooms, "please archive room 7.")[0] == [("updateRoom", {"roomId": "7", "body": {"state": "archived"}}, {})]
    assert steps(rooms, "show room RM0a1b2c3d")[0] == [("fetchRoom", {"roomId": "RM0a1b2c3d"}, {})]  # no state asked


def test_a_thing_added_to_another_is_made_inside_it(rooms):
    calls, _ = steps(rooms, "Add the member with identity 'jamie' to the room called 'Cast Chat'")
    assert [c[0] for c in calls] == ["listRooms", "addRoomMember"]  # never a member made alone
    assert calls[-1][2] == {"roomId": (0, "roomId")}


def test_it_after_to_is_where_things_go_not_what_goes(rooms):
    calls, _ = steps(rooms, "Create a new room named 'Lounge' and add the song 'Blue in Green' to it")
    assert [c[0] for c in calls] == ["createRoom", "searchSongs", "addSongsToRoom"]  # not the queue
    assert calls[-1][2] == {"roomId": (0, "roomId"), "body.songIds": (1, "songId")}


def test_a_write_that_would_act_on_nothing_asks_which(rooms):
    # What is added is said in words no input takes: no room is made only to add nothing to it.
    calls, message = steps(rooms, "add what is playing in the lobby to a new room called 'Cellar'")
    assert calls == [] and "addSongsToRoom" in message and "songIds" in message and "I called nothing" in message


def test_a_statement_asked_to_be_kept_is_recorded(rooms):
    assert steps(rooms, "record that member 5 drops the call")[0] == [
        ("createEvent", {"body": {"memberId": 5, "description": "drops the call"}}, {})]
    assert steps(rooms, "member 5 drops the call")[0] == [
        ("createEvent", {"body": {"memberId": 5, "description": "drops the call"}}, {})]
