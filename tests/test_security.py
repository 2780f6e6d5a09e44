"""The security list of the production issue, each point automated:
keys cannot be guessed (failures are throttled), every operation is throttled per key,
a revoked or expired key stops at once, rotation keeps both keys working for the grace
period, the admin needs a login and CSRF, no secret reaches the logs, and the production
profile sends its security headers and secure cookies."""

import io
import json
import os
import secrets
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.models import ApiKey
from apikeys.services import api_key_rotate
from tests.conftest import ROOT, service_payload
from tests.contract import assert_error

pytestmark = pytest.mark.django_db


def _client(address="10.1.2.3", **headers) -> APIClient:
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(**headers)
    return client


def test_guessing_keys_is_throttled_per_address(settings, api_keys):
    settings.ENSEMBLE_AUTH_FAILURE_RATE = "5/minute"
    guesser = _client()
    for _ in range(5):
        guess = "ens_" + secrets.token_urlsafe(32)
        assert_error(guesser.get("/services", HTTP_X_API_KEY=guess), "listServices", 401, "UNAUTHORIZED")
    # Past the limit the address is refused before any key is looked at, even a good one.
    response = guesser.get("/services", HTTP_X_API_KEY=api_keys["api"])
    body = assert_error(response, "listServices", 429, "RATE_LIMITED")
    assert "failed authentications" in body["message"] and int(response["Retry-After"]) >= 1
    # Wrong admin keys count too, and other addresses are not affected.
    assert _client("10.9.9.9").get("/services", HTTP_X_API_KEY=api_keys["api"]).status_code == 200


def test_a_normal_key_in_the_admin_header_counts_as_a_failure(settings, api_keys):
    settings.ENSEMBLE_AUTH_FAILURE_RATE = "2/minute"
    client = _client("10.1.2.4")
    for _ in range(2):
        response = client.post("/services/register", service_payload(), format="json", HTTP_X_ADMIN_API_KEY=api_keys["api"])
        assert_error(response, "registerService", 401)
    assert_error(client.post("/services/register", service_payload(), format="json", HTTP_X_ADMIN_API_KEY=api_keys["admin"]),
                 "registerService", 429, "RATE_LIMITED")


@pytest.mark.parametrize("method,path,operation", [
    ("get", "/services", "listServices"),
    ("post", "/services/register", "registerService"),
    ("put", "/services/update/some-service", "updateService"),
    ("delete", "/services/delete/some-service", "deleteService"),
    ("get", "/system-prompt?service_ids=some-service", "generateSystemPrompt"),
    ("post", "/interact", "handleUserInput"),
    ("get", "/logs", "retrieveLogs"),
])
def test_every_operation_is_throttled_per_key(settings, api_keys, method, path, operation):
    settings.ENSEMBLE_THROTTLE_RATE = "2/minute"
    client = _client(HTTP_X_API_KEY=api_keys["admin"], HTTP_X_ADMIN_API_KEY=api_keys["admin"])
    for _ in range(2):
        assert client.get("/services").status_code == 200
    response = getattr(client, method)(path, {"user_input": "hi"} if method != "get" else None, format="json")
    assert_error(response, operation, 429, "RATE_LIMITED")
    # The limit is the key's, not the address's: another key from the same address goes on.
    other = _client(HTTP_X_API_KEY=api_keys["api"])
    assert other.get("/services").status_code == 200


def test_throttle_counts_are_shared_by_every_process(settings, api_keys):
    """The counter lives in the database: hits made by another process (another gunicorn
    worker, another machine) count against the same key."""
    settings.ENSEMBLE_THROTTLE_RATE = "3/minute"
    key = ApiKey.objects.get(name="test client")
    from apikeys.ratelimit import rate_limit_hit

    for _ in range(3):  # what two other workers did
        assert rate_limit_hit(f"key:{key.pk}", "3/minute") is None
    assert_error(_client(HTTP_X_API_KEY=api_keys["api"]).get("/services"), "listServices", 429, "RATE_LIMITED")


def test_revoked_key_stops_working_at_once_on_every_worker(running_server):
    """Against gunicorn with two workers: no worker caches a key."""
    raw_key = running_server.manage("apikey", "create", "--name", "to revoke").stdout.strip()
    with httpx.Client(base_url=running_server.url, headers={"X-API-KEY": raw_key}) as client:
        assert all(client.get("/services").status_code == 200 for _ in range(6))
        running_server.manage("apikey", "revoke", raw_key[:12])
        statuses = [client.get("/services").status_code for _ in range(6)]
    assert statuses == [401] * 6


def test_expired_key_stops_and_rotation_keeps_both_keys_for_the_grace_period(api_keys):
    old = ApiKey.objects.get(name="test client")
    new_key, new_raw = api_key_rotate(key=old, grace=timedelta(hours=1), actor="test")
    for raw in (api_keys["api"], new_raw):
        assert _client(HTTP_X_API_KEY=raw).get("/services").status_code == 200
    old.refresh_from_db()
    assert old.expires_at is not None and new_key.expires_at is None
    ApiKey.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(_client(HTTP_X_API_KEY=api_keys["api"]).get("/services"), "listServices", 401, "UNAUTHORIZED")
    assert _client(HTTP_X_API_KEY=new_raw).get("/services").status_code == 200


