"""gunicorn loads the app once, in the master, and forks every worker from it
(preload_app): a worker that max_requests recycles is replaced by a fork, not by a new
import of the project. Against gunicorn with its production configuration and workers
recycled every ~10 requests: every request is answered, each fork draws its own request
ids, and the metrics of the workers gone still add up."""

import os
import re
import subprocess
import sys

import httpx
import pytest

from tests.conftest import ROOT, _wait_http, free_port

API_KEY = "recycling-test-api-key-0123456789"
ADMIN_KEY = "recycling-test-admin-key-0123456789"


@pytest.fixture
def recycling_server(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ensemble_project.settings.test",
        "ENSEMBLE_VAR_DIR": str(tmp_path),
        "ENSEMBLE_API_KEY": API_KEY,
        "ENSEMBLE_ADMIN_API_KEY": ADMIN_KEY,
        "ENSEMBLE_ACCESS_LOG": "false",
    }
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    for command in (["migrate", "--noinput"], ["bootstrap_keys"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, capture_output=True)
    gunicorn_env = {**env, "ENSEMBLE_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "2",
                    "GUNICORN_MAX_REQUESTS": "10", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    with open(tmp_path / "server.log", "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "ensemble_project/gunicorn.conf.py"],
                                   cwd=ROOT, env=gunicorn_env, stdout=log, stderr=log)
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz")
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def _workers(master_pid: int) -> set[str]:
    return set(subprocess.run(["pgrep", "-P", str(master_pid)], capture_output=True, text=True).stdout.split())


def test_recycled_workers_are_forks_that_keep_answering_and_counting(recycling_server):
    url, master_pid = recycling_server
    # The master has the project loaded (the extension modules only the app imports are mapped in it).
    with open(f"/proc/{master_pid}/maps") as maps:
        assert "orjson" in maps.read()
    first_workers = _workers(master_pid)
    ids = []
    with httpx.Client(base_url=url, headers={"X-API-KEY": API_KEY, "Connection": "close"}, timeout=30) as client:
        for _ in range(100):
            response = client.get("/services")
            assert response.status_code == 200, response.text
            ids.append(response.headers["X-Request-ID"])
        text = client.get("/metrics", headers={"X-ADMIN-API-KEY": ADMIN_KEY}).text
    assert _workers(master_pid) - first_workers, "max_requests recycled no worker"
    assert len(set(ids)) == len(ids)  # each fork reseeded its generator of request ids
    served = float(re.search(r'ensemble_http_requests_total\{method="GET",operation="listServices",status="200"\} (\S+)',
                             text).group(1))
    assert served == 100  # the workers recycled meanwhile still count
