"""System prompts from real specs served over HTTP, and hostile specs and URLs."""

import pytest
import yaml

from outbound.http import OutboundError, check_address
from prompts.models import SpecSnapshot
from prompts.parsing import load_document, parse_operations
from registry import services
from tests.conftest import SHARED, service_payload
from tests.contract import assert_conforms, assert_error

pytestmark = pytest.mark.django_db
FOUNTAIN = SHARED / "reference" / "fountainai-services"
THIRD_PARTY = SHARED / "reference" / "third-party"
METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def needs_shared():
    if not FOUNTAIN.exists():
        pytest.skip(f"The reference specs are not here ({FOUNTAIN}); they come with ../shared.")


def expected_operations(document: dict):
    """Independently of prompts.parsing: (operationId, METHOD, path, required params) per operation."""

    def deref(node):
        while isinstance(node, dict) and "$ref" in node:
            target = document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    for path, item in document["paths"].items():
        shared = [deref(p) for p in item.get("parameters", [])]
        for method in METHODS:
            if method in item:
                op = item[method]
                params = shared + [deref(p) for p in op.get("parameters", [])]
                required = {p["name"] for p in params if p.get("required") and p.get("in") != "body"}
                yield op.get("operationId"), method.upper(), path, required


def register_spec(file_server, name: str, body: bytes):
    url = file_server.add(f"/specs/{name}", body)
    return services.service_register(
        id=name.replace(".", "-").lower(), name=name, description=f"{name} under test", openapi_url=url, tags=[]
    )


def test_the_nine_fountainai_specs_render_every_operation(file_server, client_api):
    needs_shared()
    files = sorted(FOUNTAIN.glob("*.yml"))
    assert len(files) == 9
    registered = [(register_spec(file_server, f.name, f.read_bytes()), f) for f in files]
    query = "&".join(f"service_ids={s.id}" for s, _ in registered)
    body = assert_conforms(client_api.get(f"/system-prompt?{query}"), "generateSystemPrompt", 200)
    prompt = body["system_prompt"]
    for service, path in registered:
        assert f"service id: {service.id}" in prompt
        for operation_id, method, op_path, required in expected_operations(yaml.safe_load(path.read_bytes())):
            assert f"{operation_id}: {method} {op_path}" in prompt, (path.name, operation_id)
            for name in required:
                assert f"{name}*" in prompt, (path.name, operation_id, name)
    # Order is the order asked for.
    positions = [prompt.index(f"service id: {s.id}") for s, _ in registered]
    assert positions == sorted(positions)


@pytest.mark.parametrize("name", ["petstore-expanded-swagger2.json", "twilio_conversations_v1.yaml", "twilio_api_v2010.yaml"])
def test_third_party_specs_keep_identity_and_required_inputs(file_server, client_api, name):
    needs_shared()
    path = THIRD_PARTY / name
    service = register_spec(file_server, name, path.read_bytes())
    prompt = client_api.get(f"/system-prompt?service_ids={service.id}").json()["system_prompt"]
    document = yaml.load(path.read_bytes(), Loader=yaml.CSafeLoader)
    count = 0
    for operation_id, method, op_path, required in expected_operations(document):
        assert f"{operation_id}: {method} {op_path}" in prompt, operation_id
        for param in required:
            assert f"{param}*" in prompt
        count += 1
    assert count == len(SpecSnapshot.objects.get(service=service).operations)


def test_swagger2_base_url_and_body(file_server):
    needs_shared()
    parsed = parse_operations(load_document((THIRD_PARTY / "petstore-expanded-swagger2.json").read_bytes()))
    assert parsed["base_url"] == "http://petstore.swagger.wordnik.com/api"
    add_pet = next(op for op in parsed["operations"] if op["operation_id"] == "addPet")
    assert add_pet["body"]["required"] and "name" in add_pet["body"]["schema"]["required"]


def test_unknown_and_duplicate_ids(file_server, client_api):
    needs_shared()
    service = register_spec(file_server, "Action-Service.yml", (FOUNTAIN / "Action-Service.yml").read_bytes())
    body = assert_error(client_api.get("/system-prompt?service_ids=nope&service_ids=ghost"), "generateSystemPrompt", 400,
                        "UNKNOWN_SERVICE_IDS")
    assert "nope" in body["message"] and "ghost" in body["message"]
    once = client_api.get(f"/system-prompt?service_ids={service.id}").json()["system_prompt"]
    twice = client_api.get(f"/system-prompt?service_ids={service.id}&service_ids={service.id}").json()["system_prompt"]
    assert once == twice
    assert_error(client_api.get("/system-prompt"), "generateSystemPrompt", 400)


