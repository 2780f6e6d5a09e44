"""Observability: a request id that follows a request everywhere, JSON logs, and the
Prometheus metrics endpoint (protected like the admin, summed over gunicorn workers)."""

import json
import logging
import re

import httpx
import pytest
from django.test import Client

from interactions.models import InteractionLog
from tests.contract import assert_error

pytestmark = pytest.mark.django_db

SPEC = """
openapi: 3.0.0
info: {title: Traced, version: '1'}
paths:
  /fail:
    get: {operationId: getFailure, summary: Get a failure, responses: {'200': {description: ok}}}
"""


def test_every_answer_carries_a_request_id(client_api):
    generated = client_api.get("/services")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert client_api.get("/services", HTTP_X_REQUEST_ID="caller-trace-0001")["X-Request-ID"] == "caller-trace-0001"
    # Anything that is not a short token is replaced, never echoed (no header injection, no log forging).
    for hostile in ("short", "x" * 65, "two words here", 'quote"and;semicolon'):
        answer = client_api.get("/services", HTTP_X_REQUEST_ID=hostile)["X-Request-ID"]
        assert answer != hostile and re.fullmatch(r"[0-9a-f]{32}", answer)
    assert Client().get("/nowhere")["X-Request-ID"]  # plain Django answers too


def test_the_request_id_reaches_the_log_row_and_the_called_service(client_api, file_server):
    from prompts.services import spec_refresh
    from registry import services

    url = file_server.add("/traced.yml", SPEC)
    spec_refresh(service=services.service_register(id="traced", name="Traced", description="", openapi_url=url, tags=[]))
    response = client_api.post("/interact", {"user_input": "get failure"}, format="json", HTTP_X_REQUEST_ID="trace-abc-12345")
    assert response.status_code == 200
    assert InteractionLog.objects.get().request_id == "trace-abc-12345"
    called = [headers for path, headers in file_server.requests if path == "/fail"]
    assert called and called[0].get("X-Request-ID") == "trace-abc-12345"


def test_rejected_interactions_keep_the_request_id_too(client_api):
    client_api.post("/interact", {"user_input": ""}, format="json", HTTP_X_REQUEST_ID="trace-rejected-1")
    assert InteractionLog.objects.get().request_id == "trace-rejected-1"


def test_log_lines_are_json_with_the_request_id():
    from core.observability import JsonFormatter, bind_request_id

    bind_request_id("trace-json-00001")
    try:
        record = logging.LogRecord("ensemble.test", logging.WARNING, __file__, 1, "hello %s", ("world",), None)
        record.status = 503
        line = json.loads(JsonFormatter().format(record))
    finally:
        bind_request_id("")
    assert line["message"] == "hello world" and line["level"] == "WARNING" and line["logger"] == "ensemble.test"
    assert line["request_id"] == "trace-json-00001" and line["status"] == 503 and line["time"].endswith("Z")


def test_metrics_need_the_admin_key_or_a_staff_login(client_api, api_keys, admin_client):
    assert_error(Client().get("/metrics"), None, 401, "UNAUTHORIZED")
    assert_error(Client().get("/metrics", HTTP_X_ADMIN_API_KEY=api_keys["api"]), None, 401, "UNAUTHORIZED")
    assert_error(Client().get("/metrics", HTTP_X_API_KEY=api_keys["admin"]), None, 401)  # wrong header
    client_api.get("/services")
    response = Client().get("/metrics", HTTP_X_ADMIN_API_KEY=api_keys["admin"], HTTP_ACCEPT="text/plain;version=0.0.4")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    assert re.search(r'ensemble_http_requests_total\{method="GET",operation="listServices",status="200"\} [1-9]', text)
    assert 'ensemble_sync_backlog{index="services"}' in text
    assert admin_client.get("/metrics").status_code == 200


def test_metrics_refuse_a_logged_in_user_who_is_not_staff(django_user_model):
    django_user_model.objects.create_user("viewer", password="a-long-test-password")
    client = Client()
    client.login(username="viewer", password="a-long-test-password")
    assert_error(client.get("/metrics"), None, 403, "FORBIDDEN")


def test_assistant_and_service_calls_are_measured(client_api, demo_services, api_keys):
    client_api.post("/interact", {"user_input": "get character 1"}, format="json")
    text = Client().get("/metrics", HTTP_X_ADMIN_API_KEY=api_keys["admin"]).content.decode()
    assert re.search(r'ensemble_assistant_calls_total\{backend="local",outcome="answered"\} [1-9]', text)
    assert re.search(r'ensemble_service_calls_total\{outcome="ok",service="character-service"\} [1-9]', text)
    assert 'ensemble_service_call_duration_seconds_count{service="character-service"}' in text


def test_gunicorn_workers_metrics_add_up_and_logs_are_json(running_server):
    with httpx.Client(base_url=running_server.url, headers={"X-API-KEY": running_server.api_key}) as client:
        ids = [client.get("/healthz", headers={"X-Request-ID": f"trace-gunicorn-{i:04d}"}).headers["X-Request-ID"]
               for i in range(40)]
        text = client.get("/metrics", headers={"X-ADMIN-API-KEY": running_server.admin_key}).text
    count = float(re.search(r'ensemble_http_requests_total\{method="GET",operation="healthz",status="200"\} (\S+)', text).group(1))
    assert count >= 40  # two workers served them; the sum covers both
    lines = [json.loads(line) for line in running_server.log_path.read_text().splitlines() if line.startswith("{")]
    access = {line.get("request_id"): line for line in lines if line["logger"] == "ensemble.access"}
    assert all(access[i]["status"] == 200 and access[i]["path"] == "/healthz" for i in ids[:40])


def test_the_sync_worker_serves_its_own_metrics(running_server):
    """The worker is its own process (often its own container): its delivery counters are
    served by it, on an address of the operator's choosing."""
    import time

    from tests.conftest import free_port

    port = free_port()
    worker = running_server.spawn("typesense_sync", "--metrics-address", f"127.0.0.1:{port}")
    try:
        with httpx.Client(base_url=running_server.url, headers={"X-API-KEY": running_server.api_key,
                                                               "X-ADMIN-API-KEY": running_server.admin_key}) as client:
            client.post("/services/register", json={"id": "metered", "name": "Metered", "description": "",
                                                     "openapi_url": "http://127.0.0.1:9/o.yml"})
        deadline, text = time.monotonic() + 20, ""
        while time.monotonic() < deadline and 'ensemble_sync_deliveries_total{index="services",outcome="delivered"}' not in text:
            time.sleep(0.3)
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
            except httpx.HTTPError:
                pass
        assert 'ensemble_sync_deliveries_total{index="services",outcome="delivered"}' in text
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        with httpx.Client(base_url=running_server.url, headers={"X-ADMIN-API-KEY": running_server.admin_key}) as client:
            client.delete("/services/delete/metered")
