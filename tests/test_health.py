"""Liveness and readiness, as load balancers, Docker and Kubernetes probe them: liveness
says the process answers; readiness says whether this instance can serve, and what is
down when it is degraded. Probes pass whatever their Host header; nothing else does."""

import json
import os
import secrets
import subprocess
import sys
from datetime import timedelta

import pytest
from django.utils import timezone

from search.models import SyncEntry
from tests.conftest import ROOT, TYPESENSE_KEY, free_port, service_payload

pytestmark = pytest.mark.django_db


def _register(client_admin):
    assert client_admin.post("/services/register", service_payload(), format="json").status_code == 201


def test_liveness_answers_for_any_host_and_checks_nothing(client):
    for host in ("localhost", "127.0.0.1:8000", "10.1.2.3:8000", "evil.example"):
        response = client.get("/healthz", HTTP_HOST=host)
        assert response.status_code == 200 and response.json() == {"status": "ok"}, host
        assert "no-store" in response["Cache-Control"]
    assert client.head("/healthz", HTTP_HOST="10.1.2.3").status_code == 200
    assert client.post("/healthz", HTTP_HOST="localhost").status_code == 405


def test_only_the_probes_skip_host_checking(client):
    assert client.get("/readyz", HTTP_HOST="10.1.2.3:8000").status_code == 200
    for path in ("/", "/services", "/docs", "/openapi.yml", "/admin/login/", "/healthz/", "/healthzx"):
        assert client.get(path, HTTP_HOST="evil.example").status_code == 400, path


def test_readiness_is_degraded_while_typesense_is_down(client, client_admin, typesense, clean_typesense):
    _register(client_admin)
    body = client.get("/readyz", HTTP_HOST="localhost").json()
    assert body["status"] == "ok" and body["down"] == []
    assert body["database"] == "ok" and body["typesense"] == "ok" and body["backlog"]["pending"] == 1
    typesense.stop()
    response = client.get("/readyz", HTTP_HOST="localhost")
    # Still 200: requests are served without Typesense (changes wait in the outbox).
    assert response.status_code == 200
    assert response.json()["status"] == "degraded" and response.json()["down"] == ["typesense"]
    assert response.json()["typesense"] == "unreachable"
    assert client.get("/healthz", HTTP_HOST="localhost").status_code == 200
    typesense.start()
    assert client.get("/readyz", HTTP_HOST="localhost").json()["status"] == "ok"


def test_readiness_is_degraded_when_changes_wait_longer_than_the_logs_tolerate(client, client_admin, settings, clean_typesense):
    _register(client_admin)
    SyncEntry.objects.update(created_at=timezone.now() - timedelta(seconds=settings.ENSEMBLE_LOGS_MAX_SYNC_LAG_SECONDS + 5))
    body = client.get("/readyz", HTTP_HOST="localhost").json()
    assert body["status"] == "degraded" and body["down"] == ["search_sync"]
    assert body["backlog"]["oldest_pending_seconds"] > settings.ENSEMBLE_LOGS_MAX_SYNC_LAG_SECONDS


def test_without_a_database_readiness_fails_and_liveness_holds(typesense):
    """Production settings, PostgreSQL on a port where nothing listens."""
    code = (
        "import django, json; django.setup(); from django.test import Client; c = Client();"
        "r = c.get('/readyz', HTTP_HOST='10.0.0.5:8000'); l = c.get('/healthz', HTTP_HOST='10.0.0.5:8000');"
        "print(json.dumps({'ready': [r.status_code, r.json()], 'live': l.status_code}))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "ENSEMBLE_"))}
    env.update(DJANGO_SETTINGS_MODULE="ensemble_project.settings.production", DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
               DJANGO_ALLOWED_HOSTS="ensemble.example.com", ENSEMBLE_CREDENTIALS_KEYS="0TWgvxsmbWQqDDmbYhKH6ePcNu0gvCA_vG7KI6aLGJ0=",
               DATABASE_URL=f"postgres://nobody:x@127.0.0.1:{free_port()}/none", TYPESENSE_URLS=typesense.url,
               TYPESENSE_API_KEY=TYPESENSE_KEY, ENSEMBLE_LOG_LEVEL="CRITICAL")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    status, body = answer["ready"]
    assert status == 503 and body["status"] == "unavailable" and body["down"] == ["database"]
    assert body["database"].startswith("error: ") and body["typesense"] == "ok"
    assert answer["live"] == 200
