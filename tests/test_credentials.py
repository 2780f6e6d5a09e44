"""Credentials per service and security scheme, against protected FountainAI-style
services built from the real specs (tests/fountain_fixtures.py), over real HTTP."""

import io
import time

import pytest
from django.core.management import CommandError, call_command

from credentials.models import ServiceCredential
from interactions.models import InteractionLog, ServiceCall
from prompts.services import spec_refresh
from registry import services as registry
from tests.fountain_fixtures import FountainService

pytestmark = pytest.mark.django_db

KEY = "fountain-key-7Hq2vN9xLp"


@pytest.fixture
def fountain():
    started = []

    def start(spec_file, **options):
        server = FountainService(spec_file, **options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def register(service_id: str, name: str, server: FountainService):
    service = registry.service_register(id=service_id, name=name, description=f"The {name}.", openapi_url=server.spec_url, tags=[])
    assert spec_refresh(service=service).usable
    return service


def interact(client, text):
    response = client.post("/interact", {"user_input": text}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def operation_calls(server):
    return [r for r in server.requests if r["path"] != "/openapi.yml" and r["path"] != "/token"]


def test_a_key_set_with_the_command_opens_the_service_and_a_wrong_one_is_reported(client_api, fountain, monkeypatch):
    server = fountain("Character-Service.yml", key=KEY)
    # The spec also lists its key header as a parameter: the scheme fills it, not the assistant.
    server.document["paths"]["/characters/{characterId}"]["get"]["parameters"].append(
        {"name": "X-API-KEY", "in": "header", "required": True, "schema": {"type": "string"}})
    server.publish()
    register("character-service", "Character Service", server)

    body = interact(client_api, "get character 1")
    (answer,) = body["service_responses"]
    assert "apiKeyAuth" in answer["response"] and "Character Service" in answer["response"] and "none is set" in answer["response"]
    assert operation_calls(server) == []  # not called without its secret
    # The answer says so, and the log does not count it as answered.
    assert body["assistant_response"].startswith("I did not call getCharacterById")
    assert InteractionLog.objects.latest("id").outcome == "calls_failed"

    monkeypatch.setenv("FOUNTAIN_KEY", KEY)
    out = io.StringIO()
    call_command("service_credential", "set", "character-service", "apiKeyAuth", "--value-env", "FOUNTAIN_KEY", stdout=out)
    assert KEY not in out.getvalue()
    body = interact(client_api, "get character 1")
    assert '"name": "Ada Protected"' in body["service_responses"][0]["response"]
    (call,) = operation_calls(server)
    assert call["path"] == "/characters/1" and call["headers"]["X-API-KEY"] == KEY
    assert ServiceCall.objects.filter(ok=True).get().request == {"characterId": 1}

    # Neither the prompt nor the tool offer the key's parameter.
    prompt = client_api.get("/system-prompt?service_ids=character-service").json()["system_prompt"]
    assert "getCharacterById: GET /characters/{characterId}" in prompt and "X-API-KEY" not in prompt
    from operations.scope import assistant_scope

    (tool,) = [t for t in assistant_scope().tools if t.operation["operation_id"] == "getCharacterById"]
    assert list(tool.parameters["properties"]) == ["characterId"]

    monkeypatch.setenv("FOUNTAIN_KEY", "a-wrong-key-000")
    call_command("service_credential", "set", "character-service", "apiKeyAuth", "--value-env", "FOUNTAIN_KEY", stdout=io.StringIO())
    answer = interact(client_api, "get character 1")["service_responses"][0]["response"]
    assert "Character Service refused the credentials for apiKeyAuth (HTTP 401)" in answer
    # The service echoed the wrong key: what is recorded shows [redacted] instead.
    assert "a-wrong-key-000" not in answer and "[redacted]" in answer
    assert "a-wrong-key-000" not in ServiceCall.objects.get(status=401).response
    listing = io.StringIO()
    call_command("service_credential", "list", "character-service", stdout=listing)
    assert "apiKeyAuth\tset" in listing.getvalue() and "refused the credentials" in listing.getvalue()
    assert "a-wrong-key-000" not in listing.getvalue() and KEY not in listing.getvalue()

    with pytest.raises(CommandError, match="declares no security scheme 'bearerAuth'"):
        call_command("service_credential", "set", "character-service", "bearerAuth", "--value-env", "FOUNTAIN_KEY")
    call_command("service_credential", "clear", "character-service", "apiKeyAuth", stdout=io.StringIO())
    assert not ServiceCredential.objects.exists()
    from audit.models import AuditEvent

    events = list(AuditEvent.objects.filter(target_type="service_credential").values_list("action", "changes"))
    assert [a for a, _ in events] == ["credential.clear", "credential.set", "credential.set"]
    assert KEY not in str(events) and "a-wrong-key-000" not in str(events)


def test_each_service_receives_only_its_own_secret_and_never_through_a_redirect(client_api, fountain):
    characters = fountain("Character-Service.yml", key="character-key-111")
    actions = fountain("Action-Service.yml", key="action-key-222", mode="apikey-query")
    elsewhere = fountain("Performer-Service.yml", key="performer-key-333")
    moved = fountain("Performer-Service.yml", key="performer-key-333")
    moved.httpd.redirect_to = elsewhere.base  # another origin (port) on the same host
    for service_id, name, server, key in (("character-service", "Character Service", characters, "character-key-111"),
                                          ("action-service", "Action Service", actions, "action-key-222"),
                                          ("performer-service", "Performer Service", moved, "performer-key-333")):
        register(service_id, name, server)
        from credentials.services import credential_set
        from registry.models import Service

        credential_set(service=Service.objects.get(pk=service_id), scheme="apiKeyAuth", value=key)

    assert "Ada Protected" in interact(client_api, "get character 1")["service_responses"][0]["response"]
    assert "Ada Protected" in interact(client_api, "list actions")["service_responses"][0]["response"]
    answer = interact(client_api, "list performers")["service_responses"][0]["response"]
    assert "redirected to another origin" in answer and "not followed" in answer

    assert characters.received("character-key-111") and not characters.received("action-key-222")
    assert actions.received("action-key-222") and not actions.received("character-key-111")
    assert not elsewhere.received("performer-key-333") and operation_calls(elsewhere) == []
    # The query-string key is recorded as [redacted].
    recorded = ServiceCall.objects.get(service_id="action-service").url
    assert recorded.endswith("/actions?api_key=[redacted]") and "action-key-222" not in recorded


def test_keys_rotate_without_downtime(client_api, fountain, settings):
    from cryptography.fernet import Fernet

    key_a, key_b = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    server = fountain("Character-Service.yml", key=KEY)
    service = register("character-service", "Character Service", server)
    settings.ENSEMBLE_CREDENTIALS_KEYS = [key_a]
    from credentials.services import credential_set

    credential_set(service=service, scheme="apiKeyAuth", value=KEY)
    settings.ENSEMBLE_CREDENTIALS_KEYS = [key_b, key_a]
    assert "Ada Protected" in interact(client_api, "get character 1")["service_responses"][0]["response"]
    out = io.StringIO()
    call_command("service_credential", "rotate-key", stdout=out)
    assert "Re-encrypted 1 secret" in out.getvalue()
    settings.ENSEMBLE_CREDENTIALS_KEYS = [key_b]
    assert "Ada Protected" in interact(client_api, "get character 1")["service_responses"][0]["response"]
    settings.ENSEMBLE_CREDENTIALS_KEYS = [key_a]  # the old key alone no longer opens it
    answer = interact(client_api, "get character 1")["service_responses"][0]["response"]
    assert "cannot be decrypted" in answer


def test_oauth2_client_credentials_token_is_cached_until_it_expires(client_api, fountain):
    server = fountain("Character-Service.yml", mode="oauth2", client_id="ensemble", client_secret="client-secret-444",
                      lifetime=2)
    service = register("character-service", "Character Service", server)
    from credentials.services import credential_set

    credential_set(service=service, scheme="clientAuth", value='{"client_id": "ensemble", "client_secret": "client-secret-444"}')
    for n in (1, 2, 1, 2):
        assert "Ada Protected" in interact(client_api, f"get character {n}")["service_responses"][0]["response"]
    assert server.token_fetches() == 1
    time.sleep(2)  # the token expires (it is renewed shortly before)
    assert "Ada Protected" in interact(client_api, "get character 1")["service_responses"][0]["response"]
    assert server.token_fetches() == 2
    server.httpd.tokens.clear()  # the service forgets its tokens: a 401, then one new token
    assert "Ada Protected" in interact(client_api, "get character 1")["service_responses"][0]["response"]
    assert server.token_fetches() == 3
    assert not any("client-secret-444" in r["path"] for r in operation_calls(server))


def test_each_kind_of_scheme_puts_the_secret_in_its_place():
    from outbound.auth import Credential, CredentialError, apply_credentials

    def applied(scheme, secret):
        return apply_credentials([Credential({"name": "s", **scheme}, secret)], headers={"Accept": "x"}, params={"q": "1"})

    header = applied({"type": "apiKey", "in": "header", "param": "X-API-KEY"}, "k1-secret")
    assert header.headers == {"Accept": "x", "X-API-KEY": "k1-secret"} and header.params == {"q": "1"}
    query = applied({"type": "apiKey", "in": "query", "param": "api_key"}, "k2 secret")
    assert query.params == {"q": "1", "api_key": "k2 secret"} and query.credential_params == {"api_key"}
    from outbound.auth import redact_text

    assert redact_text("got k2%20secret, k2+secret", query.secrets) == "got [redacted], [redacted]"  # encoded forms too
    assert applied({"type": "apiKey", "in": "cookie", "param": "session"}, "k3-secret").headers["Cookie"] == "session=k3-secret"
    assert applied({"type": "http", "scheme": "bearer"}, "k4-secret").headers["Authorization"] == "Bearer k4-secret"
    basic = applied({"type": "http", "scheme": "basic"}, "ada:pass-word")
    assert basic.headers["Authorization"] == "Basic YWRhOnBhc3Mtd29yZA==" and "YWRhOnBhc3Mtd29yZA==" in basic.secrets
    with pytest.raises(CredentialError, match="user:password"):
        applied({"type": "http", "scheme": "basic"}, "no-colon")


def test_schemes_of_a_snapshot_stored_before_they_were_recorded_are_read_from_its_document(fountain):
    from prompts import security

    server = fountain("Character-Service.yml", key=KEY)
    service = register("character-service", "Character Service", server)
    snapshot = service.spec
    assert security.security_schemes(snapshot)["apiKeyAuth"] == {"name": "apiKeyAuth", "type": "apiKey", "in": "header",
                                                                "param": "X-API-KEY"}
    type(snapshot).objects.filter(pk=snapshot.pk).update(security_schemes_json="")
    security._by_hash.clear()
    old = type(snapshot).objects.defer("document").get(pk=snapshot.pk)
    assert list(security.security_schemes(old)) == ["apiKeyAuth"]
