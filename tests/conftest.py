"""Shared fixtures. A real Typesense server is started once per test session (the
bundled 0.24.1 binary, on a free loopback port, in a temporary folder)."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT / "scripts"))

import typesense_server  # noqa: E402 - after sys.path names the scripts folder

from tests.browser import chromium_page, ensure_superuser  # noqa: E402 - kept below the path set-up above

TYPESENSE_KEY = "test-typesense-key"


free_port = typesense_server.free_port


class TypesenseProcess:
    """The test session's Typesense; tests may stop and start it to simulate outages."""

    def __init__(self):
        self.port = typesense_server.free_port_pair()  # it peers on port + 1: both must be free
        self.data_dir = Path(tempfile.mkdtemp(prefix="ensemble-typesense-"))
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self.process = typesense_server.start(port=self.port, data_dir=self.data_dir, api_key=TYPESENSE_KEY)

    def stop(self):
        # Time for a clean shutdown: a server killed mid-write recovers on its next start,
        # which on a busy machine can outlast the start's wait (kill() is the hard stop).
        typesense_server.stop(data_dir=self.data_dir, timeout=20)
        if self.process:
            self.process.wait(timeout=30)
        self.process = None

    def kill(self):
        if self.process:
            self.process.kill()
            self.process.wait(timeout=30)
            self.process = None
            (self.data_dir / "typesense.pid").unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def _fresh_rate_limit_slices():
    """Each test's database starts with no throttle counters; so must this process's
    slices of them (apikeys/ratelimit.py keeps them in memory)."""
    from apikeys.ratelimit import rate_limit_forget

    rate_limit_forget()
    yield
    rate_limit_forget()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's test database, and before it is dropped (PostgreSQL refuses while
    a connection is open), the spec-fetch pool's threads close theirs: they keep one
    between fetches, as request threads do."""
    yield
    from prompts import tasks

    tasks.close_pool_connections()


@pytest.fixture(scope="session", autouse=True)
def typesense():
    server = TypesenseProcess()
    server.start()
    settings.TYPESENSE_URLS = [server.url]
    settings.TYPESENSE_API_KEY = TYPESENSE_KEY
    settings.TYPESENSE_CONNECTION_TIMEOUT = 2.0
    yield server
    server.stop()
    shutil.rmtree(server.data_dir, ignore_errors=True)


@pytest.fixture
def clean_typesense(typesense):
    """Each test that reads the index starts from no collections of ours."""
    from search.backend import get_backend

    if typesense.process is None:
        typesense.start()
    backend = get_backend()
    for alias in backend.client.aliases.retrieve().get("aliases", []):
        if alias["name"].startswith(settings.TYPESENSE_COLLECTION_PREFIX):
            backend.client.aliases[alias["name"]].delete()
    for name in backend.list_collections():
        if name.startswith(settings.TYPESENSE_COLLECTION_PREFIX):
            backend.drop_collection(name)
    yield backend
    if typesense.process is None:
        typesense.start()


@pytest.fixture
def api_keys(db):
    from apikeys.services import api_key_create

    _, normal = api_key_create(name="test client", is_admin=False)
    _, admin = api_key_create(name="test admin", is_admin=True)
    return {"api": normal, "admin": admin}


@pytest.fixture
def client_api(api_keys):
    """A DRF test client sending the normal key."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_keys["api"])
    return client


@pytest.fixture
def client_admin(api_keys):
    """A DRF test client sending both keys, as an admin tool would."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_X_API_KEY=api_keys["api"], HTTP_X_ADMIN_API_KEY=api_keys["admin"])
    return client


def service_payload(**overrides):
    payload = {
        "id": "character-service",
        "name": "Character Service",
        "description": "Manages character data and interactions.",
        "openapi_url": "https://character-service.fountain.coach/openapi.json",
        "tags": ["core", "stable"],
    }
    payload.update(overrides)
    return payload


# --- a real server, as users run it ------------------------------------------------------


class RunningServer:
    def __init__(self, url, api_key, admin_key, env, var_dir):
        self.url, self.api_key, self.admin_key, self.env, self.var_dir = url, api_key, admin_key, env, var_dir
        # gunicorn's and the app's log lines (JSON), for the tests that read them.
        self.log_path = var_dir / "server.log"

    def manage(self, *args, env=None, **kwargs):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env={**self.env, **(env or {})}, check=True,
            capture_output=True, text=True, **kwargs
        )

    def spawn(self, *args, env=None) -> subprocess.Popen:
        """A manage.py command in the background with the server's settings (e.g. a sync worker)."""
        return subprocess.Popen(
            [sys.executable, "manage.py", *args], cwd=ROOT, env={**self.env, **(env or {})},
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )

    def status_code(self) -> int:
        """Exit code of `manage.py typesense_status` for the server's database and index."""
        return subprocess.run(
            [sys.executable, "manage.py", "typesense_status"], cwd=ROOT, env=self.env, capture_output=True
        ).returncode


