"""The MCP endpoint (/mcp) with the official MCP Python SDK's own client over Streamable
HTTP, against gunicorn with the production configuration, and the demo FountainAI
services answering over real HTTP."""

import json
import os
import subprocess
import sys
import threading
import time
from contextlib import asynccontextmanager

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.conftest import ROOT, TYPESENSE_KEY, RunningServer, _wait_http, free_port

# Short in the suite; bench/mcp_soak.py runs the same load for 30 s.
SOAK_SECONDS = float(os.environ.get("MCP_SOAK_SECONDS", "10"))
PAGE_SIZE, MAX_LISTED_OPERATIONS = 4, 4
ALLOWED_ORIGIN = "https://inspector.example.com"  # a web page allowed to call /mcp (ENSEMBLE_MCP_ALLOWED_ORIGINS)


@pytest.fixture(scope="module")
def demo():
    """The demo services, recording every request they receive."""
    from demo.server import make_server

    server = make_server(0)
    received = []

    class Recording(server.RequestHandlerClass):
        def do_GET(self):
            received.append(("GET", self.path))
            super().do_GET()

        def do_POST(self):
            received.append(("POST", self.path))
            super().do_POST()

    server.RequestHandlerClass = Recording
    server.received = received
    server.base = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def mcp_server(typesense, demo, tmp_path_factory):
    """gunicorn (2 workers × 4 threads, the production config) with the demo services
    registered through the REST API, and small tools/list pages and listing cap."""
    var_dir = tmp_path_factory.mktemp("mcp-server")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ensemble_project.settings.test",
        "ENSEMBLE_VAR_DIR": str(var_dir),
        "DATABASE_URL": own_database(f"mcp_{port}") or f"sqlite:///{var_dir / 'db.sqlite3'}",
        "ENSEMBLE_API_KEY": "mcp-test-api-key-0123456789",
        "ENSEMBLE_ADMIN_API_KEY": "mcp-test-admin-key-0123456789",
        "TYPESENSE_URLS": typesense.url,
        "TYPESENSE_API_KEY": TYPESENSE_KEY,
        "TYPESENSE_COLLECTION_PREFIX": f"mcp{port}_",
        "ENSEMBLE_MCP_PAGE_SIZE": str(PAGE_SIZE),
        "ENSEMBLE_MCP_MAX_LISTED_OPERATIONS": str(MAX_LISTED_OPERATIONS),
        "ENSEMBLE_MCP_ALLOWED_ORIGINS": ALLOWED_ORIGIN,
    }
    server = RunningServer(f"http://127.0.0.1:{port}", env["ENSEMBLE_API_KEY"], env["ENSEMBLE_ADMIN_API_KEY"], env, var_dir)
    server.manage("migrate", "--noinput")
    server.manage("bootstrap_keys")
    gunicorn_env = {**env, "ENSEMBLE_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4",
                    "PROMETHEUS_MULTIPROC_DIR": str(var_dir / "metrics")}
    with open(server.log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "ensemble_project/gunicorn.conf.py"],
                                   cwd=ROOT, env=gunicorn_env, stdout=log, stderr=log)
    try:
        _wait_http(server.url + "/healthz")
        admin = {"X-API-KEY": server.api_key, "X-ADMIN-API-KEY": server.admin_key}
        for prefix in ("character", "action"):
            response = httpx.post(server.url + "/services/register", headers=admin, json={
                "id": f"{prefix}-service", "name": f"{prefix.title()} Service", "description": f"The demo {prefix} service.",
                "openapi_url": f"{demo.base}/{prefix}/openapi.yml", "tags": ["demo"]})
            assert response.status_code == 201, response.text
        # Tools come from fetched specs; /system-prompt waits for the fetch (tool calls never do).
        response = httpx.get(server.url + "/system-prompt", params={"service_ids": ["character-service", "action-service"]},
                             headers=admin, timeout=30)
        assert response.status_code == 200, response.text
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)
        own_database(f"mcp_{port}", drop=True)


