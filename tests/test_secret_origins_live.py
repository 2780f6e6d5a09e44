"""Where secrets go, against the production server (gunicorn, two workers of four
threads, background spec fetching) with real echo services on two loopback addresses:
127.0.0.2 is the services' own host, 127.0.0.3 a foreign one. Secrets are set the way
an operator does (`service_credential set --value-stdin`). The regressions of issue 25:

1. a new `openapi_url` whose spec points elsewhere gets no secret until an admin confirms;
3. an OAuth2 token endpoint on another origin gets no client secret until confirmed;
4. a refetched spec with other `servers` holds the secrets back, audited, in the spec history;
5. secrets echoed back in the usual transformations are redacted everywhere they are kept;
6a. an approval runs the call that was shown: a held PUT whose spec now says DELETE is
   refused, with the reason, and nothing is sent;
7. held calls keep their secret arguments (`format: password`, `writeOnly`) encrypted, the
   approvals page shows them redacted, and once sent they are redacted like credentials;
9. an API whose only scheme is OAuth2 authorizationCode (the music API) is callable with
   a refresh token an admin set, refreshed at its tokenUrl and once more after a 401;

and the base-URL override (issue 29), whose origin is confirmed like any other. The last
test looks for every secret used here in the database file, GET /logs, logs_export,
every Typesense document and the server's and the sync worker's logs."""

import base64
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.admin_forms import AdminSession
from tests.conftest import ROOT, SHARED, TYPESENSE_KEY, _wait_http, free_port
from tests.echo_fixtures import EchoServer, notes_spec, vault_spec
from tests.hostile_fixtures import ScriptedModel
from tests.shared_material import require

pytestmark = pytest.mark.slow

API_KEY, ADMIN_KEY = "origins-test-api-key-0123456789", "origins-test-admin-key-0123456789"
SPOTIFY = SHARED / "routing" / "public-api" / "Spotify.yml"
# Every secret this module hands the Ensemble (and every token issued for them): none may be kept anywhere.
USED_SECRETS: list[str] = []


