"""Conversations against gunicorn (two workers of four threads, its own SQLite database,
the session's Typesense, the offline assistant, the demo services over real HTTP), as a
client uses them: the id in the body and the header and reused, another key's id and an
unknown one answered alike (and logged), a full and an expired conversation, a held
call's outcome at the start of the next turn, once. Every answer is checked against
the contract."""

import json
import os
import sqlite3
import subprocess
import sys
import threading

import httpx
import pytest

from tests.conftest import ROOT, TYPESENSE_KEY, _wait_http, free_port
from tests.contract import assert_conforms, assert_error

pytestmark = pytest.mark.slow

API_KEY, ADMIN_KEY = "conversations-api-key-0123456789", "conversations-admin-key-0123456789"
MAX_TURNS = 4


class Stack:
    def __init__(self, url, var_dir, env):
        self.url, self.var_dir, self.env = url, var_dir, env

    def client(self, key: str = API_KEY) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, headers={"X-API-KEY": key, "X-ADMIN-API-KEY": ADMIN_KEY})

    def manage(self, *args) -> str:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True,
                              capture_output=True, text=True).stdout

    def db(self, sql: str, *args) -> list:
        with sqlite3.connect(self.var_dir / "db.sqlite3") as connection:
            return connection.execute(sql, args).fetchall()


