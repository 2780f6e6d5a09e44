"""The offline assistant over APIs it was never tuned on: specs written here, read in
memory (no database, no server, no Typesense); every call is answered as its spec
describes, as `routing_eval` does."""

import json

import pytest
from django.utils import timezone

from assistants.evaluation import evaluate
from assistants.grounding.vocabulary import EMPTY, parse_aliases, vocabulary_for
from operations.tools import build_tools
from prompts.models import SpecSnapshot
from prompts.parsing import parse_spec
from registry.models import Service

SHOP = {
    "openapi": "3.0.3",
    "info": {"title": "Shop", "version": "1"},
    "servers": [{"url": "https://shop.example.com"}],
    "paths": {
        "/customers": {"get": {
            "operationId": "findCustomers", "summary": "Search customers by name",
            "parameters": [{"name": "q", "in": "query", "required": "false", "schema": {"type": "string"},
                            "description": "Free text matched against the customer's name"},
                           {"name": "limit", "in": "query", "required": "false", "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"items": {"type": "array", "items": {
                    "$ref": "#/components/schemas/Customer"}}}}}}}}}},
        "/customers/{customerUid}": {"get": {
            "operationId": "readCustomer", "summary": "Read one customer",
            "parameters": [{"name": "customerUid", "in": "path", "required": True,
                            "schema": {"type": "string", "format": "uuid"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/Customer"}}}}}}},
        "/customers/{customerUid}/orders": {
            "get": {"operationId": "listOrders", "summary": "The orders a customer placed",
                    "parameters": [{"name": "customerUid", "in": "path", "required": True, "schema": {"type": "string"}},
                                   {"name": "status", "in": "query", "required": True,
                                    "schema": {"type": "string", "enum": ["open", "shipped", "cancelled"]}}],
                    "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                        "type": "array", "items": {"$ref": "#/components/schemas/Order"}}}}}}},
            "post": {"operationId": "placeOrder", "summary": "Place an order for a customer",
                     "parameters": [{"name": "customerUid", "in": "path", "required": True, "schema": {"type": "string"}}],
                     "requestBody": {"required": True, "content": {"application/json": {"schema": {
                         "type": "object", "required": ["quantity"],
                         "properties": {"quantity": {"type": "integer"}, "gift": {
                             "type": "boolean", "description": "If true the order is wrapped as a gift."}}}}}},
                     "responses": {"201": {"description": "ok"}}}},
        "/orders/{orderNo}": {"delete": {
            "operationId": "cancelOrder", "summary": "Cancel an order",
            "parameters": [{"name": "orderNo", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"204": {"description": "gone"}}}},
    },
    "components": {"schemas": {
        "Customer": {"type": "object", "properties": {"uid": {"type": "string"}, "name": {"type": "string"}}},
        "Order": {"type": "object", "properties": {"orderNo": {"type": "integer"}, "placedAt": {"type": "string",
                                                                                             "format": "date-time"}}},
    }},
}

NOTES = {
    "openapi": "3.0.3",
    "info": {"title": "Notes", "version": "1"},
    "servers": [{"url": "https://notes.example.com"}],
    "paths": {"/notes": {"post": {
        "operationId": "addNote", "summary": "Attach a note to a customer",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["customerUid", "text"],
            "properties": {"customerUid": {"type": "string"}, "text": {"type": "string"}}}}}},
        "responses": {"201": {"description": "ok"}}}}},
}

TELEPHONY = {
    "openapi": "3.0.1",
    "info": {"title": "Telephony", "version": "1"},
    "servers": [{"url": "https://api.tel.example.com"}],
    "paths": {"/Accounts/{AccountSid}/Calls/{Sid}.json": {"get": {
        "operationId": "FetchCall", "summary": "Fetch a call",
        "parameters": [{"name": "AccountSid", "in": "path", "required": True, "schema": {"type": "string"}},
                       {"name": "Sid", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "ok"}}}}},
}


def tools_of(*documents):
    pairs = []
    for number, document in enumerate(documents):
        parsed = parse_spec(json.dumps(document))
        service = Service(id=f"svc-{number}", name=parsed["title"], description="", openapi_url="https://x.example/")
        service.__dict__["_policies"] = {}
        snapshot = SpecSnapshot(service=service, source_url="https://x.example/", base_url=parsed["base_url"],
                                content_hash=f"h{number}", fetched_at=timezone.now(), security_schemes_json="{}")
        snapshot.operations = parsed["operations"]
        pairs.append((service, snapshot))
    return build_tools(pairs)


def run(tools, text, vocabulary=EMPTY):
    (row,) = evaluate([{"input": text, "operation": None}], tools, vocabulary=vocabulary, index=False)
    return row


@pytest.fixture(scope="module")
def shop():
    return tools_of(SHOP, NOTES)


def test_required_written_as_a_string_is_read_leniently():
    operation = next(o for o in parse_spec(json.dumps(SHOP))["operations"] if o["operation_id"] == "findCustomers")
    assert [p["required"] for p in operation["parameters"]] == [False, False]


def test_a_string_id_and_a_sid_are_read_after_their_thing():
    row = run(tools_of(TELEPHONY), "show call CA0123456789abcdef0123456789abcdef of account AC0123456789abcdef0123456789abcdef")
    assert row.calls == ["FetchCall"]
    assert row.arguments == [{"AccountSid": "AC0123456789abcdef0123456789abcdef", "Sid": "CA0123456789abcdef0123456789abcdef"}]


def test_a_spelled_out_number_is_an_id(shop):
    row = run(shop, "cancel order forty-two")
    assert (row.calls, row.arguments) == (["cancelOrder"], [{"orderNo": 42}])


def test_a_name_where_an_id_is_wanted_is_looked_up_first(shop):
    row = run(shop, "show the open orders of Ada Lovelace")
    assert row.calls == ["findCustomers", "listOrders"]
    assert row.arguments[0] == {"q": "Ada Lovelace"}
    assert row.arguments[1]["customerUid"] == "uid-1" and row.arguments[1]["status"] == "open"  # the enum, from a word


def test_the_newest_picks_by_date_and_a_plan_crosses_services(shop):
    row = run(shop, "Ada Lovelace phoned to say the parcel was late")  # a statement about a named customer
    assert row.calls == ["findCustomers", "addNote"]
    assert row.arguments[1] == {"body": {"customerUid": "uid-1", "text": "phoned to say the parcel was late"}}


def test_a_yes_no_input_is_set_from_the_words_of_its_description(shop):
    row = run(shop, "place an order of 3 for customer 7f3c9a2e-1b4d-4c8e-9a6f-0e2d3c4b5a69 as a gift")
    assert row.calls == ["placeOrder"]
    assert row.arguments[0] == {"customerUid": "7f3c9a2e-1b4d-4c8e-9a6f-0e2d3c4b5a69", "body": {"quantity": 3, "gift": True}}


def test_an_ambiguous_lookup_for_a_write_stops_and_says_so(shop):
    from assistants.local import run_plan
    from assistants.planning import make_plan
    from operations.calling import CallResult

    plan = make_plan(shop, "place an order of 2 for customer Ada Lovelace", index=False)
    assert [s.tool.operation["operation_id"] for s in plan.steps] == ["findCustomers", "placeOrder"]
    two_adas = json.dumps({"items": [{"uid": "u-1", "name": "Ada Lovelace"}, {"uid": "u-2", "name": "Ada Lovelace"}]})
    sent = []

    def execute(tool, arguments, sources=None):
        sent.append(tool.operation["operation_id"])
        return CallResult(tool, arguments, ok=True, status=200, text=two_adas)

    answer = run_plan(plan, execute)
    assert sent == ["findCustomers"] and "say which one" in answer and "u-1" in answer and "u-2" in answer


def test_an_unsure_write_is_named_and_asked_about(shop):
    row = run(shop, "what about order 12?")
    assert row.calls == [] and "cancelOrder" in row.answer or row.writes == []


def test_add_is_never_a_delete(shop):
    row = run(shop, "add order 12")
    assert "cancelOrder" not in row.calls


def test_a_question_writes_nothing(shop):
    row = run(shop, "What would cancelling order 12 change?")
    assert row.writes == []


def test_aliases_are_data_read_before_anything_else(shop):
    vocabulary = vocabulary_for(shop, {"svc-0": parse_aliases("customer: client, patron")})
    row = run(shop, "show the shipped orders of client Grace Hopper", vocabulary)
    assert row.calls == ["findCustomers", "listOrders"] and row.arguments[1]["status"] == "shipped"


CHAT = {
    "openapi": "3.0.3",
    "info": {"title": "Chat", "version": "1"},
    "servers": [{"url": "https://chat.example.com"}],
    "paths": {"/channels/{channelId}/posts": {"post": {
        "operationId": "createPost", "summary": "Post in a channel",
        "parameters": [{"name": "channelId", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}}}}},
        "responses": {"201": {"description": "ok"}}}}},
}


def test_any_free_text_field_is_filled_from_what_the_user_calls_its_text():
    """A field for dictated text (here `message`) is filled when the user calls it "the
    text" or "the words", as `text` and `content` fields always were."""
    tools = tools_of(CHAT)
    for text in ("post in channel 7 with the text meet at noon", "post in channel 7, words: meet at noon"):
        row = run(tools, text)
        assert (row.calls, row.arguments) == (["createPost"], [{"channelId": 7, "body": {"message": "meet at noon"}}]), text