def test_last_used_time_is_recorded(api_keys):
    assert ApiKey.objects.get(name="test client").last_used_at is None
    _client(HTTP_X_API_KEY=api_keys["api"]).get("/services")
    assert ApiKey.objects.get(name="test client").last_used_at is not None


def test_rotate_command_prints_a_new_key_and_schedules_the_old_one(api_keys):
    out, err = io.StringIO(), io.StringIO()
    call_command("apikey", "rotate", api_keys["api"][:12], "--grace-hours", "2", stdout=out, stderr=err)
    new_raw = out.getvalue().strip()
    assert new_raw.startswith("ens_") and "stops working at" in err.getvalue()
    assert _client(HTTP_X_API_KEY=new_raw).get("/services").status_code == 200
    old = ApiKey.objects.get(prefix=api_keys["api"][:12])
    assert timedelta(hours=1.9) < old.expires_at - timezone.now() < timedelta(hours=2.1)


def test_admin_pages_need_a_login():
    client = Client()
    for path in ("/admin/", "/admin/registry/service/", "/admin/apikeys/apikey/", "/admin/audit/auditevent/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), path


def test_admin_changes_need_the_csrf_token():
    User.objects.create_superuser("root", "root@example.com", "a-long-test-password")
    client = Client(enforce_csrf_checks=True)
    assert client.login(username="root", password="a-long-test-password")
    form = {"id": "csrf-svc", "name": "CSRF", "description": "d", "openapi_url": "https://example.com/openapi.yml",
            "tags": ""}
    assert client.post("/admin/registry/service/add/", form).status_code == 403
    page = client.get("/admin/registry/service/add/")
    form["csrfmiddlewaretoken"] = page.context["csrf_token"]
    assert client.post("/admin/registry/service/add/", form).status_code == 302
    # And logging in itself needs the token.
    anonymous = Client(enforce_csrf_checks=True)
    assert anonymous.post("/admin/login/", {"username": "root", "password": "a-long-test-password"}).status_code == 403


def test_no_secret_appears_in_the_server_logs(running_server):
    """Requests that carry every kind of secret, good and bad; then the log file of the
    gunicorn server (app JSON lines and gunicorn's own) must hold none of them."""
    wrong_key = "ens_" + secrets.token_urlsafe(32)
    with httpx.Client(base_url=running_server.url) as client:
        client.get("/services", headers={"X-API-KEY": running_server.api_key})
        client.get("/services", headers={"X-API-KEY": wrong_key})
        client.post("/services/register", json=service_payload(), headers={"X-ADMIN-API-KEY": wrong_key})
        client.get("/services?api_key=" + wrong_key, headers={"X-API-KEY": running_server.api_key})
        client.post("/interact", json={"user_input": "hello"}, headers={"X-API-KEY": running_server.api_key,
                                                                         "Authorization": f"Bearer {wrong_key}"})
        client.post("/admin/login/", data={"username": "admin", "password": running_server.env["DJANGO_SUPERUSER_PASSWORD"]})
        client.get("/metrics", headers={"X-ADMIN-API-KEY": running_server.admin_key})
    log = running_server.log_path.read_text()
    assert '"logger": "ensemble.access"' in log  # the log is really being written
    for secret in (running_server.api_key, running_server.admin_key, wrong_key, running_server.env["TYPESENSE_API_KEY"],
                   running_server.env["DJANGO_SUPERUSER_PASSWORD"]):
        assert secret not in log


def _production_response(path: str, *, secure: bool):
    """A request through the production settings, in a fresh interpreter."""
    code = (
        "import django, json; django.setup();"
        "from django.core.management import call_command; call_command('migrate', verbosity=0);"
        "from django.test import Client;"
        f"r = Client().get({path!r}, secure={secure}, HTTP_HOST='ensemble.example.com');"
        "print(json.dumps({'status': r.status_code, 'headers': dict(r.headers),"
        " 'cookies': {k: {'secure': bool(v['secure'])} for k, v in r.cookies.items()}}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DJANGO_SETTINGS_MODULE="ensemble_project.settings.production", DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
               DJANGO_ALLOWED_HOSTS="ensemble.example.com", DATABASE_URL="sqlite://:memory:",
               ENSEMBLE_CREDENTIALS_KEYS="0TWgvxsmbWQqDDmbYhKH6ePcNu0gvCA_vG7KI6aLGJ0=")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_redirects_to_https_and_sends_security_headers():
    plain = _production_response("/services", secure=False)
    assert plain["status"] == 301 and plain["headers"]["Location"] == "https://ensemble.example.com/services"
    # Health probes inside the network are not redirected.
    assert _production_response("/healthz", secure=False)["status"] == 200
    response = _production_response("/admin/login/", secure=True)
    headers = response["headers"]
    assert "max-age=31536000" in headers["Strict-Transport-Security"]
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin" and headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["cookies"]["csrftoken"]["secure"] is True
