"""Production settings refuse unsafe configurations; the admin creates keys (shown
once), revokes them, and applies the registry's rules."""

import os
import secrets
import subprocess
import sys

import pytest

from apikeys.models import ApiKey
from registry.models import Service
from tests.conftest import ROOT

CREDENTIALS_KEY = "0TWgvxsmbWQqDDmbYhKH6ePcNu0gvCA_vG7KI6aLGJ0="


def import_production(**env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k != "ENSEMBLE_CREDENTIALS_KEYS"}
    environment.update({"ENSEMBLE_CREDENTIALS_KEYS": CREDENTIALS_KEY, **env}, DJANGO_SETTINGS_MODULE="ensemble_project.settings.production")
    return subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=environment,
                          capture_output=True, text=True)


def test_production_refuses_debug_and_weak_or_missing_secrets():
    assert "DJANGO_SECRET_KEY" in import_production().stderr
    assert "DJANGO_DEBUG" in import_production(DJANGO_SECRET_KEY="x" * 60, DJANGO_DEBUG="true").stderr
    assert "at least 50" in import_production(DJANGO_SECRET_KEY="short").stderr
    assert "at least 50" in import_production(DJANGO_SECRET_KEY="y" * 64).stderr  # not random
    assert import_production(DJANGO_SECRET_KEY=secrets.token_urlsafe(50)).returncode == 0


def test_production_refuses_to_start_without_a_credentials_key():
    secret = secrets.token_urlsafe(50)
    assert "ENSEMBLE_CREDENTIALS_KEYS" in import_production(DJANGO_SECRET_KEY=secret, ENSEMBLE_CREDENTIALS_KEYS="").stderr
    assert "not a Fernet key" in import_production(DJANGO_SECRET_KEY=secret, ENSEMBLE_CREDENTIALS_KEYS="not-a-key").stderr


def test_production_passes_the_deploy_checks():
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    environment.update(DJANGO_SETTINGS_MODULE="ensemble_project.settings.production", DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
                       DATABASE_URL="sqlite:////tmp/ensemble-deploy-check.sqlite3", ENSEMBLE_CREDENTIALS_KEYS=CREDENTIALS_KEY)
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_malformed_environment_values_fail_loudly():
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "ensemble_project.settings.development", "SEARCH_SYNC_BATCH_SIZE": "many"}
    result = subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=environment,
                            capture_output=True, text=True)
    assert "SEARCH_SYNC_BATCH_SIZE='many' is not an integer" in result.stderr


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_admin_creates_a_key_shows_it_once_and_revokes_it(admin_client, client):
    response = admin_client.post("/admin/apikeys/apikey/add/", {"name": "ci robot", "is_admin": "on"}, follow=True)
    message = next(str(m) for m in response.context["messages"])
    raw = message.split("The new key is ")[1].split(" ")[0]
    key = ApiKey.objects.get(name="ci robot")
    assert key.is_admin and raw.startswith(key.prefix) and raw not in key.digest
    assert client.get("/services", HTTP_X_API_KEY=raw).status_code == 200
    page = admin_client.get(f"/admin/apikeys/apikey/{key.pk}/change/").content.decode()
    assert raw not in page  # never shown again
    admin_client.post("/admin/apikeys/apikey/", {"action": "revoke_selected", "_selected_action": [key.pk]})
    assert client.get("/services", HTTP_X_API_KEY=raw).status_code == 401


@pytest.mark.django_db
def test_admin_service_form_applies_the_api_rules(admin_client):
    data = {"id": "ok-id", "name": "  ", "description": "", "openapi_url": "ftp://x/spec", "tags": "a, b,, a"}
    response = admin_client.post("/admin/registry/service/add/", data)
    errors = response.context["adminform"].form.errors
    assert "name" in errors and "openapi_url" in errors and not Service.objects.exists()
    data.update(name="Fine", openapi_url="http://svc:8080/spec.yml")
    response = admin_client.post("/admin/registry/service/add/", data)
    assert response.status_code == 302
    assert Service.objects.get().tag_list == ["a", "b"]