class Stack:
    def __init__(self, url, var_dir, env, process, own, foreign, model):
        self.url, self.var_dir, self.env, self.process = url, var_dir, env, process
        self.own, self.foreign, self.model = own, foreign, model

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, headers={"X-API-KEY": API_KEY, "X-ADMIN-API-KEY": ADMIN_KEY})

    def manage(self, *args, input=None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True,
                              capture_output=True, text=True, input=input)

    def db(self, sql: str, *args) -> list:
        with sqlite3.connect(self.var_dir / "db.sqlite3") as connection:
            return connection.execute(sql, args).fetchall()

    def register(self, service_id: str, spec_url: str):
        with self.client() as client:
            response = client.post("/services/register", json={
                "id": service_id, "name": service_id.title(), "description": f"{service_id} under test",
                "openapi_url": spec_url, "tags": ["origins"]})
        assert response.status_code == 201, response.text
        self.wait_for_spec(service_id, spec_url)

    def wait_for_spec(self, service_id: str, spec_url: str, seconds: float = 20):
        """Until the background fetch stored `spec_url`'s document."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            rows = self.db("SELECT fetched_at, error FROM prompts_specsnapshot WHERE service_id = ? AND source_url = ?",
                           service_id, spec_url)
            if rows and rows[0][0] and not rows[0][1]:
                return
            time.sleep(0.1)
        raise AssertionError(f"the spec of {service_id} at {spec_url} was not fetched")

    def set_secret(self, service_id: str, scheme: str, value: str) -> str:
        USED_SECRETS.append(value)
        return self.manage("service_credential", "set", service_id, scheme, "--value-stdin", input=value).stdout

    def call(self, tool: str, arguments=None) -> str:
        script = self.model.script(f"run {tool} {json.dumps(arguments or {})}", tool, arguments or {})
        with self.client() as client:
            response = client.post("/interact", json={"user_input": script})
        assert response.status_code == 200, response.text
        (answer,) = response.json()["service_responses"]
        return answer["response"]

    def audit(self, action: str, target: str) -> list[dict]:
        return [json.loads(c) for (c,) in self.db(
            "SELECT changes FROM audit_auditevent WHERE action = ? AND target_id = ? ORDER BY id", action, target)]


@pytest.fixture(scope="module")
def stack(typesense, tmp_path_factory):
    own, foreign, model = EchoServer("127.0.0.2", "own"), EchoServer("127.0.0.3", "foreign"), ScriptedModel()
    var_dir = tmp_path_factory.mktemp("origins")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ensemble_project.settings.test",
        "ENSEMBLE_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
        "ENSEMBLE_API_KEY": API_KEY, "ENSEMBLE_ADMIN_API_KEY": ADMIN_KEY,
        "TYPESENSE_URLS": typesense.url, "TYPESENSE_API_KEY": TYPESENSE_KEY,
        "TYPESENSE_COLLECTION_PREFIX": f"origins{port}_",
        "ENSEMBLE_SPEC_FETCH_ON_WRITE": "1", "ENSEMBLE_SPEC_FETCH_IN_BACKGROUND": "1", "ENSEMBLE_SPEC_WAIT_SECONDS": "2",
        "ENSEMBLE_ASSISTANT_BACKEND": "openai", "OPENAI_BASE_URL": model.base_url, "OPENAI_API_KEY": "test-key",
        "OPENAI_MODEL": "scripted", "OPENAI_MAX_RETRIES": "0", "OPENAI_TIMEOUT_SECONDS": "10",
        "ENSEMBLE_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4",
        "GUNICORN_TIMEOUT": "60", "PROMETHEUS_MULTIPROC_DIR": str(var_dir / "metrics"),
    }
    # Loopback is allowed by the test profile; no host allow-list, so 127.0.0.2 and .3 are reachable.
    env.pop("ENSEMBLE_OUTBOUND_ALLOWED_HOSTS", None)
    for command in (["migrate", "--noinput"], ["bootstrap_keys"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)
    with open(var_dir / "server.log", "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "ensemble_project/gunicorn.conf.py"],
                                   cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz")
        yield Stack(f"http://127.0.0.1:{port}", var_dir, env, process, own, foreign, model)
    finally:
        process.terminate()
        process.wait(timeout=30)
        for server in (own, foreign, model):
            server.close()


def _secrets(prefix: str) -> dict[str, str]:
    """Fresh secrets of every kind, with characters that encodings change (/ + space)."""
    tag = os.urandom(6).hex()
    return {"headerKey": f"{prefix}-hdr/{tag}+K", "queryKey": f"{prefix}-qry/{tag} Q", "basicAuth": f"ada:{prefix}-pw/{tag}+P",
            "bearerAuth": f"{prefix}-bearer/{tag}"}


def _basic(value: str) -> str:
    return "Basic " + base64.b64encode(value.encode()).decode()


def _set_all(stack, service_id: str, secrets: dict[str, str]):
    for scheme, value in secrets.items():
        stack.set_secret(service_id, scheme, value)


def _held(answer: str) -> bool:
    return "waits for an admin to confirm the new origin" in answer and "Nothing was sent" in answer


def test_1_a_new_openapi_url_on_a_foreign_host_receives_no_secret(stack):
    own, foreign = stack.own, stack.foreign
    secrets = _secrets("one")
    stack.register("moving", own.publish("/moving/spec.json", vault_spec(own.base)))
    _set_all(stack, "moving", secrets)
    assert '"service": "own"' in stack.call("moving__echoKeys") and '"service": "own"' in stack.call("moving__echoBasic")
    assert own.received(secrets["headerKey"]) and own.received(_basic(secrets["basicAuth"]))

    elsewhere = foreign.publish("/moving/spec.json", vault_spec(foreign.base))
    foreign.forget()
    with stack.client() as client:
        response = client.put("/services/update/moving", json={
            "id": "moving", "name": "Moving", "description": "moved", "openapi_url": elsewhere, "tags": ["origins"]})
    assert response.status_code == 200, response.text
    stack.wait_for_spec("moving", elsewhere)
    for tool in ("moving__echoKeys", "moving__echoBasic", "moving__echoBearer"):
        answer = stack.call(tool)
        assert _held(answer) and foreign.base in answer, answer
    assert foreign.calls("/api/") == []  # nothing, not even without the secrets
    assert not any(foreign.received(value) for value in secrets.values()) and not foreign.received(_basic(secrets["basicAuth"]))
    assert stack.audit("credential.origin_held", "moving/headerKey")[-1]["waiting for confirmation"] == [None, [foreign.base]]
    listing = stack.manage("service_credential", "list", "moving").stdout
    assert f"headerKey\theld\tfor {own.base}; waits for an admin to confirm {foreign.base}" in listing

    # An admin confirms: from now on the secrets go to the new host, and only there.
    assert f"confirmed for {foreign.base}" in stack.manage("service_credential", "confirm-origin", "moving").stdout
    own.forget()
    assert '"service": "foreign"' in stack.call("moving__echoKeys")
    assert foreign.received(secrets["headerKey"]) and not own.received(secrets["headerKey"])


def test_3_an_oauth2_token_endpoint_on_a_foreign_host_receives_no_client_secret(stack):
    own, foreign = stack.own, stack.foreign
    client_secret = f"client-secret/{os.urandom(6).hex()}"
    foreign.oauth(client_id="vault-client", client_secret=client_secret)
    foreign.forget()
    stack.register("tokens", own.publish("/tokens/spec.json", vault_spec(own.base, token_url=f"{foreign.base}/token")))
    out = stack.set_secret("tokens", "clientAuth", json.dumps({"client_id": "vault-client", "client_secret": client_secret}))
    answer = stack.call("tokens__echoClient")
    assert foreign.calls("/token") == [] and not foreign.received(client_secret)
    assert _held(answer) and f"{foreign.base} (its token endpoint)" in answer
    assert f"It also goes to {foreign.base}, which nobody confirmed" in out

    stack.manage("service_credential", "confirm-origin", "tokens", "clientAuth")
    answer = stack.call("tokens__echoClient")
    assert '"service": "own"' in answer and len(foreign.calls("/token")) == 1
    USED_SECRETS.extend(foreign.issued)
    assert own.received(f"Bearer {foreign.issued[-1]}") and not own.received(client_secret)


def test_4_a_refetched_spec_with_other_servers_holds_the_secrets_audited_and_in_the_history(stack):
    own, foreign = stack.own, stack.foreign
    secrets = _secrets("four")
    spec_url = own.publish("/refetched/spec.json", vault_spec(own.base))
    stack.register("refetched", spec_url)
    _set_all(stack, "refetched", secrets)
    assert '"service": "own"' in stack.call("refetched__echoKeys")

    own.publish("/refetched/spec.json", vault_spec(foreign.base))
    stack.manage("refresh_specs", "--force", "refetched")
    foreign.forget()
    answer = stack.call("refetched__echoKeys")
    assert _held(answer)
    assert foreign.calls("/api/") == [] and not any(foreign.received(v) for v in secrets.values())
    assert [scheme for (scheme,) in stack.db(
        "SELECT target_id FROM audit_auditevent WHERE action = 'credential.origin_held' AND target_id LIKE 'refetched/%' "
        "ORDER BY target_id")] == ["refetched/basicAuth", "refetched/bearerAuth", "refetched/headerKey", "refetched/queryKey"]
    assert stack.db("SELECT base_url_before, base_url_after FROM prompts_specchange WHERE service_id = 'refetched'") == [
        (f"{own.base}/api", f"{foreign.base}/api")]


def test_5_secrets_echoed_back_in_any_usual_form_are_redacted(stack):
    own = stack.own
    secrets = _secrets("five")
    stack.register("echo", own.publish("/echo/spec.json", vault_spec(own.base)))
    _set_all(stack, "echo", secrets)
    for tool in ("echo__echoKeys", "echo__echoBasic", "echo__echoBearer"):
        arguments = {"body": {"note": "hello"}} if tool == "echo__echoBearer" else {}
        answer = stack.call(tool, arguments)
        assert '"service": "own"' in answer and "[redacted]" in answer
        for value in [*secrets.values(), secrets["basicAuth"].split(":", 1)[1]]:
            for form in (value, value.lower(), value.upper(), value.replace("/", "\\/"), json.dumps(value)[1:-1]):
                assert form not in answer, (tool, form)
    password = secrets["basicAuth"].split(":", 1)[1]
    with stack.client() as client:
        stack.manage("typesense_sync", "--once")
        for value in (secrets["headerKey"], password, secrets["bearerAuth"]):
            found = client.get("/logs", params={"q": value.split("/")[1]})  # the secret's random part
            assert found.status_code == 200 and found.json()["logs"] == [], value


def test_6a_7_an_approval_sends_the_call_that_was_shown_and_secret_arguments_stay_secret(stack):
    own = stack.own
    password, answer = f"note-pw/{os.urandom(6).hex()}", f"recovery/{os.urandom(6).hex()}"
    USED_SECRETS.extend([password, answer])
    spec_url = own.publish("/notes/spec.json", notes_spec(own.base))
    stack.register("notes", spec_url)
    stack.manage("shell", "-c", (
        "from prompts.services import operation_policy_set; from registry.models import Service; "
        "operation_policy_set(service=Service.objects.get(pk='notes'), operation_id='updateNote', policy='needs_approval', "
        "actor='user:setup')"))
    stack.manage("shell", "-c", (
        "from django.contrib.auth.models import User; User.objects.filter(username='approver').exists() or "
        "User.objects.create_superuser('approver', 'approver@example.com', 'approver-pw-0123456789')"))
    arguments = {"noteId": 5, "body": {"text": "Act two", "password": password, "recovery": answer}}
    admin = AdminSession(stack, "approver", "approver-pw-0123456789")
    try:
        # Held: shown with its route and the secrets redacted, kept only encrypted.
        reference = re.search(r"APR-[0-9A-F]{8}", stack.call("notes__updateNote", arguments)).group(0)
        page = admin.http.get("/admin/control/approvals/").text
        assert reference in page and "PUT /notes/{noteId}" in page and f"on {own.base}" in page
        assert "[redacted]" in page and password not in page and answer not in page
        ((sealed,),) = stack.db("SELECT sealed_arguments FROM interactions_pendingapproval WHERE reference = ?", reference)
        assert sealed and password.encode() not in bytes(sealed)

        # The spec now has DELETE under the same operationId: the approval sends nothing.
        own.publish("/notes/spec.json", notes_spec(own.base, method="delete"))
        stack.manage("refresh_specs", "--force", "notes")
        own.forget()
        (approval_id,) = stack.db("SELECT id FROM interactions_pendingapproval WHERE reference = ?", reference)[0]
        response = admin.post("/admin/control/approvals/", {"approval": approval_id, "approve": "Approve"})
        assert response.status_code == 302
        message = admin.http.get("/admin/control/approvals/").text
        assert f"{reference} was not sent" in message and "the spec now has DELETE for updateNote, not PUT" in message
        assert own.calls("/api/") == []
        assert stack.db("SELECT state, sealed_arguments FROM interactions_pendingapproval WHERE reference = ?", reference) == [
            ("changed", None)]

        # Back to PUT: a new request waits, is approved, and the service gets the real values once.
        own.publish("/notes/spec.json", notes_spec(own.base))
        stack.manage("refresh_specs", "--force", "notes")
        reference = re.search(r"APR-[0-9A-F]{8}", stack.call("notes__updateNote", arguments)).group(0)
        (approval_id,) = stack.db("SELECT id FROM interactions_pendingapproval WHERE reference = ?", reference)[0]
        assert admin.post("/admin/control/approvals/", {"approval": approval_id, "approve": "Approve"}).status_code == 302
        (sent,) = own.calls("/api/")
        assert (sent["method"], sent["path"], json.loads(sent["body"])) == ("PUT", "/api/notes/5", arguments["body"])
        with stack.client() as client:
            logged = client.get("/logs", params={"limit": 20}).text
        assert reference in logged and "[redacted]" in logged and password not in logged.replace("\\/", "/")
        # The last test looks for both values everywhere (database file, logs, Typesense, server log).
    finally:
        admin.close()


def test_9_the_music_api_is_callable_with_a_refresh_token_an_admin_set(stack):
    own = stack.own
    document = yaml.safe_load(require(SPOTIFY).read_text())
    document["servers"] = [{"url": f"{own.base}/v1"}]
    flow = document["components"]["securitySchemes"]["oauth_2_0"]["flows"]["authorizationCode"]
    assert set(document["components"]["securitySchemes"]["oauth_2_0"]["flows"]) == {"authorizationCode"}
    flow["tokenUrl"] = f"{own.base}/api/token"  # as accounts.spotify.com/api/token, on the API's origin here
    refresh, client_secret = f"refresh/{os.urandom(6).hex()}", f"app-secret/{os.urandom(6).hex()}"
    own.oauth(client_id="music-app", client_secret=client_secret, refresh_tokens={refresh}, require_token="/v1/",
              token_path="/api/token")
    stack.register("music", own.publish("/music/spec.json", document))
    listing = stack.manage("service_credential", "list", "music").stdout
    stack.set_secret("music", "oauth_2_0", json.dumps({"refresh_token": refresh, "client_id": "music-app",
                                                       "client_secret": client_secret}))
    answer = stack.call("music__get-an-album", {"id": "4aawyAB9vmqN3uQ7FjRGTy", "market": "ES"})
    assert '"service": "own"' in answer and "/v1/albums/4aawyAB9vmqN3uQ7FjRGTy" in answer.replace("\\/", "/")
    assert len(own.calls("/api/token")) == 1
    own.revoke_tokens()  # the API forgets its tokens: a 401, one refresh, the call again
    answer = stack.call("music__get-an-album", {"id": "4aawyAB9vmqN3uQ7FjRGTy", "market": "ES"})
    assert '"service": "own"' in answer and len(own.calls("/api/token")) == 2
    # ok, then 401 and ok again on the worker that held the revoked token; or ok, ok when the
    # other gunicorn worker (its own token cache) took the second call and refreshed at once.
    # The 401-then-refresh path itself is checked in process (tests/test_secret_origins.py).
    albums = own.calls("/v1/albums/")
    assert len(albums) in (2, 3) and albums[-1]["headers"]["Authorization"] == f"Bearer {own.issued[-1]}"
    USED_SECRETS.extend(own.issued)
    assert "oauth_2_0\tmissing" in listing and "authorizationCode" in listing


def test_a_base_url_override_holds_the_secrets_and_the_spec_host_gets_none_of_them(stack):
    own, foreign = stack.own, stack.foreign
    secrets = _secrets("override")
    stack.register("pointed", own.publish("/pointed/spec.json", vault_spec(own.base)))
    _set_all(stack, "pointed", secrets)
    assert '"service": "own"' in stack.call("pointed__echoKeys")
    out = stack.manage("service_base_url", "pointed", f"{foreign.base}/api").stdout
    assert f"now calls {foreign.base}/api" in out
    own.forget()
    assert _held(stack.call("pointed__echoKeys"))
    stack.manage("service_credential", "confirm-origin", "pointed")
    stack.call("pointed__echoKeys")  # whichever base URL the caller uses, the secrets go only to the override
    assert not any(own.received(v) for v in secrets.values())


def test_a_confirmed_base_url_override_receives_the_calls(stack):
    foreign = stack.foreign
    stack.register("pointed-too", stack.own.publish("/pointed-too/spec.json", vault_spec(stack.own.base)))
    secrets = _secrets("override-too")
    _set_all(stack, "pointed-too", secrets)
    stack.manage("service_base_url", "pointed-too", f"{foreign.base}/api")
    stack.manage("service_credential", "confirm-origin", "pointed-too")
    assert '"service": "foreign"' in stack.call("pointed-too__echoKeys")
    assert foreign.received(secrets["headerKey"])


def test_after_the_echo_scenarios_the_secrets_are_nowhere(stack, typesense):
    assert len(USED_SECRETS) >= 4, "run with the scenarios above"
    with stack.client() as client:
        worker = stack.manage("typesense_sync", "--once")
        places = {
            "GET /logs": client.get("/logs", params={"limit": 1000}).text,
            "logs_export": stack.manage("logs_export").stdout,
            "worker output": worker.stdout + worker.stderr,
        }
    assert "echo__echoKeys" in places["GET /logs"] and "[redacted]" in places["GET /logs"]
    with httpx.Client(base_url=typesense.url, headers={"X-TYPESENSE-API-KEY": TYPESENSE_KEY}) as search:
        prefix = stack.env["TYPESENSE_COLLECTION_PREFIX"]
        names = [c["name"] for c in search.get("/collections").json() if c["name"].startswith(prefix)]
        places["Typesense"] = "".join(search.get(f"/collections/{name}/documents/export").text for name in names)
    assert "echoKeys" in places["Typesense"]
    places["server log"] = (stack.var_dir / "server.log").read_text()
    places["database file"] = b"".join(p.read_bytes() for p in Path(stack.var_dir).glob("db.sqlite3*")).decode("latin-1")
    values = set(USED_SECRETS)
    for value in list(values):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            values |= {str(v) for k, v in parsed.items() if k != "client_id"}
        elif ":" in value:
            values.add(value.split(":", 1)[1])
    for where, text in places.items():
        lowered = text.lower().replace("\\/", "/")
        for value in values:
            assert value.lower() not in lowered, f"a secret is in {where}"
