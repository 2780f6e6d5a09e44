"""Hostile specs, services and requests against the production server (gunicorn, two
workers of four threads) with a hostile spec-and-service server and a scripted
OpenAI-compatible model on loopback: no user can slow down, break or fool the service
for the others. One server for the module; short deadlines keep it quick."""

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, TYPESENSE_KEY, _wait_http, free_port
from tests.hostile_fixtures import HostileServer, ScriptedModel

pytestmark = pytest.mark.slow

DEADLINE = 2.0
API_KEY, ADMIN_KEY = "hostile-test-api-key-0123456789", "hostile-test-admin-key-0123456789"


class Server:
    def __init__(self, url, var_dir, process, hostile, model):
        self.url, self.var_dir, self.process, self.hostile, self.model = url, var_dir, process, hostile, model

    def client(self, source: str | None = None, **kwargs) -> httpx.Client:
        transport = httpx.HTTPTransport(local_address=source) if source else None
        return httpx.Client(base_url=self.url, transport=transport, timeout=30,
                            headers={"X-API-KEY": API_KEY, "X-ADMIN-API-KEY": ADMIN_KEY}, **kwargs)

    def db(self, sql: str, *args) -> list:
        with sqlite3.connect(self.var_dir / "db.sqlite3") as connection:
            return connection.execute(sql, args).fetchall()

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def register(self, service_id: str, path: str):
        with self.client() as client:
            response = client.post("/services/register", json={
                "id": service_id, "name": service_id.title(), "description": f"{service_id} under test",
                "openapi_url": self.hostile.url(path), "tags": ["hostile"]})
        assert response.status_code == 201, response.text

    def wait_for_snapshot(self, service_id: str, seconds: float = 15) -> tuple:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            rows = self.db("SELECT fetched_at, error FROM prompts_specsnapshot WHERE service_id = ?", service_id)
            if rows and (rows[0][0] or rows[0][1]):
                return rows[0]
            time.sleep(0.1)
        raise AssertionError(f"no snapshot for {service_id}")

    def interact(self, user_input, client=None) -> httpx.Response:
        if client is not None:
            return client.post("/interact", json={"user_input": user_input})
        with self.client() as own:
            return own.post("/interact", json={"user_input": user_input})

    def last_log(self) -> tuple:
        return self.db("SELECT id, user_input, outcome, error FROM interactions_interactionlog ORDER BY id DESC LIMIT 1")[0]


@pytest.fixture(scope="module")
def server(typesense, tmp_path_factory):
    hostile, model = HostileServer(), ScriptedModel()
    var_dir = tmp_path_factory.mktemp("hostile")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ensemble_project.settings.test",
        "ENSEMBLE_VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir / 'db.sqlite3'}",
        "ENSEMBLE_API_KEY": API_KEY, "ENSEMBLE_ADMIN_API_KEY": ADMIN_KEY,
        "TYPESENSE_URLS": typesense.url, "TYPESENSE_API_KEY": TYPESENSE_KEY,
        "TYPESENSE_COLLECTION_PREFIX": f"hostile{port}_",
        "ENSEMBLE_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1",
        "ENSEMBLE_HTTP_TIMEOUT_SECONDS": str(DEADLINE),
        "ENSEMBLE_SPEC_FETCH_ON_WRITE": "1", "ENSEMBLE_SPEC_FETCH_IN_BACKGROUND": "1", "ENSEMBLE_SPEC_WAIT_SECONDS": "1",
        "ENSEMBLE_ASSISTANT_BACKEND": "openai", "OPENAI_BASE_URL": model.base_url, "OPENAI_API_KEY": "test-key",
        "OPENAI_MODEL": "scripted", "OPENAI_MAX_RETRIES": "0", "OPENAI_TIMEOUT_SECONDS": "10",
        "ENSEMBLE_AUTH_FAILURE_RATE": "20/minute", "ENSEMBLE_OUTBOUND_BREAKER_FAILURES": "5",
        "ENSEMBLE_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4",
        "GUNICORN_TIMEOUT": "60", "PROMETHEUS_MULTIPROC_DIR": str(var_dir / "metrics"),
    }
    env.pop("DRF_NUM_PROXIES", None)  # the default: no proxy in front
    for command in (["migrate", "--noinput"], ["bootstrap_keys"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)
    with open(var_dir / "server.log", "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "ensemble_project/gunicorn.conf.py"],
                                   cwd=ROOT, env=env, stdout=log, stderr=log)
    server = Server(f"http://127.0.0.1:{port}", var_dir, process, hostile, model)
    try:
        _wait_http(server.url + "/healthz")
        server.register("api", "/spec/api.json")
        assert server.wait_for_snapshot("api")[0]
        # Warm both workers (a worker's first interaction loads the model client), so the
        # timings below measure the hostile service, not a cold start.
        script = model.script("warm up", "api__getItem", {"id": "1"})
        for _ in range(3):
            with ThreadPoolExecutor(8) as pool:
                assert all(r.status_code == 200 for r in pool.map(lambda _: server.interact(script), range(8)))
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)
        hostile.close()
        model.close()


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) >= {"errorCode", "message", "details"}
    return body