def _wait_http(url: str, seconds: float = 30):
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


@pytest.fixture(scope="session")
def running_server(typesense, tmp_path_factory):
    """gunicorn serving the project on a free port, with its own database (a SQLite
    file, or the PostgreSQL server given by DATABASE_URL) and the session's Typesense."""
    var_dir = tmp_path_factory.mktemp("server")
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "ensemble_project.settings.test",
        "ENSEMBLE_VAR_DIR": str(var_dir),
        "ENSEMBLE_API_KEY": "live-test-api-key-0123456789",
        "ENSEMBLE_ADMIN_API_KEY": "live-test-admin-key-0123456789",
        "TYPESENSE_URLS": typesense.url,
        "TYPESENSE_API_KEY": TYPESENSE_KEY,
        "TYPESENSE_COLLECTION_PREFIX": f"live{port}_",
        "DJANGO_SUPERUSER_PASSWORD": "browser-test-password",
        # Property-based tests register services with random URLs: contact none of them.
        "ENSEMBLE_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1",
    }
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        env["DATABASE_URL"] = f"sqlite:///{var_dir / 'db.sqlite3'}"
    server = RunningServer(f"http://127.0.0.1:{port}", env["ENSEMBLE_API_KEY"], env["ENSEMBLE_ADMIN_API_KEY"], env, var_dir)
    server.manage("migrate", "--noinput")
    server.manage("bootstrap_keys")
    # The production gunicorn configuration (metrics from several workers, JSON logs).
    gunicorn_env = {**env, "ENSEMBLE_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4",
                    "GUNICORN_TIMEOUT": "60", "PROMETHEUS_MULTIPROC_DIR": str(var_dir / "metrics")}
    with open(server.log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "ensemble_project/gunicorn.conf.py"], cwd=ROOT, env=gunicorn_env,
            stdout=log, stderr=log,
        )
    try:
        _wait_http(server.url + "/healthz")
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def file_server():
    from tests.http_fixtures import FileServer

    server = FileServer()
    yield server
    server.close()


@pytest.fixture
def demo_services(db):
    """The demo Character and Action services, running and registered."""
    import threading

    from demo.server import make_server
    from prompts.services import spec_refresh

    server = make_server(0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    from assistants.services import vocabulary_set
    from demo.management.commands.seed_demo import VOCABULARY
    from registry import services

    for service_id, name, prefix in (("character-service", "Character Service", "character"), ("action-service", "Action Service", "action")):
        service = services.service_register(id=service_id, name=name, description=f"The demo {prefix} service.",
                                            openapi_url=f"{base}/{prefix}/openapi.yml", tags=["demo"])
        vocabulary_set(service=service, aliases=VOCABULARY[service_id], actor="test")  # as `seed_demo` sets it
        assert spec_refresh(service=service).usable
    yield base
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake_openai(settings):
    from tests.fake_openai import FakeOpenAI

    server = FakeOpenAI()
    settings.ENSEMBLE_ASSISTANT_BACKEND = "openai"
    settings.OPENAI_BASE_URL = server.base_url
    settings.OPENAI_API_KEY = "test-key"
    settings.OPENAI_MODEL = "fake-model"
    settings.OPENAI_TIMEOUT_SECONDS = 2
    settings.OPENAI_MAX_RETRIES = 0
    yield server
    server.close()


@pytest.fixture
def page(running_server):
    """For the browser tests: a logged-out page in headless Chromium; the user 'browser' exists."""
    ensure_superuser(running_server, "browser", "browser-test-password")
    with chromium_page() as page:
        yield page
