"""Issue 19: a read writes nothing. The three read operations make no INSERT, UPDATE or
DELETE once a key's throttle slice is claimed and its last use is recorded (both at most
once per slice / minute), and throttling still holds across two gunicorn instances of
two workers each on one database, with per-process slices instead of a write per hit."""

import os
import subprocess
import sys
import time

import httpx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import ROOT, TYPESENSE_KEY, _wait_http, free_port

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def _writes(queries) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(WRITES)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/services", "/services?tags=demo", "/system-prompt?service_ids=character-service", "/logs"])
def test_a_read_makes_no_database_write(settings, demo_services, client_api, path):
    settings.ENSEMBLE_THROTTLE_RATE = "1200/minute"
    settings.ENSEMBLE_AUTH_FAILURE_RATE = "20/minute"
    assert client_api.post("/interact", {"user_input": "get character 1"}, format="json").status_code == 200
    assert client_api.get(path).status_code == 200  # claims a throttle slice, records the key's use
    for _ in range(3):
        with CaptureQueriesContext(connection) as captured:
            response = client_api.get(path)
        assert response.status_code == 200
        assert captured.captured_queries, "the key lookup is a query: the capture works"
        assert _writes(captured.captured_queries) == [], path


def _start(env, port, log):
    gunicorn_env = {**env, "ENSEMBLE_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4",
                    "GUNICORN_TIMEOUT": "60", "PROMETHEUS_MULTIPROC_DIR": str(env["ENSEMBLE_VAR_DIR"]) + f"/metrics{port}"}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "ensemble_project/gunicorn.conf.py"],
                               cwd=ROOT, env=gunicorn_env, stdout=log, stderr=log)
    _wait_http(f"http://127.0.0.1:{port}/healthz")
    return process


@pytest.fixture
def two_instances(typesense, tmp_path):
    """Two gunicorn instances (two workers each) on one database, throttling on."""
    api_key = "throttle-test-api-key-" + os.urandom(6).hex()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ensemble_project.settings.test",
        "ENSEMBLE_VAR_DIR": str(tmp_path),
        "ENSEMBLE_API_KEY": api_key,
        "TYPESENSE_URLS": typesense.url,
        "TYPESENSE_API_KEY": TYPESENSE_KEY,
        "TYPESENSE_COLLECTION_PREFIX": "throttle_",
        "ENSEMBLE_THROTTLE_RATE": "100/hour",  # slices of 2; an hour window rarely turns during the test
        "ENSEMBLE_AUTH_FAILURE_RATE": "5/hour",
        "ENSEMBLE_ACCESS_LOG": "false",
    }
    env.pop("ENSEMBLE_ADMIN_API_KEY", None)
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    # On PostgreSQL the instances share the server's database with earlier runs: start
    # from empty counters, or an earlier run's failed authentications would still count.
    forget = "from apikeys.models import RateLimitCounter; RateLimitCounter.objects.all().delete()"
    for command in (["migrate", "--noinput"], ["bootstrap_keys"], ["shell", "-c", forget]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)
    ports = [free_port(), free_port()]
    processes = []
    with open(tmp_path / "server.log", "ab") as log:
        try:
            for port in ports:
                processes.append(_start(env, port, log))
            yield [f"http://127.0.0.1:{port}" for port in ports], api_key
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)


def test_throttling_holds_across_two_instances_of_two_workers(two_instances):
    urls, api_key = two_instances
    # The hour window is aligned to the clock: do not start in its last minute.
    time.sleep(max(0.0, 60 - (3600 - time.time() % 3600)))
    clients = [httpx.Client(base_url=url, headers={"X-API-KEY": api_key}, timeout=30) for url in urls]
    try:
        # New connections each time so requests land on every worker of both instances.
        statuses, retry_after = [], []
        for i in range(130):
            response = clients[i % 2].get("/services", headers={"Connection": "close"})
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert response.json()["errorCode"] == "RATE_LIMITED"
                retry_after.append(int(response.headers["Retry-After"]))
        served = statuses.count(200)
        # Never more than the limit; at most (4 processes - 1) x (slice 2 - 1) refused early.
        assert 97 <= served <= 100, served
        assert statuses.count(429) == 130 - served and all(r >= 1 for r in retry_after)
        # Once the shared allowance is spent, only what other processes still hold of
        # their slices is served (whenever a request happens to land on them), never more.
        after_first_refusal = statuses[statuses.index(429):]
        assert after_first_refusal.count(200) <= 3, statuses

        # Failed authentications on one instance block the address on the other, before
        # any key is looked at (a good key included).
        for _ in range(5):
            guess = clients[0].get("/services", headers={"X-API-KEY": "ens_" + os.urandom(20).hex()})
            assert guess.status_code == 401
        blocked = clients[1].get("/services")
        assert blocked.status_code == 429 and "failed authentications" in blocked.json()["message"]
    finally:
        for client in clients:
            client.close()