def _api_still_works(server):
    """Other services' prompts and interactions are unaffected."""
    with server.client() as client:
        prompt = client.get("/system-prompt", params={"service_ids": "api"})
        assert prompt.status_code == 200 and "getItem" in prompt.json()["system_prompt"]
    script = server.model.script("get item 7", "api__getItem", {"id": "7"})
    response = server.interact(script)
    assert response.status_code == 200, response.text
    assert '/api/v1/items/7' in response.json()["service_responses"][0]["response"]


# --- 1. slow headers: one deadline, a bulkhead, and spec fetching off the request path ------


def test_a_service_trickling_its_headers_holds_no_thread_past_the_deadline(server):
    server.register("slowpoke", "/spec/slow.json")
    assert server.wait_for_snapshot("slowpoke")[0]
    script = server.model.script("wait for slowpoke", "slowpoke__waitSlow", {})
    probes, stop = [], threading.Event()

    def probe():
        with server.client() as client:
            while not stop.is_set():
                for path in ("/healthz", "/services"):
                    started = time.monotonic()
                    assert client.get(path).status_code == 200
                    probes.append(time.monotonic() - started)
                time.sleep(0.02)

    def hostile_call(_):
        started = time.monotonic()
        response = server.interact(script)
        return time.monotonic() - started, response

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        time.sleep(0.3)
        with ThreadPoolExecutor(10) as pool:
            results = list(pool.map(hostile_call, range(10)))
    finally:
        stop.set()
        prober.join()
    durations = [d for d, _ in results]
    answers = [r.json()["service_responses"][0]["response"] for _, r in results]
    assert all(r.status_code == 200 for _, r in results)
    assert max(durations) < DEADLINE + 1, durations
    # Waited for the deadline, or refused at once because the service already held its share.
    assert all("did not answer within" in a or "in flight" in a or "skipped" in a for a in answers), answers
    assert any("did not answer within" in a for a in answers)
    p95 = statistics.quantiles(probes, n=20)[18]
    assert p95 < 0.1, f"p95 {p95 * 1000:.0f} ms over {len(probes)} probes"
    assert len(server.hostile.received("/slow/wait")) <= 4  # 2 per worker at most