@pytest.fixture(scope="module")
def stack(typesense, tmp_path_factory):
    from demo.server import make_server

    demo = make_server(0)
    threading.Thread(target=demo.serve_forever, daemon=True).start()
    demo_base = f"http://127.0.0.1:{demo.server_address[1]}"
    var_dir = tmp_path_factory.mktemp("conversations")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ensemble_project.settings.test",
        "ENSEMBLE_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
        "ENSEMBLE_API_KEY": API_KEY, "ENSEMBLE_ADMIN_API_KEY": ADMIN_KEY,
        "TYPESENSE_URLS": typesense.url, "TYPESENSE_API_KEY": TYPESENSE_KEY,
        "TYPESENSE_COLLECTION_PREFIX": f"conversations{port}_",
        "ENSEMBLE_ASSISTANT_BACKEND": "local",
        "ENSEMBLE_CONVERSATION_MAX_TURNS": str(MAX_TURNS),
        "ENSEMBLE_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4",
        "GUNICORN_TIMEOUT": "60", "PROMETHEUS_MULTIPROC_DIR": str(var_dir / "metrics"),
    }
    for command in (["migrate", "--noinput"], ["bootstrap_keys"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)
    with open(var_dir / "server.log", "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "ensemble_project/gunicorn.conf.py"],
                                   cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz")
        stack = Stack(f"http://127.0.0.1:{port}", var_dir, env)
        with stack.client() as client:
            for service_id, name, prefix in (("character-service", "Character Service", "character"),
                                             ("action-service", "Action Service", "action")):
                response = client.post("/services/register", json={
                    "id": service_id, "name": name, "description": f"The demo {prefix} service.",
                    "openapi_url": f"{demo_base}/{prefix}/openapi.yml", "tags": ["demo"]})
                assert response.status_code == 201, response.text
        stack.manage("refresh_specs")
        stack.manage("shell", "-c", (  # the demo services' vocabulary, as `seed_demo` sets it
            "from assistants.services import vocabulary_set; from demo.management.commands.seed_demo import VOCABULARY; "
            "from registry.models import Service; [vocabulary_set(service=Service.objects.get(pk=pk), aliases=words, "
            "actor='test') for pk, words in VOCABULARY.items()]"))
        yield stack
    finally:
        process.terminate()
        process.wait(timeout=30)
        demo.shutdown()
        demo.server_close()


def turn(client, user_input, conversation_id=None) -> dict:
    body = {"user_input": user_input, **({"conversation_id": conversation_id} if conversation_id is not None else {})}
    response = client.post("/interact", json=body)
    answer = assert_conforms(response, "handleUserInput", 200)
    assert response.headers["X-Conversation-Id"] == answer["conversation_id"]
    return answer


def refused(client, user_input, conversation_id, error_code) -> dict:
    response = client.post("/interact", json={"user_input": user_input, "conversation_id": conversation_id})
    return assert_error(response, "handleUserInput", 400, error_code)


def outcome_of(stack, user_input) -> tuple:
    ((outcome, error, conversation_id),) = stack.db(
        "SELECT outcome, error, conversation_id FROM interactions_interactionlog WHERE user_input = ?", user_input)
    return outcome, error, conversation_id


def test_a_conversation_is_continued_with_its_id_and_the_logs_filter_by_it(stack):
    with stack.client() as client:
        first = turn(client, "get character 1")
        second = turn(client, "list characters", first["conversation_id"])
        assert second["conversation_id"] == first["conversation_id"]
        assert turn(client, "get character 2")["conversation_id"] != first["conversation_id"]
        page = assert_conforms(client.get("/logs", params={"conversation_id": first["conversation_id"]}), "retrieveLogs", 200)
    assert [log["user_input"] for log in page["logs"]] == ["list characters", "get character 1"]
    assert stack.db("SELECT turn FROM interactions_interactionlog WHERE conversation_id = ? ORDER BY turn",
                    first["conversation_id"]) == [(1,), (2,)]


def test_another_keys_conversation_is_answered_like_an_unknown_one_and_both_are_logged(stack):
    other_key = stack.manage("apikey", "create", "--name", "another client").split()[-1]
    with stack.client() as client:
        mine = turn(client, "get character 1")["conversation_id"]
    with stack.client(other_key) as stranger:
        theirs = refused(stranger, "their turn in my conversation", mine, "CONVERSATION_NOT_FOUND")
        unknown = refused(stranger, "a turn in no conversation", "Zm9vYmFyYmF6" * 3, "CONVERSATION_NOT_FOUND")
    assert theirs == unknown
    for text in ("their turn in my conversation", "a turn in no conversation"):
        outcome, error, conversation_id = outcome_of(stack, text)
        assert outcome == "rejected" and "CONVERSATION_NOT_FOUND" in error and conversation_id is None
    assert stack.db("SELECT turns FROM interactions_conversation WHERE id = ?", mine) == [(1,)]


def test_a_full_conversation_and_an_expired_one_are_refused_and_logged(stack):
    with stack.client() as client:
        conversation_id = turn(client, "get character 1")["conversation_id"]
        for _ in range(MAX_TURNS - 1):
            turn(client, "get character 2", conversation_id)
        body = refused(client, "one turn too many", conversation_id, "CONVERSATION_FULL")
        assert f"limit of {MAX_TURNS} turns" in body["message"]
        assert outcome_of(stack, "one turn too many")[::2] == ("rejected", conversation_id)

        idle = turn(client, "get character 1")["conversation_id"]
        stack.db("UPDATE interactions_conversation SET last_turn_at = '2020-01-01 00:00:00' WHERE id = ?", idle)
        refused(client, "after a long pause", idle, "CONVERSATION_EXPIRED")
    assert outcome_of(stack, "after a long pause")[::2] == ("rejected", idle)


def test_the_offline_assistant_reads_she_as_the_character_an_earlier_turn_created(stack):
    with stack.client() as client:
        created = turn(client, "create a character named Juliet")
        juliet = json.loads(created["service_responses"][0]["response"])["characterId"]
        conversation_id = created["conversation_id"]
        opened = turn(client, "she opens the window", conversation_id)
        action = json.loads(opened["service_responses"][0]["response"])
        assert (action["characterId"], action["description"]) == (juliet, "opens the window")
        done = turn(client, "what has she done so far?", conversation_id)
        assert [a["description"] for a in json.loads(done["service_responses"][0]["response"])] == ["opens the window"]
    assert stack.db("SELECT operation_id, request FROM interactions_servicecall WHERE log_id IN (SELECT id FROM "
                    "interactions_interactionlog WHERE conversation_id = ?) ORDER BY log_id", conversation_id) == [
        ("createCharacter", json.dumps({"body": {"name": "Juliet"}})),
        ("createAction", json.dumps({"body": {"characterId": juliet, "description": "opens the window"}})),
        ("listActions", json.dumps({"characterId": juliet})),
    ]


def test_a_held_calls_outcome_opens_the_next_answer_once(stack):
    stack.manage("shell", "-c", (
        "from prompts.services import operation_policy_set; from registry.models import Service; "
        "operation_policy_set(service=Service.objects.get(pk='character-service'), operation_id='createCharacter', "
        "policy='needs_approval', actor='user:setup')"))
    with stack.client() as client:
        held = turn(client, "create a character name=Juliet")
        ((approval_id, reference),) = stack.db(
            "SELECT id, reference FROM interactions_pendingapproval WHERE state = 'pending'")
        assert reference in held["assistant_response"]
        stack.manage("shell", "-c", (
            "from interactions.approvals import approval_approve; "
            f"approval_approve(approval_id={approval_id}, actor='user:approver')"))
        conversation_id = held["conversation_id"]
        answer = turn(client, "list characters", conversation_id)["assistant_response"]
        assert answer.startswith(f"{reference} (createCharacter on Character Service) was approved and sent; it answered: ")
        assert '"name": "Juliet"' in answer.split("\n\n")[0]
        assert reference not in turn(client, "get character 1", conversation_id)["assistant_response"]
