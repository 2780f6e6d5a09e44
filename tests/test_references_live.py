"""The offline assistant over turns of a conversation through POST /interact, against the
running demo services and the nine FountainAI services (real HTTP): what an earlier turn
created or listed is what "she" or "the second one" means in the next."""

import json

import pytest

from assistants import PastCall, Turn
from interactions.models import InteractionLog


class Conversation:
    """Turns sent to POST /interact one after another in one conversation: the assistant
    gets the earlier turns as the log keeps them (interactions.selectors.conversation_history)."""

    def __init__(self, client):
        self.client, self.id = client, None
        self.history: list[Turn] = []  # what each turn called and got back, read from the log

    def say(self, text: str):
        body = {"user_input": text, **({"conversation_id": self.id} if self.id else {})}
        response = self.client.post("/interact", body, format="json")
        assert response.status_code == 200, response.content
        answer = response.json()
        self.id = answer["conversation_id"]
        log = InteractionLog.objects.filter(conversation_id=self.id).order_by("-turn").first()
        calls = list(log.calls.order_by("position"))
        self.history.append(Turn(text, answer["assistant_response"], tuple(
            PastCall(c.service_id, c.operation_id, c.method, c.request, c.status, c.ok, c.response) for c in calls)))
        return answer["assistant_response"], [(c.operation_id, c.request, c.status) for c in calls]


@pytest.mark.django_db
def test_juliet_opens_the_window_then_what_she_did(demo_services, client_api):
    talk = Conversation(client_api)
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
def test_a_pronoun_with_two_candidates_asks_and_calls_nothing(demo_services, client_api):
    talk = Conversation(client_api)
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


def test_a_script_its_characters_and_the_second_one(fountainai, client_api):
    talk = Conversation(client_api)
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