def test_a_spec_server_trickling_its_headers_is_fetched_once_off_the_request_path(server):
    server.register("trickler", "/trickle")
    started = time.monotonic()
    with server.client() as client, ThreadPoolExecutor(10) as pool:
        interactions = list(pool.map(lambda _: server.interact("hello", client), range(6)))
        prompts = list(pool.map(lambda _: client.get("/system-prompt", params={"service_ids": "trickler"}), range(4)))
    assert time.monotonic() - started < DEADLINE + 1
    assert all(r.status_code == 200 for r in interactions)
    for response in prompts:
        body = _error(response, 400)
        assert body["errorCode"] == "SPEC_UNAVAILABLE" and "trickler" in body["details"]
    # One fetch in flight per worker process (the one started on registration is shared).
    assert 1 <= len(server.hostile.received("/trickle")) <= 2
    assert "did not answer within" in server.wait_for_snapshot("trickler", DEADLINE + 5)[1]


# --- 2, 3. $ref chains and bombs -------------------------------------------------------------


def _peak_rss_while(server, action) -> tuple[float, object]:
    peak, stop = [0], threading.Event()

    def sample():
        while not stop.is_set():
            for pid in server.workers():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except FileNotFoundError:
                    continue
                rss = int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024
                peak[0] = max(peak[0], rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        result = action()
    finally:
        stop.set()
        sampler.join()
    return peak[0], result


@pytest.mark.parametrize("service_id,path,fragment", [
    ("chain", "/spec/chain.json", "$ref chain is longer"),
    ("bomb", "/spec/bomb.json", "expand to more than"),
    ("deep", "/spec/deep.yml", "maximum nesting depth"),
])
def test_ref_chains_bombs_and_deep_yaml_are_errors_on_the_snapshot(server, service_id, path, fragment):
    def register_and_ask():
        server.register(service_id, path)
        started = time.monotonic()
        with server.client() as client:
            response = client.get("/system-prompt", params={"service_ids": service_id})
        return time.monotonic() - started, response

    peak_mb, (elapsed, response) = _peak_rss_while(server, register_and_ask)
    assert peak_mb < 300, peak_mb
    assert elapsed < 2, elapsed
    body = _error(response, 400)
    assert body["errorCode"] == "SPEC_UNAVAILABLE"
    fetched_at, error = server.wait_for_snapshot(service_id)
    assert fetched_at is None and fragment in error
    # /interact keeps working, logged; the broken service is simply left out.
    before = server.last_log()[0]
    _api_still_works(server)
    assert server.last_log()[0] > before


# --- 4. client addresses ------------------------------------------------------------------------


def test_x_forwarded_for_is_not_believed_without_a_proxy(server):
    # Changing X-Forwarded-For does not dodge the key-guessing limit (20/minute)...
    with server.client("127.0.0.5") as guesser:
        statuses = [guesser.get("/services", headers={"X-API-KEY": f"ens_wrong{i}", "X-ADMIN-API-KEY": "",
                                                      "X-Forwarded-For": f"203.0.113.{i}"}).status_code
                    for i in range(22)]
    assert statuses[:20] == [401] * 20 and statuses[20:] == [429, 429]
    # ...and naming someone else's address does not lock them out.
    with server.client("127.0.0.6") as attacker:
        for i in range(21):
            attacker.get("/services", headers={"X-API-KEY": f"ens_bad{i}", "X-Forwarded-For": "127.0.0.7"})
    with server.client("127.0.0.7") as victim:
        assert victim.get("/services").status_code == 200


@pytest.mark.django_db
def test_behind_one_proxy_the_address_it_appended_is_the_client(settings, api_keys):
    from rest_framework.test import APIClient

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    settings.ENSEMBLE_AUTH_FAILURE_RATE = "3/minute"
    proxy = APIClient(REMOTE_ADDR="10.0.0.1")
    for i in range(3):  # what the client put in front of the header changes; the proxy's entry does not
        response = proxy.get("/services", HTTP_X_API_KEY="ens_wrong", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}, 198.51.100.7")
        assert response.status_code == 401
    assert proxy.get("/services", HTTP_X_API_KEY=api_keys["api"], HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429
    assert proxy.get("/services", HTTP_X_API_KEY=api_keys["api"], HTTP_X_FORWARDED_FOR="198.51.100.8").status_code == 200


# --- 5, 6, 11. arguments that would not reach the operation chosen ----------------------------


@pytest.mark.parametrize("name,tool,arguments,fragment", [
    ("header café", "api__traceThing", {"X-Trace": "café"}, "X-Trace: header values must be printable ASCII"),
    ("header newline", "api__traceThing", {"X-Trace": "a\r\nX-Admin: 1"}, "printable ASCII"),
    ("delete dot", "api__deleteItem", {"id": "."}, "'.' is not a usable path segment"),
    ("delete dotdot", "api__deleteItem", {"id": ".."}, "'..' is not a usable path segment"),
    ("delete empty", "api__deleteItem", {"id": ""}, "is not a usable path segment"),
])
def test_unsafe_arguments_are_refused_and_logged(server, name, tool, arguments, fragment):
    before = len(server.hostile.requests)
    response = server.interact(server.model.script(name, tool, arguments))
    assert response.status_code == 200, response.text
    reported = response.json()["service_responses"][0]["response"]
    assert "invalid arguments" in reported and fragment in reported
    assert server.hostile.requests[before:] == []  # nothing was sent: no collection deleted
    _, user_input, outcome, _ = server.last_log()
    assert user_input == name and outcome == "calls_failed"  # logged, and not counted as answered


def test_an_8_mb_argument_is_refused_and_stored_truncated_with_its_hash(server):
    before = len(server.hostile.requests)
    response = server.interact(server.model.script("big body", "api__echo", {"body": {"blob": "x" * 8_000_000}}))
    assert response.status_code == 200, response.text
    assert "the arguments take 8000022 bytes; the limit is 262144" in response.json()["service_responses"][0]["response"]
    assert server.hostile.requests[before:] == []
    log_id = server.last_log()[0]
    (stored,) = server.db("SELECT request FROM interactions_servicecall WHERE log_id = ?", log_id)[0]
    assert len(stored) < 5000
    stored = json.loads(stored)
    assert stored["truncated"] and stored["bytes"] == 8000022 and len(stored["sha256"]) == 64


# --- 7, 8, 9. hostile request bodies -------------------------------------------------------------


def test_deeply_nested_json_is_a_400_and_logged(server):
    with server.client() as client:
        _error(client.post("/services/register", content=b"[" * 100_000, headers={"Content-Type": "application/json"}), 400)
        before = server.last_log()[0]
        body = _error(client.post("/interact", content=b'{"user_input": ' + b"[" * 100_000,
                                  headers={"Content-Type": "application/json"}), 400)
        assert "nested deeper" in body["message"]
        # 65 levels is already too deep, but well-formed.
        deep = json.dumps({"user_input": "hi", "x": json.loads("[" * 65 + "]" * 65)})
        _error(client.post("/interact", content=deep, headers={"Content-Type": "application/json"}), 400)
    rows = server.db("SELECT outcome, error FROM interactions_interactionlog WHERE id > ? ORDER BY id", before)
    assert [r[0] for r in rows] == ["rejected", "rejected"] and all("nested deeper" in r[1] for r in rows)


@pytest.mark.parametrize("raw,stored", [
    (b'{"user_input": "caf\\ud800 ok"}', "caf\\ud800 ok"),
    (b'{"user_input": "a\\u0000b"}', "a\\u0000b"),
])
def test_input_that_is_not_text_is_a_400_and_logged_in_a_storable_form(server, raw, stored):
    with server.client() as client:
        _error(client.post("/interact", content=raw, headers={"Content-Type": "application/json"}), 400)
    _, user_input, outcome, _ = server.last_log()
    assert user_input == stored and outcome == "rejected"


def test_a_model_answering_with_text_that_cannot_be_stored_is_answered_and_logged_escaped(server):
    response = server.interact(server.model.script("odd model", None, {"say": "bad \ud800 and \x00 text"}))
    assert response.status_code == 200, response.text
    assert response.json()["assistant_response"] == "bad \\ud800 and \\u0000 text"
    (stored,) = server.db("SELECT assistant_response FROM interactions_interactionlog WHERE user_input = 'odd model'")[0]
    assert stored == "bad \\ud800 and \\u0000 text"


def test_chunked_bodies_are_read(server):
    def chunks(data: bytes):
        for start in range(0, len(data), 7):
            yield data[start:start + 7]

    with server.client() as client:
        response = client.post("/interact", content=chunks(json.dumps({"user_input": "chunked hello"}).encode()),
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 200, response.text
        assert server.last_log()[1] == "chunked hello"
        too_big = json.dumps({"user_input": "x" * 300_000}).encode()
        body = _error(client.post("/interact", content=chunks(too_big), headers={"Content-Type": "application/json"}), 400)
        assert body["errorCode"] == "PAYLOAD_TOO_LARGE"


# --- 10. metrics labels ---------------------------------------------------------------------------


def test_made_up_methods_do_not_create_metric_series(server):
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    with server.client() as client:
        for i in range(60):
            client.request("PROBE" + letters[i // 26] + letters[i % 26], "/services")
        metrics = client.get("/metrics").text
    series = [line for line in metrics.splitlines() if line.startswith("ensemble_http_requests_total{")]
    assert not [line for line in series if "PROBE" in line]
    assert any('method="other"' in line and 'operation="listServices"' in line for line in series)
    assert len(series) < 60


# --- name resolution -------------------------------------------------------------------------------


def test_a_resolver_that_never_answers_is_cut_off_at_the_deadline(monkeypatch):
    """getaddrinfo has its own timeouts and retries (tens of seconds with a dead DNS
    server) and cannot be interrupted. Here it never answers (until released): every
    request, more than the resolver pool has threads, still ends at its own deadline,
    and resolution works again once the DNS server answers."""
    import socket

    from outbound.http import OutboundError, guarded_request

    real_getaddrinfo, released = socket.getaddrinfo, threading.Event()

    def dead_dns_server(host, *args, **kwargs):
        if host == "spec.unanswered.test":
            released.wait(30)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        if host == "spec.answered.test":
            return real_getaddrinfo("127.0.0.1", *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", dead_dns_server)
    hostile = HostileServer()

    def fetch(n):  # each as if for another service: no bulkhead in the way
        started = time.monotonic()
        try:
            guarded_request("GET", "http://spec.unanswered.test/openapi.yml", key=f"dns-test-{n}", max_bytes=1000,
                            timeout=0.5)
        except OutboundError as failure:
            return failure.code, time.monotonic() - started
        return "sent", time.monotonic() - started

    try:
        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(fetch, range(8)))
        assert {code for code, _ in outcomes} == {"TIMEOUT"}, outcomes
        assert max(elapsed for _, elapsed in outcomes) < 1.0, outcomes
        released.set()
        result = guarded_request("GET", hostile.url("/spec/slow.json").replace("127.0.0.1", "spec.answered.test"),
                                 key="dns-test-after", max_bytes=100_000)
        assert result.status == 200
    finally:
        released.set()
        hostile.close()


# --- the circuit breaker ----------------------------------------------------------------------------


def test_a_service_that_keeps_failing_is_skipped_for_a_while_then_tried_again(settings):
    from outbound.http import OutboundError, breaker_status, guarded_request

    settings.ENSEMBLE_OUTBOUND_BREAKER_FAILURES, settings.ENSEMBLE_OUTBOUND_BREAKER_SECONDS = 2, 0.5
    hostile = HostileServer()
    try:
        codes = []
        for _ in range(3):
            started = time.monotonic()
            with pytest.raises(OutboundError) as failure:
                guarded_request("GET", hostile.url("/slow/wait"), key="breaker-test", max_bytes=1000, timeout=0.3)
            codes.append((failure.value.code, time.monotonic() - started < 0.5))
        assert codes == [("TIMEOUT", True), ("TIMEOUT", True), ("CIRCUIT_OPEN", True)]
        assert len(hostile.received("/slow/wait")) == 2  # the third was not sent
        assert breaker_status("breaker-test").startswith("open for")
        time.sleep(0.6)
        assert breaker_status("breaker-test").startswith("half-open")
        result = guarded_request("GET", hostile.url("/spec/slow.json"), key="breaker-test", max_bytes=100_000)
        assert result.status == 200 and breaker_status("breaker-test") == "closed"
    finally:
        hostile.close()


def test_a_healthy_service_busier_than_its_slots_is_queued_not_refused():
    """Four requests at once in one process to a service that answers in 0.6 s: two are
    sent, two wait for the slots they free (twice its usual answer time), and none is
    refused. A service that only times out still gets the short wait (the test above)."""
    from outbound.http import guarded_request

    hostile = HostileServer()
    try:
        first = guarded_request("GET", hostile.url("/steady"), key="steady-test", max_bytes=1000)
        assert first.status == 200

        def call(_):
            started = time.monotonic()
            guarded_request("GET", hostile.url("/steady"), key="steady-test", max_bytes=1000)
            return time.monotonic() - started

        with ThreadPoolExecutor(4) as pool:
            durations = sorted(pool.map(call, range(4)))
        assert len(hostile.received("/steady")) == 5
        assert durations[-1] < 2 * 0.6 + 0.5, durations  # the last two waited one turn
    finally:
        hostile.close()


@pytest.mark.django_db
def test_arguments_and_replies_that_cannot_be_stored_are_logged_escaped(client_api, demo_services, fake_openai):
    """In-process, on the suite's database (PostgreSQL refuses NUL and unpaired surrogates even in JSON)."""
    from interactions.models import InteractionLog, ServiceCall
    from tests.fake_openai import tool_call

    fake_openai.script(
        {"content": None, "tool_calls": [tool_call("action-service__createAction",
                                                   '{"body": {"characterId": 1, "description": "a\\u0000b \\ud800"}}')]},
        {"content": "recorded \ud800"},
    )
    response = client_api.post("/interact", {"user_input": "record an odd action"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["assistant_response"] == "recorded \\ud800"
    log = InteractionLog.objects.get()
    call = ServiceCall.objects.get(log=log)
    assert call.request["truncated"] and len(call.request["sha256"]) == 64 and "\\u0000" not in call.request["preview"]


@pytest.mark.django_db
def test_a_server_that_cannot_read_chunked_bodies_says_so(client_api):
    # Django's test server, like runserver, does not decode chunks (no wsgi.input_terminated).
    response = client_api.generic("POST", "/interact", b"", content_type="application/json",
                                   HTTP_TRANSFER_ENCODING="chunked")
    body = _error(response, 400)
    assert body["errorCode"] == "LENGTH_REQUIRED" and "Content-Length" in body["details"]


@pytest.mark.django_db
def test_the_admin_shows_each_services_circuit_breaker(client, django_user_model, file_server, settings):
    from outbound.http import OutboundError
    from prompts.services import spec_refresh
    from registry import services

    settings.ENSEMBLE_OUTBOUND_BREAKER_FAILURES, settings.ENSEMBLE_OUTBOUND_BREAKER_SECONDS = 1, 5
    service = services.service_register(id="down", name="Down", description="", openapi_url="http://127.0.0.1:9/x", tags=[])
    assert "Cannot reach" in spec_refresh(service=service).error
    with pytest.raises(OutboundError, match="skipped"):
        from outbound.http import guarded_request

        guarded_request("GET", "http://127.0.0.1:9/x", key="down", max_bytes=100)
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "pw"))
    page = client.get("/admin/prompts/specsnapshot/").content.decode()
    assert "circuit breaker (this process)" in page.lower() and "open for" in page
