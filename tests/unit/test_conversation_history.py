"""How the OpenAI backend turns a conversation's earlier turns into messages within its
token budget (assistants.openai_backend.history_messages): every tool message follows
its call, results are shortened (oldest turn first) before any turn is dropped, and
turns are dropped oldest first, whole. Fast: no server, no database."""

import json

from assistants import PastCall, Turn
from assistants.openai_backend import SHORTENED_RESULT_CHARS, history_messages, message_tokens, turn_messages


def _turn(text: str, result_chars: int = 0) -> Turn:
    calls = (PastCall("svc", "getThing", "GET", {"thingId": 1}, 200, True, "r" * result_chars),) if result_chars else ()
    return Turn(user_input=text, assistant_response=f"answer to {text}", calls=calls)


def _users(messages) -> list[str]:
    return [m["content"] for m in messages if m["role"] == "user"]


def test_a_turn_is_its_input_its_calls_with_their_results_and_its_answer():
    messages = turn_messages(_turn("first", 10), 1)
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    (call,) = messages[1]["tool_calls"]
    assert call["function"] == {"name": "svc__getThing", "arguments": '{"thingId": 1}'}
    assert messages[2]["tool_call_id"] == call["id"]
    assert json.loads(messages[2]["content"]) == {"ok": True, "status": 200, "body": "r" * 10}


def test_everything_is_sent_when_it_fits():
    history = (_turn("one", 100), _turn("two", 100))
    messages = history_messages(history, budget=10_000)
    assert messages == turn_messages(history[0], 1) + turn_messages(history[1], 2)


def test_results_are_shortened_oldest_first_before_a_turn_is_dropped():
    history = (_turn("one", 4000), _turn("two", 4000))
    whole, short = message_tokens(turn_messages(history[0], 1)), message_tokens(turn_messages(history[0], 1, shorten=True))
    # Room for the first turn shortened and the second whole: only the first is shortened.
    messages = history_messages(history, budget=short + whole)
    bodies = [json.loads(m["content"])["body"] for m in messages if m["role"] == "tool"]
    assert bodies[0].startswith("r" * SHORTENED_RESULT_CHARS) and bodies[0].endswith("(shortened; 4000 characters)")
    assert bodies[1] == "r" * 4000 and _users(messages) == ["one", "two"]
    # Less room: both shortened, both kept.
    both = history_messages(history, budget=2 * short)
    assert _users(both) == ["one", "two"] and all("shortened" in m["content"] for m in both if m["role"] == "tool")


def test_turns_are_dropped_oldest_first_and_whole():
    history = (_turn("one", 4000), _turn("two"), _turn("three"))
    latest_two = message_tokens(turn_messages(history[1], 2) + turn_messages(history[2], 3))
    messages = history_messages(history, budget=latest_two)
    assert _users(messages) == ["two", "three"] and not any(m["role"] == "tool" for m in messages)
    assert message_tokens(messages) <= latest_two
    assert history_messages(history, budget=1) == []  # not even the latest fits


def test_a_budget_of_zero_sends_no_history():
    assert history_messages((_turn("one"),), budget=0) == []