def test_prompts_use_the_snapshot_and_refetch_conditionally(file_server, client_api):
    url = file_server.add("/spec.yml", MINIMAL, etag='"v1"')
    services.service_register(id="svc", name="Svc", description="", openapi_url=url, tags=[])
    for _ in range(3):
        assert client_api.get("/system-prompt?service_ids=svc").status_code == 200
    assert len([r for r in file_server.requests if r[0] == "/spec.yml"]) == 1
    from prompts.services import spec_refresh
    from registry.models import Service

    spec_refresh(service=Service.objects.get(pk="svc"))
    assert file_server.requests[-1][1].get("If-None-Match") == '"v1"'


def test_a_changed_spec_is_reported(file_server):
    from prompts.services import spec_refresh
    from registry.models import Service

    url = file_server.add("/spec.yml", MINIMAL)
    services.service_register(id="svc", name="Svc", description="", openapi_url=url, tags=[])
    spec_refresh(service=Service.objects.get(pk="svc"))
    file_server.add("/spec.yml", MINIMAL.replace("ping", "pong"))
    snapshot = spec_refresh(service=Service.objects.get(pk="svc"), force=True)
    assert "added: pong" in snapshot.last_change and "removed: ping" in snapshot.last_change


MINIMAL = """
openapi: 3.0.3
info: {title: Minimal, version: '1'}
servers: [{url: /api}]
paths:
  /ping:
    get:
      operationId: ping
      responses: {'200': {description: ok}}
"""


# --- hostile URLs and documents ----------------------------------------------------------


def prompt_error(client_api, file_server, url, settings=None) -> dict:
    services.service_register(id="hostile", name="Hostile", description="", openapi_url=url, tags=[])
    response = client_api.get("/system-prompt?service_ids=hostile")
    body = assert_error(response, "generateSystemPrompt", 400, "SPEC_UNAVAILABLE")
    snapshot = SpecSnapshot.objects.get(service_id="hostile")
    assert not snapshot.usable and snapshot.operations == [] and snapshot.document == ""
    assert snapshot.error and snapshot.error in body["details"]
    return body


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/spec.yml", "http://localhost:9/spec.yml", "http://10.0.0.1/spec.yml",
     "http://169.254.169.254/latest/meta-data", "http://[::1]:9/spec.yml", "http://[::ffff:127.0.0.1]:9/x",
     "http://192.168.1.1/spec.yml", "http://100.64.0.1/spec.yml", "http://0.0.0.0:9/spec"],
)
def test_forbidden_addresses_are_refused_before_connecting(client_api, file_server, settings, url):
    settings.ENSEMBLE_OUTBOUND_ALLOWED_NETWORKS = []
    body = prompt_error(client_api, file_server, url)
    assert "Refusing to connect" in body["details"]


def test_a_redirect_to_a_forbidden_host_is_refused(client_api, file_server, settings):
    settings.ENSEMBLE_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    url = file_server.url("/redirect?to=http://127.0.0.2:9/spec.yml")
    body = prompt_error(client_api, file_server, url)
    assert "127.0.0.2" in body["details"]


def test_allowed_networks_let_loopback_through():
    from django.test import override_settings

    with override_settings(ENSEMBLE_OUTBOUND_ALLOWED_NETWORKS=["127.0.0.0/8"]):
        check_address("127.0.0.1")
    with override_settings(ENSEMBLE_OUTBOUND_ALLOWED_NETWORKS=[]):
        with pytest.raises(OutboundError):
            check_address("127.0.0.1")
        check_address("93.184.215.14")  # a public address passes (no connection is made here)


def test_a_50_mb_document_is_refused(client_api, file_server):
    body = prompt_error(client_api, file_server, file_server.url("/huge"))
    assert "more than" in body["details"]


def test_a_document_that_never_finishes_times_out(client_api, file_server, settings):
    settings.ENSEMBLE_HTTP_TIMEOUT_SECONDS = 1.5
    body = prompt_error(client_api, file_server, file_server.url("/endless"))
    assert "within" in body["details"]


def test_invalid_yaml_is_refused(client_api, file_server):
    body = prompt_error(client_api, file_server, file_server.add("/bad.yml", "openapi: 3.0.0\npaths: [unclosed\n"))
    assert "neither valid JSON nor valid YAML" in body["details"]


def test_a_document_that_is_not_openapi_is_refused(client_api, file_server):
    body = prompt_error(client_api, file_server, file_server.add("/x.yml", "hello: world\n"))
    assert "openapi" in body["details"]


BILLION_LAUGHS = "\n".join(
    ["openapi: 3.0.0", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)},*{chr(97 + i)}]" for i in range(8)]
    + ["paths: {}"]
)


def test_a_yaml_bomb_is_refused(client_api, file_server):
    body = prompt_error(client_api, file_server, file_server.add("/bomb.yml", BILLION_LAUGHS))
    assert "alias bomb" in body["details"]


