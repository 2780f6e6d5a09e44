"""Service credentials on the real stack: gunicorn, the sync worker, Typesense, and an
admin in headless Chromium. A secret set by an admin or a script reaches its service,
and nothing else, anywhere, ever holds it."""

import json
import secrets

import httpx
import pytest

from tests.browser import log_in
from tests.conftest import TYPESENSE_KEY
from tests.fountain_fixtures import FountainService


def _register(server, service_id, name, fountain):
    response = httpx.post(f"{server.url}/services/register", json={
        "id": service_id, "name": name, "description": f"The {name}.", "openapi_url": fountain.spec_url, "tags": ["vault"],
    }, headers={"X-API-KEY": server.api_key, "X-ADMIN-API-KEY": server.admin_key})
    assert response.status_code == 201, response.text
    server.manage("refresh_specs", service_id)


def _interact(client, text) -> list[dict]:
    response = client.post("/interact", json={"user_input": text})
    assert response.status_code == 200, response.text
    return response.json()["service_responses"]


def test_after_interactions_the_secrets_are_nowhere(running_server, typesense):
    header_key, query_key = "hdr-" + secrets.token_urlsafe(24), "qry-" + secrets.token_urlsafe(24)
    characters = FountainService("Character-Service.yml", key=header_key, label="vault characters")
    paraphrases = FountainService("Paraphrase-Service.yml", key=query_key, mode="apikey-query", label="vault paraphrases")
    try:
        _register(running_server, "vault-characters", "Vault Character Service", characters)
        _register(running_server, "vault-paraphrases", "Vault Paraphrase Service", paraphrases)
        running_server.manage("service_credential", "set", "vault-characters", "apiKeyAuth", "--value-env", "VAULT_KEY",
                              env={"VAULT_KEY": header_key})
        running_server.manage("service_credential", "set", "vault-paraphrases", "apiKeyAuth", "--value-stdin", input=query_key)
        with httpx.Client(base_url=running_server.url, headers={"X-API-KEY": running_server.api_key,
                                                                "X-ADMIN-API-KEY": running_server.admin_key}) as client:
            for _ in range(2):
                assert "vault characters" in _interact(client, "get vault character 1")[0]["response"]
                assert "vault paraphrases" in _interact(client, "list vault paraphrases")[0]["response"]
            worker = running_server.manage("typesense_sync", "--once")
            places = {
                "GET /logs": client.get("/logs?limit=1000").text,
                "/metrics": client.get("/metrics").text,
                "/system-prompt": client.get("/system-prompt?service_ids=vault-characters&service_ids=vault-paraphrases").text,
                "logs_export": running_server.manage("logs_export").stdout,
                "worker output": worker.stdout + worker.stderr,
            }
        assert characters.received(header_key) and paraphrases.received(query_key)  # they were sent
        assert "Ada Protected" in places["GET /logs"] and "vault-characters" in places["/metrics"]
        assert "api_key=[redacted]" in places["logs_export"]  # the query string, as recorded

        with httpx.Client(base_url=typesense.url, headers={"X-TYPESENSE-API-KEY": TYPESENSE_KEY}) as search:
            prefix = running_server.env["TYPESENSE_COLLECTION_PREFIX"]
            names = [c["name"] for c in search.get("/collections").json() if c["name"].startswith(prefix)]
            places["Typesense"] = "".join(search.get(f"/collections/{name}/documents/export").text for name in names)
        assert "get vault character 1" in places["Typesense"]
        places["server log"] = running_server.log_path.read_text()
        database = running_server.var_dir / "db.sqlite3"
        if database.exists():
            places["database file"] = b"".join(
                path.read_bytes() for path in running_server.var_dir.glob("db.sqlite3*")).decode("latin-1")
        for where, text in places.items():
            for secret in (header_key, query_key):
                assert secret not in text, f"a secret is in {where}"
    finally:
        characters.close()
        paraphrases.close()


@pytest.mark.browser
def test_an_admin_sets_a_key_in_the_browser_and_the_assistant_gets_the_data(running_server, page):
    key = "adm-" + secrets.token_urlsafe(24)
    actions = FountainService("Action-Service.yml", key=key, label="browser actions")
    try:
        _register(running_server, "browser-actions", "Browser Action Service", actions)
        with httpx.Client(base_url=running_server.url, headers={"X-API-KEY": running_server.api_key}) as client:
            answer = _interact(client, "list browser actions")[0]["response"]
            assert "apiKeyAuth" in answer and "none is set" in answer

            url = running_server.url
            log_in(page, url, "browser", "browser-test-password")
            page.goto(f"{url}/admin/registry/service/browser-actions/change/")
            assert "operations need a secret for: apiKeyAuth" in page.inner_text("body")
            row = page.locator("#credentials-group tr.form-row").first
            assert "missing" in row.inner_text() and "X-API-KEY header" in row.inner_text()
            page.fill("input[name=credentials-0-secret]", key)
            page.click("input[name=_continue]")
            page.wait_for_selector(".messagelist")
            assert "never used" in page.inner_text("#credentials-group")
            assert page.input_value("input[name=credentials-0-secret]") == ""  # write-only: never shown back
            assert key not in page.content()

            response = _interact(client, "list browser actions")[0]["response"]
            assert "browser actions" in response and "Ada Protected" in response
            assert [r["headers"].get("X-API-KEY") for r in actions.requests if r["path"] == "/actions"] == [key]

            # A wrong key: the answer says the service refused it, and the admin shows the failure.
            page.fill("input[name=credentials-0-secret]", "a-wrong-admin-key")
            page.click("input[name=_continue]")
            page.wait_for_selector(".messagelist")
            assert "refused the credentials" in _interact(client, "list browser actions")[0]["response"]
            page.reload()
            assert "last failure" in page.inner_text("#credentials-group")

            # Clear.
            page.check("input[name=credentials-0-DELETE]")
            page.click("input[name=_continue]")
            page.wait_for_selector(".messagelist")
            assert "missing" in page.inner_text("#credentials-group")
        events = running_server.manage("shell", "-c", (
            "from audit.models import AuditEvent; import json; print(json.dumps(list(AuditEvent.objects.filter("
            "target_id='browser-actions/apiKeyAuth').values_list('action', 'actor', 'changes'))))")).stdout
        assert [e[:2] for e in json.loads(events.strip().splitlines()[-1])] == [["credential.clear", "user:browser"], ["credential.set", "user:browser"],
                                                      ["credential.set", "user:browser"]]
        assert key not in events
    finally:
        actions.close()
