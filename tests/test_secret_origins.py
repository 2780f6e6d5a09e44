"""A secret goes only to an origin an admin confirmed, in process, against real echo
services on two loopback addresses (127.0.0.2 the service's own host, 127.0.0.3 a
foreign one) and a scripted OpenAI-compatible model; the same against gunicorn is
tests/test_secret_origins_live.py. Also: policies that follow an operation by method
and path, the base-URL override, and OAuth2 tokens an admin obtained elsewhere."""

import io
import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from core.errors import ApplicationError
from credentials.models import ServiceCredential
from credentials.selectors import operation_credentials, scheme_states
from credentials.services import credential_confirm_origin, credential_set
from outbound.auth import Credential, CredentialError, authorized_request
from prompts.endpoints import effective_base_url
from prompts.models import SpecChange
from prompts.services import operation_policy_set, spec_refresh
from registry import services as registry
from registry.models import Service
from tests.echo_fixtures import EchoServer, vault_spec
from tests.fake_openai import tool_call

pytestmark = pytest.mark.django_db

HEADER_KEY, QUERY_KEY = "hdr-Secret-0a1b2c3d", "qry-Secret-4e5f6a7b"


@pytest.fixture
def hosts():
    own, foreign = EchoServer("127.0.0.2", "own"), EchoServer("127.0.0.3", "foreign")
    yield own, foreign
    own.close()
    foreign.close()


def register(service_id: str, spec_url: str) -> Service:
    service = registry.service_register(id=service_id, name=service_id.title(), description="", openapi_url=spec_url)
    assert spec_refresh(service=service).usable
    return fresh(service_id)


def fresh(service_id: str) -> Service:
    return Service.objects.select_related("spec").get(pk=service_id)


def call(client, model, tool: str, arguments=None) -> str:
    model.script({"content": None, "tool_calls": [tool_call(tool, arguments or {})]}, {"content": "done"})
    response = client.post("/interact", {"user_input": f"please run {tool}"}, format="json")
    assert response.status_code == 200, response.content
    (answer,) = response.json()["service_responses"]
    return answer["response"]