def own_database(name: str, drop: bool = False) -> str | None:
    """On the PostgreSQL pass, a database of this server's own (other tests' servers
    share the main one and register services of their own); None on SQLite."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return None
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)" if drop else f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name


@asynccontextmanager
async def connect(server, headers=None, mode="legacy"):
    headers = {"X-API-KEY": server.api_key} if headers is None else headers
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with Client(streamable_http_client(server.url + "/mcp", http_client=http), mode=mode) as client:
            yield client


async def all_tool_names(client) -> list[str]:
    names, cursor, pages = [], None, 0
    while True:
        result = await client.list_tools(cursor=cursor) if cursor else await client.list_tools()
        assert len(result.tools) <= PAGE_SIZE
        names += [tool.name for tool in result.tools]
        pages += 1
        cursor = result.next_cursor
        if not cursor:
            return names
        assert pages < 20


def answer(result) -> dict:
    return json.loads(result.content[0].text)


def logs(server, limit=1000, offset=0) -> list[dict]:
    response = httpx.get(server.url + "/logs", params={"limit": limit, "offset": offset}, headers={"X-API-KEY": server.api_key})
    assert response.status_code == 200
    return response.json()["logs"]


def mcp_errors(excinfo) -> list[MCPError]:
    found, stack = [], [excinfo.value]
    while stack:
        error = stack.pop()
        if isinstance(error, MCPError):
            found.append(error)
        stack += list(getattr(error, "exceptions", []))
    return found


def test_sdk_client_initialises_lists_pages_and_calls_an_operation_which_is_logged(mcp_server, demo):
    async def scenario():
        async with connect(mcp_server) as client:
            assert client.session.initialize_result.server_info.name == "fountainai-ensemble"
            names = await all_tool_names(client)
            own = ["list_services", "system_prompt", "search_logs", "search_operations", "call_operation"]
            assert names[:5] == own and len(names) == len(set(names)) == 5 + MAX_LISTED_OPERATIONS
            # Five operations, four listed: the one left out is found by search_operations.
            assert "character-service__getCharacter" not in names
            found = answer(await client.call_tool("search_operations", {"query": "get one character by id"}))["operations"]
            assert found[0]["name"] == "character-service__getCharacter"
            assert found[0]["inputSchema"]["required"] == ["characterId"]

            result = await client.call_tool("character-service__getCharacter", {"characterId": 1})
            assert not result.is_error
            assert answer(result) == {"status": 200, "body": {"characterId": 1, "name": "John Doe",
                                                              "description": "A restless detective."}}
            # Used now, so it is among the most useful operations listed first.
            assert "character-service__getCharacter" in await all_tool_names(client)
            services = answer(await client.call_tool("list_services", {"tags": ["demo"]}))["services"]
            assert [(s["id"], s["tags"]) for s in services] == [("action-service", ["demo"]), ("character-service", ["demo"])]
            prompt = await client.call_tool("system_prompt", {"service_ids": ["character-service"]})
            assert "getCharacter" in prompt.content[0].text and not prompt.is_error
        # The 2026-07-28 revision (no handshake, one self-contained request each), with a Bearer key.
        async with connect(mcp_server, {"Authorization": f"Bearer {mcp_server.api_key}"}, mode="auto") as client:
            assert client.session.initialize_result is None
            result = await client.call_tool("call_operation", {"name": "character-service__getCharacter",
                                                               "arguments": {"characterId": 2}})
            assert answer(result)["body"]["name"] == "Jane Roe"

    anyio.run(scenario)
    assert ("GET", "/character/characters/1") in demo.received
    entries = [e for e in logs(mcp_server) if e["user_input"].startswith("tools/call character-service__getCharacter")]
    assert entries[-1]["user_input"] == 'tools/call character-service__getCharacter {"characterId": 1}'
    assert "John Doe" in entries[-1]["service_responses"][0]["response"]
    assert entries[-1]["service_responses"][0]["service_name"] == "Character Service"
    # The log reaches Typesense like every interaction log (the worker, once).
    mcp_server.manage("typesense_migrate")
    mcp_server.manage("typesense_sync", "--once")
    assert mcp_server.status_code() == 0

    async def search():  # the same search as GET /logs?q=: typos forgiven, filtered by service
        async with connect(mcp_server) as client:
            found = answer(await client.call_tool("search_logs", {"text": "Jon Doe", "service_id": "character-service"}))
            elsewhere = answer(await client.call_tool("search_logs", {"text": "John Doe", "service_id": "action-service"}))
            return found["logs"], elsewhere["logs"]

    found, elsewhere = anyio.run(search)
    assert found and "John Doe" in found[0]["service_responses"][0]["response"]
    assert elsewhere == []


def test_refused_without_a_key_with_a_wrong_key_and_after_revocation(mcp_server):
    raw_key = mcp_server.manage("apikey", "create", "--name", "mcp client").stdout.strip()

    async def tools_with(headers):
        async with connect(mcp_server, headers) as client:
            return [t.name for t in (await client.list_tools()).tools]

    assert "list_services" in anyio.run(tools_with, {"X-API-KEY": raw_key})
    mcp_server.manage("apikey", "revoke", raw_key[:12])
    for headers in ({}, {"X-API-KEY": "wrong-key-0123456789abcdef"}, {"Authorization": "Bearer wrong-key-0123456789"},
                    {"X-API-KEY": raw_key}, {"Authorization": f"Bearer {raw_key}"}):
        with pytest.raises(BaseException) as excinfo:
            anyio.run(tools_with, headers)
        assert mcp_errors(excinfo), excinfo.value
        # Refused before the SDK sees the request: the contract's 401 ErrorResponse.
        raw = httpx.post(mcp_server.url + "/mcp", headers={**headers, "Accept": "application/json, text/event-stream"},
                         json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert raw.status_code == 401 and raw.json()["errorCode"] == "UNAUTHORIZED"


def test_bad_arguments_are_tool_errors_naming_the_argument_and_nothing_is_sent(mcp_server, demo):
    async def scenario():
        async with connect(mcp_server) as client:
            before = len(demo.received)
            texts = []
            for arguments in ({"characterId": "one"}, {"characterId": 0}, {}, {"characterId": 1, "verbose": True}):
                result = await client.call_tool("character-service__getCharacter", arguments)
                assert result.is_error
                texts.append(result.content[0].text)
            bad_body = await client.call_tool("character-service__createCharacter", {"body": {"name": ""}})
            assert bad_body.is_error and "body/name" in bad_body.content[0].text
            assert len(demo.received) == before  # nothing reached the service
            own = await client.call_tool("search_logs", {"limit": 500})
            assert own.is_error and "limit: 500 is greater than the maximum of 50" in own.content[0].text
            # The session goes on.
            assert not (await client.call_tool("character-service__getCharacter", {"characterId": 2})).is_error
            return texts

    texts = anyio.run(scenario)
    assert texts[0].startswith("Invalid arguments for character-service__getCharacter: characterId: 'one' is not of type")
    assert "characterId: 0 is less than the minimum of 1" in texts[1]
    assert "'characterId' is a required property" in texts[2]
    assert "'verbose' was unexpected" in texts[3]
    assert all("Nothing was sent to the service." in text for text in texts)


def test_read_only_service_offers_no_write_operation_and_registry_changes_reach_the_next_list(mcp_server, demo):
    mcp_server.manage("shell", "-c", (
        "from registry.services import service_register; from prompts.services import spec_refresh; "
        "spec_refresh(service=service_register(id='character-archive', "
        f"name='Character Archive', description='Read only.', openapi_url='{demo.base}/character/openapi.yml', "
        "read_only=True))"))

    async def scenario():
        async with connect(mcp_server) as client:
            found = answer(await client.call_tool("search_operations", {"query": "character", "limit": 50}))["operations"]
            archive = sorted(op["name"] for op in found if op["name"].startswith("character-archive__"))
            assert archive == ["character-archive__getCharacter", "character-archive__listCharacters"]
            before = len(demo.received)
            for call in (client.call_tool("character-archive__createCharacter", {"body": {"name": "Mallory"}}),
                         client.call_tool("call_operation", {"name": "character-archive__createCharacter",
                                                             "arguments": {"body": {"name": "Mallory"}}})):
                result = await call
                assert result.is_error and "Unknown tool 'character-archive__createCharacter'" in result.content[0].text
            assert len(demo.received) == before
            listed = answer(await client.call_tool("character-archive__listCharacters", {}))
            assert [c["name"] for c in listed["body"]] == ["John Doe", "Jane Roe"]  # Mallory was never created
            names = await all_tool_names(client)  # used once, so now among the listed ones
            assert "character-archive__listCharacters" in names and "character-archive__createCharacter" not in names

            # Deleting a service takes its tools away at the next tools/list and call.
            admin = {"X-API-KEY": mcp_server.api_key, "X-ADMIN-API-KEY": mcp_server.admin_key}
            assert httpx.delete(mcp_server.url + "/services/delete/character-archive", headers=admin).status_code == 200
            found = answer(await client.call_tool("search_operations", {"query": "character", "limit": 50}))["operations"]
            assert not [op for op in found if op["name"].startswith("character-archive__")]
            assert not [name for name in await all_tool_names(client) if name.startswith("character-archive__")]
            assert (await client.call_tool("character-archive__listCharacters", {})).is_error
            services = answer(await client.call_tool("list_services", {}))["services"]
            assert "character-archive" not in [s["id"] for s in services]

    anyio.run(scenario)
    refused = [e for e in logs(mcp_server, limit=20) if "character-archive__createCharacter" in e["user_input"]]
    assert len(refused) == 2 and all(not e["service_responses"] for e in refused)


def test_twenty_concurrent_sessions_calling_tools_without_errors_every_call_logged(mcp_server):
    calls, errors = [], []

    async def session(number: int, deadline: float):
        async with connect(mcp_server, mode="legacy" if number % 2 else "auto") as client:
            i = 0
            while time.monotonic() < deadline:
                marker = f"s{number:02d}c{i:04d}"
                try:
                    result = await client.call_tool("character-service__listCharacters", {"name": marker})
                    if result.is_error or answer(result) != {"status": 200, "body": []}:
                        errors.append((marker, result.content[0].text[:200]))
                except Exception as error:
                    errors.append((marker, repr(error)[:200]))
                calls.append(marker)
                i += 1

    async def run():
        deadline = time.monotonic() + SOAK_SECONDS
        async with anyio.create_task_group() as group:
            for number in range(20):
                group.start_soon(session, number, deadline)

    anyio.run(run)
    assert not errors, errors[:5]
    assert len(calls) >= 40
    logged = set()
    offset = 0
    while True:
        page = logs(mcp_server, limit=1000, offset=offset)
        logged |= {json.loads(e["user_input"].split(" ", 2)[2])["name"] for e in page
                   if e["user_input"].startswith("tools/call character-service__listCharacters {\"name\": \"s")}
        if len(page) < 1000:
            break
        offset += 1000
    assert logged == set(calls)
    print(f"{len(calls)} calls in {SOAK_SECONDS:.0f} s by 20 sessions, {len(calls) / SOAK_SECONDS:.1f} calls/s")


@pytest.mark.django_db
def test_mcp_requests_are_throttled_like_the_rest_api(settings, api_keys):
    from rest_framework.test import APIClient

    settings.ENSEMBLE_THROTTLE_RATE = "2/minute"
    client = APIClient()
    message = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    headers = {"HTTP_AUTHORIZATION": f"Bearer {api_keys['api']}", "HTTP_ACCEPT": "application/json, text/event-stream",
               "HTTP_MCP_PROTOCOL_VERSION": "2025-11-25"}
    statuses = [client.post("/mcp", message, format="json", **headers).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    response = client.post("/mcp", message, format="json", **headers)
    assert response.json()["errorCode"] == "RATE_LIMITED" and response["Retry-After"]
    # An unknown cursor is a JSON-RPC error, not a crash.
    settings.ENSEMBLE_THROTTLE_RATE = None
    listed = client.post("/mcp", {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {"cursor": "nonsense"}},
                         format="json", **headers)
    assert listed.status_code == 200 and listed.json()["error"]["message"].startswith("cursor:")


PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}


def test_mcp_refuses_web_pages_of_other_origins_against_dns_rebinding(mcp_server):
    """A page elsewhere (its name made to resolve to this server, or any site) gets the 403
    ErrorResponse before its key is looked at; a listed origin and clients that send no
    Origin (SDKs, servers) are served."""
    from tests.contract import assert_error

    def post(**headers):
        return httpx.post(mcp_server.url + "/mcp", json=PING, headers={**MCP_HEADERS, "X-API-KEY": mcp_server.api_key, **headers})

    for origin in ("http://evil.example", "http://127.0.0.1:8000", "null", ALLOWED_ORIGIN + ".evil.example"):
        body = assert_error(post(Origin=origin), None, 403, "FORBIDDEN")
        assert "ENSEMBLE_MCP_ALLOWED_ORIGINS" in body["details"] and origin in body["message"]
    # Refused before authentication: a page without the key learns nothing either.
    assert httpx.post(mcp_server.url + "/mcp", json=PING, headers={**MCP_HEADERS, "Origin": "http://evil.example"}).status_code == 403
    assert post(Origin=ALLOWED_ORIGIN).json() == {"jsonrpc": "2.0", "id": 1, "result": {}}
    assert post().json() == {"jsonrpc": "2.0", "id": 1, "result": {}}


@pytest.mark.django_db
def test_the_sdks_own_dns_rebinding_protection_is_on(settings):
    """Behind the view's check, the SDK checks Host and Origin itself (a second guard)."""
    import asyncio

    from mcp_gateway.server import handle

    settings.ENSEMBLE_MCP_ALLOWED_ORIGINS = ["https://inspector.example.com"]
    body = json.dumps(PING).encode()

    def scope(**headers):
        headers = {"host": "127.0.0.1:8000", "content-type": "application/json", "accept": "application/json, text/event-stream",
                   "mcp-protocol-version": "2025-11-25", **headers}
        return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
                "path": "/mcp", "raw_path": b"/mcp", "root_path": "", "query_string": b"", "server": ("127.0.0.1", 8000),
                "client": ("127.0.0.1", 0), "headers": [(k.encode(), v.encode()) for k, v in headers.items()]}

    def status(**headers):
        messages = asyncio.run(handle(scope(**headers), body))
        return next(m for m in messages if m["type"] == "http.response.start")["status"]

    assert status() == 200 and status(origin="https://inspector.example.com") == 200
    assert status(origin="http://evil.example") == 403