def test_five_thousand_operations_parse_and_render_within_budget(file_server, client_api, settings):
    paths = {f"/things{i}/{{thingId}}": {"get": {"summary": "Fetch a thing " * 5,
                                                "parameters": [{"name": "thingId", "in": "path", "required": True, "schema": {"type": "integer"}}],
                                                "responses": {"200": {"description": "ok"}}}} for i in range(5000)}
    document = {"openapi": "3.0.0", "info": {"title": "Big", "version": "1"}, "paths": paths}
    import json

    url = file_server.add("/big.json", json.dumps(document), "application/json")
    services.service_register(id="big", name="Big", description="A big one", openapi_url=url, tags=[])
    prompt = client_api.get("/system-prompt?service_ids=big").json()["system_prompt"]
    assert prompt.count("thingId*") == 5000 and "get_things4999_thingId: GET /things4999/{thingId}" in prompt
    assert "leaves out" in prompt  # summaries were dropped to approach the budget


@pytest.mark.django_db(transaction=True)
def test_registering_fetches_the_spec_in_the_background(file_server, client_admin, settings):
    import time

    settings.ENSEMBLE_SPEC_FETCH_ON_WRITE = True
    url = file_server.add("/spec.yml", MINIMAL)
    response = client_admin.post("/services/register", service_payload(id="bg", openapi_url=url), format="json")
    assert response.status_code == 201
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not SpecSnapshot.objects.filter(service_id="bg", fetched_at__isnull=False).exists():
        time.sleep(0.05)
    assert [op["operation_id"] for op in SpecSnapshot.objects.get(service_id="bg").operations] == ["ping"]


@pytest.mark.django_db(transaction=True)
def test_background_fetches_keep_their_database_connection(file_server):
    """Found under the load test on PostgreSQL: each background fetch closed its thread's
    connection, so every registration started a new database backend, and bursts of
    them stalled every request. A pool thread keeps its connection, as request threads do."""
    import threading

    from django.db import connection

    from prompts import tasks

    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("the in-memory test database is never closed; the PostgreSQL pass runs this")
    url = file_server.add("/kept.yml", MINIMAL)
    service = services.service_register(id="kept", name="Kept", description="", openapi_url=url, tags=[])
    used = []  # (thread, the driver's connection after the fetch)

    def fetch_and_see():
        tasks._fetch(service.pk)
        used.append((threading.get_ident(), connection.connection))

    for _ in range(5):  # one after another: the pool has two threads, so one of them runs several
        tasks._pool.submit(fetch_and_see).result()
    assert SpecSnapshot.objects.get(service_id="kept").usable
    assert all(raw is not None for _, raw in used), "the fetch closed its connection"
    per_thread = {}
    for thread, raw in used:
        per_thread.setdefault(thread, []).append(raw)
    assert max(len(raws) for raws in per_thread.values()) >= 2
    assert all(all(raw is raws[0] for raw in raws) for raws in per_thread.values())


@pytest.mark.django_db
@pytest.mark.parametrize("fetch_fails", [True, False])
def test_two_first_fetches_at_once_keep_one_snapshot(file_server, monkeypatch, fetch_fails):
    """Found under load: two /interact calls fetching a never-fetched spec at the same
    time both inserted its snapshot, and the second answered 500."""
    from prompts import services as prompt_services

    url = file_server.add("/race.yml", "openapi: 3.0.0\ninfo: {title: Race, version: '1'}\npaths: {}\n")
    service = services.service_register(id="race", name="Race", description="", openapi_url=url, tags=[])
    real_request = prompt_services.guarded_request

    def the_other_request_wins(*args, **kwargs):
        SpecSnapshot.objects.create(service=service, source_url=url, error="theirs")
        if fetch_fails:
            raise OutboundError("HTTP_ERROR", "ours failed")
        return real_request(*args, **kwargs)

    monkeypatch.setattr(prompt_services, "guarded_request", the_other_request_wins)
    snapshot = prompt_services.spec_refresh(service=service)
    assert snapshot.error == "theirs" and SpecSnapshot.objects.count() == 1


@pytest.mark.django_db(transaction=True)  # the foreign key is checked at commit
def test_a_service_deleted_during_its_first_fetch_is_no_error(file_server, monkeypatch):
    """Also found under load: the service was deleted while its spec was being fetched."""
    from prompts import services as prompt_services

    url = file_server.add("/gone.yml", "openapi: 3.0.0\ninfo: {title: Gone, version: '1'}\npaths: {}\n")
    service = services.service_register(id="gone", name="Gone", description="", openapi_url=url, tags=[])
    real_request = prompt_services.guarded_request

    def deleted_meanwhile(*args, **kwargs):
        result = real_request(*args, **kwargs)
        services.service_delete(service_id="gone")
        return result

    monkeypatch.setattr(prompt_services, "guarded_request", deleted_meanwhile)
    snapshot = prompt_services.spec_refresh(service=service)
    assert snapshot.service_id == "gone" and not SpecSnapshot.objects.exists()