def command(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def set_keys(service):
    credential_set(service=service, scheme="headerKey", value=HEADER_KEY)
    credential_set(service=service, scheme="queryKey", value=QUERY_KEY)


def test_a_refetched_spec_with_other_servers_holds_the_secrets_until_an_admin_confirms(hosts, client_api, fake_openai):
    own, foreign = hosts
    spec_url = own.publish("/spec.json", vault_spec(own.base))
    service = register("vault", spec_url)
    set_keys(service)
    assert [s.origins for s in scheme_states(fresh("vault")) if s.name == "headerKey"] == [[own.base]]
    assert '"service": "own"' in call(client_api, fake_openai, "vault__echoKeys")
    assert own.received(HEADER_KEY) and own.received(QUERY_KEY)

    own.publish("/spec.json", vault_spec(foreign.base))  # the same URL, other servers
    assert spec_refresh(service=fresh("vault"), force=True).usable
    answer = call(client_api, fake_openai, "vault__echoKeys")
    assert "waits for an admin to confirm the new origin" in answer and foreign.base in answer and "Nothing was sent" in answer
    assert foreign.requests == []  # not even without the secret
    held = AuditEvent.objects.filter(action="credential.origin_held").values_list("target_id", "changes")
    assert sorted(t for t, _ in held) == ["vault/headerKey", "vault/queryKey"]
    assert all(c["waiting for confirmation"] == [None, [foreign.base]] for _, c in held)
    (change,) = SpecChange.objects.filter(service_id="vault")
    assert (change.base_url_before, change.base_url_after) == (f"{own.base}/api", f"{foreign.base}/api")
    assert f"base URL: {own.base}/api -> {foreign.base}/api" in fresh("vault").spec.last_change
    listing = command("service_credential", "list", "vault")
    assert f"headerKey\theld\tfor {own.base}; waits for an admin to confirm {foreign.base}" in listing

    out = command("service_credential", "confirm-origin", "vault")
    assert f"headerKey\tconfirmed for {foreign.base}" in out and f"queryKey\tconfirmed for {foreign.base}" in out
    assert '"service": "foreign"' in call(client_api, fake_openai, "vault__echoKeys")
    assert foreign.received(HEADER_KEY) and foreign.received(QUERY_KEY)
    confirmed = AuditEvent.objects.filter(action="credential.confirm_origin", target_id="vault/headerKey").get()
    assert confirmed.changes == {"origins": [[own.base], [foreign.base]]} and HEADER_KEY not in json.dumps(confirmed.changes)

    # Back to the first host: the confirmed origin is the new one now, so it waits again.
    own.publish("/spec.json", vault_spec(own.base))
    spec_refresh(service=fresh("vault"), force=True)
    own.forget()
    assert "waits for an admin to confirm" in call(client_api, fake_openai, "vault__echoKeys")
    assert own.calls() == []


def test_a_new_openapi_url_elsewhere_moves_nothing_until_confirmed(hosts, client_api, fake_openai):
    own, foreign = hosts
    service = register("vault", own.publish("/spec.json", vault_spec(own.base)))
    set_keys(service)
    registry.service_update(service_id="vault", name="Vault", description="", openapi_url=foreign.publish(
        "/spec.json", vault_spec(foreign.base)))
    assert spec_refresh(service=fresh("vault")).usable
    assert "waits for an admin to confirm" in call(client_api, fake_openai, "vault__echoKeys")
    assert foreign.calls() == [] and not foreign.received(HEADER_KEY)


def test_the_last_guard_sends_a_secret_only_to_its_bound_origin_whatever_the_caller_asks(hosts):
    own, foreign = hosts
    scheme = {"name": "headerKey", "type": "apiKey", "in": "header", "param": "X-Vault-Key"}
    for bound in (own.base, ""):
        with pytest.raises(CredentialError, match="Not sent"):
            authorized_request("GET", f"{foreign.base}/api/keys", credentials=[Credential(scheme, HEADER_KEY, origin=bound)],
                               headers={}, params={}, max_bytes=10_000)
    assert foreign.requests == []
    result, sent = authorized_request("GET", f"{own.base}/api/keys", credentials=[Credential(scheme, HEADER_KEY, origin=own.base)],
                                      headers={}, params={}, max_bytes=100_000)
    assert result.status == 200 and own.received(HEADER_KEY)


def test_an_operation_with_its_own_servers_elsewhere_is_held_alone(hosts, client_api, fake_openai):
    own, foreign = hosts
    service = register("vault", own.publish("/spec.json", vault_spec(own.base, extra_servers={"/basic": f"{foreign.base}/other"})))
    assert [op.get("base_url") for op in service.spec.operations if op["operation_id"] == "echoBasic"] == [f"{foreign.base}/other"]
    credential_set(service=service, scheme="basicAuth", value="ada:basic-Password-9")
    operation = next(op for op in service.spec.operations if op["operation_id"] == "echoBasic")
    assert effective_base_url(service, service.spec, operation) == f"{foreign.base}/other"
    needs = operation_credentials(service=service, snapshot=service.spec, operation=operation)
    assert needs.held and foreign.base in needs.missing
    assert "waits for an admin to confirm" in call(client_api, fake_openai, "vault__echoBasic")
    assert foreign.requests == [] and own.calls() == []
    credential_confirm_origin(service=fresh("vault"), scheme="basicAuth")
    service = fresh("vault")
    needs = operation_credentials(service=service, snapshot=service.spec, operation=operation)
    assert not needs.missing and needs.credentials[0].origin == foreign.base


def test_oauth2_client_secret_goes_to_a_token_endpoint_elsewhere_only_once_confirmed(hosts, client_api, fake_openai,
                                                                                     monkeypatch):
    own, foreign = hosts
    foreign.oauth(client_id="vault-client", client_secret="client-Secret-77")
    service = register("vault", own.publish("/spec.json", vault_spec(own.base, token_url=f"{foreign.base}/token")))
    out = io.StringIO()
    monkeypatch.setenv("VAULT_OAUTH", json.dumps({"client_id": "vault-client", "client_secret": "client-Secret-77"}))
    call_command("service_credential", "set", "vault", "clientAuth", "--value-env", "VAULT_OAUTH", stdout=out)
    assert f"It also goes to {foreign.base}, which nobody confirmed" in out.getvalue()
    answer = call(client_api, fake_openai, "vault__echoClient")
    assert "waits for an admin to confirm the new origin" in answer and "(its token endpoint)" in answer
    assert foreign.requests == [] and own.calls() == []

    credential_confirm_origin(service=service, scheme="clientAuth")
    assert ServiceCredential.objects.get(scheme="clientAuth").origins == [own.base, foreign.base]
    answer = call(client_api, fake_openai, "vault__echoClient")
    assert '"service": "own"' in answer and foreign.received("grant_type=client_credentials")
    (token,) = foreign.issued
    assert own.received(f"Bearer {token}") and not own.received("client-Secret-77")
    assert token not in answer and "client-Secret-77" not in answer  # echoed back, recorded as [redacted]

    # The spec moves its token endpoint: held again, nothing sent there.
    elsewhere = EchoServer("127.0.0.4", "elsewhere")
    try:
        own.publish("/spec.json", vault_spec(own.base, token_url=f"{elsewhere.base}/token"))
        spec_refresh(service=fresh("vault"), force=True)
        assert "(its token endpoint)" in call(client_api, fake_openai, "vault__echoClient")
        assert elsewhere.requests == []
    finally:
        elsewhere.close()


def test_a_base_url_override_is_an_origin_change_like_any_other(hosts, client_api, fake_openai):
    own, foreign = hosts
    service = register("vault", own.publish("/spec.json", vault_spec(own.base)))
    set_keys(service)
    with pytest.raises(ValidationError):
        registry.service_base_url_set(service_id="vault", base_url=f"{foreign.base}/api?x=1")
    with pytest.raises(CommandError, match="must not carry credentials"):
        command("service_base_url", "vault", "http://user:pw@127.0.0.3/api")
    revision = service.revision
    assert f"vault now calls {foreign.base}/api" in command("service_base_url", "vault", f"{foreign.base}/api")
    service = fresh("vault")
    assert service.revision == revision + 1 and service.base_url_override == f"{foreign.base}/api"
    assert effective_base_url(service, service.spec) == f"{foreign.base}/api"
    assert f"Base URL: {foreign.base}/api" in client_api.get("/system-prompt?service_ids=vault").json()["system_prompt"]
    event = AuditEvent.objects.filter(action="service.update", target_id="vault").latest("id")
    assert event.changes == {"base_url_override": ["", f"{foreign.base}/api"]}
    assert AuditEvent.objects.filter(action="credential.origin_held", target_id="vault/headerKey").exists()

    # Held: nothing goes anywhere, not even to the spec's own host.
    own.forget()
    assert "waits for an admin to confirm" in call(client_api, fake_openai, "vault__echoKeys")
    assert own.calls() == [] and foreign.requests == []

    # Confirmed: what a call needs is bound to the override's origin, and the request the
    # caller builds from the effective base URL reaches it with the keys.
    credential_confirm_origin(service=service)
    service = fresh("vault")
    operation = next(op for op in service.spec.operations if op["operation_id"] == "echoKeys")
    needs = operation_credentials(service=service, snapshot=service.spec, operation=operation)
    assert [c.origin for c in needs.credentials] == [foreign.base, foreign.base]
    url = effective_base_url(service, service.spec, operation) + operation["path"]
    result, _ = authorized_request("GET", url, credentials=needs.credentials, headers={}, params={}, max_bytes=100_000)
    assert result.status == 200 and foreign.received(HEADER_KEY) and foreign.received(QUERY_KEY)
    # The spec's own host gets nothing with these secrets, whichever base URL a caller uses.
    with pytest.raises(CredentialError, match="Not sent"):
        authorized_request("GET", f"{own.base}/api/keys", credentials=needs.credentials, headers={}, params={}, max_bytes=1000)
    assert not own.received(HEADER_KEY)

    assert "calls its spec's servers again" in command("service_base_url", "vault", "--clear")
    assert fresh("vault").base_url_override == ""


def test_oauth2_tokens_an_admin_obtained_elsewhere_are_used_refreshed_and_rotated(hosts, client_api, fake_openai):
    own, _ = hosts
    own.oauth(client_id="music-app", client_secret="music-Secret-31", refresh_tokens={"first-Refresh-Token"},
              rotate=True, require_token="/v1/")
    document = {
        "openapi": "3.0.3", "info": {"title": "Music", "version": "1"}, "servers": [{"url": f"{own.base}/v1"}],
        "paths": {"/albums/{id}": {"get": {"operationId": "getAlbum", "security": [{"user": ["read"]}],
                                           "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                                           "responses": {"200": {"description": "An album."}}}}},
        "components": {"securitySchemes": {"user": {"type": "oauth2", "flows": {"authorizationCode": {
            "authorizationUrl": "https://accounts.example/authorize", "tokenUrl": "/token", "scopes": {"read": "Read"}}}}}},
    }
    service = register("music", own.publish("/spec.json", document))
    (state,) = scheme_states(service)
    assert "authorizationCode" in state.description and "refresh_token" in state.description
    with pytest.raises(ApplicationError, match="access_token"):
        credential_set(service=service, scheme="user", value=json.dumps({"client_id": "x", "client_secret": "y"}))

    # An access token alone: sent as it is; the service refuses it and it cannot be refreshed.
    credential_set(service=service, scheme="user", value=json.dumps({"access_token": "admin-Access-Token"}))
    answer = call(client_api, fake_openai, "music__getAlbum", {"id": "4aawyAB9"})
    assert "refused the credentials" in answer and "admin-Access-Token" not in answer
    assert own.received("Bearer admin-Access-Token") and not own.received("grant_type")

    # A refresh token with the client: redeemed at the scheme's tokenUrl (same origin),
    # and again once after a 401; a rotated refresh token is kept, encrypted.
    credential_set(service=service, scheme="user", value=json.dumps(
        {"refresh_token": "first-Refresh-Token", "client_id": "music-app", "client_secret": "music-Secret-31"}))
    assert '"service": "own"' in call(client_api, fake_openai, "music__getAlbum", {"id": "4aawyAB9"})
    assert len(own.issued) == 1
    assert '"service": "own"' in call(client_api, fake_openai, "music__getAlbum", {"id": "4aawyAB9"})
    assert len(own.issued) == 1  # cached until it expires
    own.revoke_tokens()
    answer = call(client_api, fake_openai, "music__getAlbum", {"id": "4aawyAB9"})
    assert '"service": "own"' in answer and len(own.issued) == 2
    stored = ServiceCredential.objects.get(service_id="music")
    from credentials.crypto import decrypt

    kept = json.loads(decrypt(stored.ciphertext))
    assert kept["refresh_token"] == "rotated-refresh-3-own" and kept["access_token"] == own.issued[-1]
    assert AuditEvent.objects.filter(action="credential.refresh_token_rotated", target_id="music/user").exists()
    for secret in ("first-Refresh-Token", "rotated-refresh-3-own", "music-Secret-31", *own.issued):
        assert secret not in answer


def test_policies_follow_an_operation_by_method_and_path(hosts):
    own, _ = hosts
    from prompts.policies import ALLOWED, DISABLED, NEEDS_APPROVAL, WRITES_DEFAULT, effective_policy

    def notes(update_id: str, method: str, path: str = "/notes/{noteId}") -> dict:
        return {"openapi": "3.0.3", "info": {"title": "Notes", "version": "1"}, "servers": [{"url": f"{own.base}/api"}],
                "paths": {path: {method: {"operationId": update_id, "responses": {"200": {"description": "ok"}},
                                          "parameters": [{"name": path.split("{")[1].rstrip("}"), "in": "path", "required": True,
                                                          "schema": {"type": "integer"}}]}},
                          "/notes": {"post": {"operationId": "createNote", "responses": {"201": {"description": "ok"}}}}}}

    def policy_of(operation_id: str) -> str:
        service = Service.objects.select_related("spec").prefetch_related("operation_policies").get(pk="notes")
        return effective_policy(service, next(op for op in service.spec.operations if op["operation_id"] == operation_id))

    service = register("notes", own.publish("/notes.json", notes("updateNote", "put")))
    operation_policy_set(service=service, operation_id="updateNote", policy=DISABLED, actor="user:alice")
    operation_policy_set(service=service, operation_id="createNote", policy=ALLOWED, actor="user:alice")
    operation_policy_set(service=service, operation_id=WRITES_DEFAULT, policy=ALLOWED, actor="user:alice")

    def refetch(document):
        own.publish("/notes.json", document)
        assert spec_refresh(service=fresh("notes"), force=True).usable

    refetch(notes("updateNoteV2", "put"))  # renamed: still disabled (the write default would allow it)
    assert policy_of("updateNoteV2") == DISABLED
    refetch(notes("updateNote", "put", "/notes/{id}"))  # a path parameter renamed: the same route
    assert policy_of("updateNote") == DISABLED

    operation_policy_set(service=fresh("notes"), operation_id="updateNote", policy=ALLOWED, actor="user:alice")
    assert policy_of("updateNote") == ALLOWED
    refetch(notes("updateNote", "delete", "/notes/{id}"))  # the same name now deletes: no longer allowed
    assert policy_of("updateNote") == NEEDS_APPROVAL
    refetch(notes("updateNote", "put", "/archive/{id}"))  # or writes elsewhere
    assert policy_of("updateNote") == NEEDS_APPROVAL
    operation_policy_set(service=fresh("notes"), operation_id="updateNote", policy=ALLOWED, actor="user:bob")
    assert policy_of("updateNote") == ALLOWED  # an admin decided again, for the operation as it is now
    assert policy_of("createNote") == ALLOWED


def test_the_service_page_shows_a_held_secret_and_where_it_goes_and_an_admin_confirms_it_there(hosts, admin_client, client_api,
                                                                                                fake_openai):
    from tests.admin_forms import form_data

    own, foreign = hosts
    spec_url = own.publish("/spec.json", vault_spec(own.base))
    set_keys(register("vault", spec_url))
    page = admin_client.get("/admin/registry/service/vault/change/").content.decode()
    assert f"for {own.base}" in page and "held back" not in page and ">held</strong>" not in page
    assert 'id="held-credentials">\n      none' in admin_client.get("/admin/").content.decode()

    own.publish("/spec.json", vault_spec(foreign.base))
    assert spec_refresh(service=fresh("vault"), force=True).usable
    url = "/admin/registry/service/vault/change/"
    page = admin_client.get(url).content.decode()
    assert f"held back: headerKey, queryKey wait for an admin to confirm {foreign.base}" in page
    assert page.count('<strong style="color:#b00">held</strong>') == 2
    assert page.count(f"for {own.base}; waits for an admin to confirm {foreign.base}") == 2  # beside each secret
    assert f"<code>{own.base}/api</code> -&gt; <code>{foreign.base}/api</code>" in page  # the spec history
    index = admin_client.get("/admin/").content.decode()
    assert f'href="/admin/registry/service/vault/change/">vault</a>: headerKey, queryKey wait for an admin to confirm {foreign.base}' in index

    # Confirm one secret on the page: the other still holds the call (the operation needs both).
    rows = {c.scheme: c.pk for c in ServiceCredential.objects.filter(service_id="vault")}
    data = form_data(page, "service_form")
    (index_of_header,) = [k.split("-")[1] for k, v in data.items() if k.endswith("-id") and k.startswith("credentials-")
                          and v == str(rows["headerKey"])]
    data[f"credentials-{index_of_header}-confirm_origin"] = "on"
    data["_continue"] = "Save and continue editing"
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    event = AuditEvent.objects.get(action="credential.confirm_origin", target_id="vault/headerKey")
    assert event.actor == "user:admin" and event.changes == {"origins": [[own.base], [foreign.base]]}
    assert "waits for an admin to confirm" in call(client_api, fake_openai, "vault__echoKeys") and foreign.calls() == []

    page = admin_client.get(url).content.decode()
    data = form_data(page, "service_form")
    assert f"credentials-{index_of_header}-confirm_origin" not in data  # nothing to confirm there now: the box is disabled
    data[f"credentials-{1 - int(index_of_header)}-confirm_origin"] = "on"
    data["_continue"] = "Save and continue editing"
    assert admin_client.post(url, data).status_code == 302
    assert '"service": "foreign"' in call(client_api, fake_openai, "vault__echoKeys")
    assert 'id="held-credentials">\n      none' in admin_client.get("/admin/").content.decode()
