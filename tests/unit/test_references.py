"""The offline assistant reads references to earlier turns ("her", "the second one",
"that customer", "the one you just created") as the things those turns named or got back,
over a spec written here with string ids (nothing of the FountainAI services), and asks
when a reference could mean several things."""

import json

import pytest

from assistants import PastCall, Turn
from assistants.planning import make_plan
from tests.unit.test_assistant_generality import NOTES, SHOP, tools_of

ADA_BYRON, ADA_KING = "0b6f3a52-6a7e-4c1e-9d7b-1f0c2a9e8d11", "5d2c8e90-3b1f-4a4e-8c6d-2e7f9a0b1c22"


@pytest.fixture(scope="module")
def shop():
    return tools_of(SHOP, NOTES)


def turn(text, operation_id, method, arguments, answer, service="svc-0", ok=True):
    return Turn(text, "…", (PastCall(service, operation_id, method, arguments, 200 if ok else 500, ok, json.dumps(answer)),))


FOUND_TWO = turn("find customers named Ada", "findCustomers", "GET", {"q": "Ada"},
                 {"items": [{"uid": ADA_BYRON, "name": "Ada Byron"}, {"uid": ADA_KING, "name": "Ada King"}]})
READ_KING = turn("show me the second one", "readCustomer", "GET", {"customerUid": ADA_KING}, {"uid": ADA_KING, "name": "Ada King"})


def planned(tools, text, *history):
    plan = make_plan(tools, text, history=history, index=False)
    return [(s.tool.operation["operation_id"], s.arguments) for s in plan.steps], plan


def test_an_ordinal_one_is_the_item_of_the_last_list(shop):
    calls, plan = planned(shop, "show me the second one", FOUND_TWO)
    assert calls == [("readCustomer", {"customerUid": ADA_KING})]
    assert plan.read_as == (("the second one", f"customer {ADA_KING} (Ada King)"),)
    calls, _ = planned(shop, "what open orders did the first one place?", FOUND_TWO)
    assert calls == [("listOrders", {"customerUid": ADA_BYRON, "status": "open"})]


def test_a_pronoun_after_a_list_of_several_asks_which(shop):
    calls, plan = planned(shop, "show me her", FOUND_TWO)
    assert calls == [] and "Which one do you mean by “her”" in plan.message
    assert "Ada Byron" in plan.message and "Ada King" in plan.message


def test_a_pronoun_is_the_thing_the_last_turn_read(shop):
    calls, _ = planned(shop, "place an order of 2 for her", FOUND_TWO, READ_KING)
    assert calls == [("placeOrder", {"customerUid": ADA_KING, "body": {"quantity": 2}})]
    calls, _ = planned(shop, "attach a note to that customer saying 'VIP'", FOUND_TWO, READ_KING)
    assert calls == [("addNote", {"body": {"customerUid": ADA_KING, "text": "VIP"}})]


def test_the_one_just_created_is_what_a_write_made(shop):
    made = turn("place an order of 2 for her", "placeOrder", "POST", {"customerUid": ADA_KING, "body": {"quantity": 2}},
                {"orderNo": 41, "placedAt": "2026-12-03T10:00:00Z"})
    calls, plan = planned(shop, "cancel the one you just created", READ_KING, made)
    assert calls == [("cancelOrder", {"orderNo": 41})]
    assert plan.read_as == (("the one you just created", "order 41"),)


def test_without_history_or_references_the_request_is_read_as_it_is(shop):
    assert planned(shop, "show me the second one")[0] == []  # nothing to refer to
    assert planned(shop, "cancel order 7", FOUND_TWO, READ_KING)[0] == [("cancelOrder", {"orderNo": 7})]
    _, plan = planned(shop, "is it possible to cancel order 7?", READ_KING)
    assert plan.read_as == ()  # "it" that means nothing is left alone


def test_a_reference_to_a_list_that_never_was_asks(shop):
    calls, plan = planned(shop, "show me the third one", FOUND_TWO)
    assert calls == [] and "only 2" in plan.message


def test_a_failed_call_names_nothing(shop):
    failed = turn("show customer x", "readCustomer", "GET", {"customerUid": ADA_KING}, {"error": "boom"}, ok=False)
    calls, plan = planned(shop, "place an order of 2 for her", failed)
    # The id it was given still names the customer the turn was about.
    assert calls == [("placeOrder", {"customerUid": ADA_KING, "body": {"quantity": 2}})]