@pytest.mark.django_db
def test_admin_registration_that_loses_a_race_is_a_form_error(admin_client, monkeypatch):
    from registry import admin as registry_admin
    from registry import services

    # Another writer registers the id after this form's uniqueness check ran (the check
    # is skipped to pin that interleaving), before the admin's save.
    services.service_register(id="raced", name="First", description="", openapi_url="http://svc/spec.yml", tags=[])
    monkeypatch.setattr(registry_admin.ServiceForm, "validate_unique", lambda self: None)
    data = {"id": "raced", "name": "Second", "description": "", "openapi_url": "http://svc/other.yml", "tags": ""}
    response = admin_client.post("/admin/registry/service/add/", data)
    assert response.status_code == 200
    assert "already" in " ".join(response.context["adminform"].form.non_field_errors())
    assert Service.objects.get().name == "First"


@pytest.mark.django_db
def test_admin_prompt_preview(admin_client, file_server):
    from prompts.services import spec_refresh
    from registry import services

    url = file_server.add("/p.yml", "openapi: 3.0.0\ninfo: {title: P, version: '1'}\npaths:\n  /x:\n    get: {operationId: getX, responses: {'200': {description: ok}}}\n")
    spec_refresh(service=services.service_register(id="p", name="P", description="", openapi_url=url, tags=[]))
    response = admin_client.post("/admin/registry/service/", {"action": "preview_prompt", "_selected_action": ["p"]})
    assert b"getX: GET /x" in response.content and b"estimate" in response.content


@pytest.mark.django_db
def test_models_and_migrations_agree():
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)  # exits non-zero when one is missing


def test_the_production_profile_releases_and_serves(typesense, tmp_path):
    """scripts/production.sh as the image runs it: release (deploy checks, migrations,
    collections), then web (gunicorn with its config), configured by environment only."""
    import httpx

    from tests.conftest import TYPESENSE_KEY, _wait_http, free_port

    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ENSEMBLE_"))}
    env.update(DJANGO_SETTINGS_MODULE="ensemble_project.settings.production", DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
               DJANGO_ALLOWED_HOSTS="127.0.0.1", DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}",
               TYPESENSE_URLS=typesense.url, TYPESENSE_API_KEY=TYPESENSE_KEY, TYPESENSE_COLLECTION_PREFIX=f"prod{port}_",
               ENSEMBLE_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="2", PYTHON=sys.executable,
               ENSEMBLE_API_KEY="production-profile-key-0123", ENSEMBLE_VAR_DIR=str(tmp_path),
               ENSEMBLE_CREDENTIALS_KEYS=CREDENTIALS_KEY)
    release = subprocess.run(["bash", "scripts/production.sh", "release"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert release.returncode == 0, release.stdout + release.stderr
    assert "services: alias ->" in release.stdout
    subprocess.run([sys.executable, "manage.py", "bootstrap_keys"], cwd=ROOT, env=env, check=True, capture_output=True)
    with open(tmp_path / "web.log", "wb") as log:
        web = subprocess.Popen(["bash", "scripts/production.sh", "web"], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            assert client.get("/healthz").status_code == 200  # not redirected: probes speak plain HTTP
            # Everything else is sent to HTTPS, as a proxy in front would terminate it.
            redirect = client.get("/services", headers={"X-API-KEY": "production-profile-key-0123"})
            assert redirect.status_code == 301 and redirect.headers["Location"].startswith("https://")
            behind_proxy = client.get("/services", headers={"X-API-KEY": "production-profile-key-0123",
                                                             "X-Forwarded-Proto": "https"})
            assert behind_proxy.status_code == 200 and "Strict-Transport-Security" in behind_proxy.headers
    finally:
        web.terminate()
        web.wait(timeout=30)
