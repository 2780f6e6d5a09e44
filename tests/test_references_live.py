"""The offline assistant over turns of a conversation, against the running demo services
and the nine FountainAI services (real HTTP): what an earlier turn created or listed is
what "she" or "the second one" means in the next. The turns are passed as the assistant
receives them (assistants.Turn, built from the calls each turn made)."""

import json

import pytest

from assistants import PastCall, Turn
from assistants.local import LocalAssistant
from interactions.services import operation_execute
from operations.scope import assistant_scope


class Conversation:
    """Turns sent to the offline assistant one after another, each with the turns before."""

    def __init__(self):
        self.history: list[Turn] = []

    def say(self, text: str):
        scope = assistant_scope(None)
        calls = []

        def execute(tool, arguments, sources=None):
            calls.append(call := operation_execute(tool, arguments))
            return call

        result = LocalAssistant().run(user_input=text, system_prompt=scope.prompt, tools=scope.tools, execute=execute,
                                      history=tuple(self.history))
        self.history.append(Turn(text, result.text, tuple(
            PastCall(c.tool.service.pk, c.tool.operation["operation_id"], c.tool.operation["method"], c.arguments,
                     c.status, c.ok, c.text) for c in calls)))
        return result.text, [(c.tool.operation["operation_id"], c.arguments, c.status) for c in calls]


@pytest.mark.django_db
def test_juliet_opens_the_window_then_what_she_did(demo_services):
    talk = Conversation()
    _, calls = talk.say("create a character named Juliet")
    assert [(op, args) for op, args, _ in calls] == [("createCharacter", {"body": {"name": "Juliet"}})]
    juliet = json.loads(talk.history[-1].calls[0].response)["characterId"]
    answer, calls = talk.say("she opens the window")
    assert calls == [("createAction", {"body": {"characterId": juliet, "description": "opens the window"}}, 201)]
    assert answer.startswith(f"I read “she” as character {juliet} (Juliet).")
    answer, calls = talk.say("what has she done so far?")
    assert calls == [("listActions", {"characterId": juliet}, 200)]
    assert json.loads(talk.history[-1].calls[0].response) == [
        {"actionId": 2, "characterId": juliet, "description": "opens the window"}]


@pytest.mark.django_db
def test_a_pronoun_with_two_candidates_asks_and_calls_nothing(demo_services):
    talk = Conversation()
    talk.say("show all characters")
    answer, calls = talk.say("she opens the window")
    assert calls == [] and answer.startswith("Which one do you mean by “she”")
    assert "John Doe" in answer and "Jane Roe" in answer


@pytest.fixture
def fountainai(db):
    from tests.routing_services import register_fountainai_services, start_fountainai_services

    started = start_fountainai_services(answers="examples")
    register_fountainai_services(started)
    yield
    for _, _, server in started:
        server.close()


def test_a_script_its_characters_and_the_second_one(fountainai):
    talk = Conversation()
    _, calls = talk.say("create a script titled 'Night Ferry' by Ann Lee")
    assert [op for op, _, _ in calls] == ["createScript"]
    script = json.loads(talk.history[-1].calls[-1].response)["scriptId"]
    answer, calls = talk.say("which characters are in it?")
    assert calls == [("listCharactersByScript", {"scriptId": script}, 200)]
    listed = json.loads(talk.history[-1].calls[-1].response)
    assert len(listed) >= 2
    answer, calls = talk.say("show me the second one")
    assert calls == [("getCharacterById", {"characterId": listed[1]["characterId"]}, 200)]
    assert f"“the second one” as character {listed[1]['characterId']}" in answer
