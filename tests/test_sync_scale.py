"""The Typesense mirror at scale and under faults, through the running server (gunicorn)
and real worker processes, with a real Typesense that is really stopped and killed."""

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

pytestmark = pytest.mark.slow


def wait_for_status_zero(server, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if server.status_code() == 0:
            return time.monotonic() - started
        time.sleep(0.5)
    raise AssertionError(f"the index did not equal the database within {seconds}s:\n" + status_text(server))


def status_text(server) -> str:
    import subprocess
    import sys

    from tests.conftest import ROOT

    return subprocess.run([sys.executable, "manage.py", "typesense_status"], cwd=ROOT, env=server.env,
                          capture_output=True, text=True).stdout


def index_client(server):
    from typesense import Client

    host, port = server.env["TYPESENSE_URLS"].rsplit("/", 1)[1].split(":")
    return Client({"nodes": [{"host": host, "port": port, "protocol": "http"}], "api_key": server.env["TYPESENSE_API_KEY"],
                   "connection_timeout_seconds": 5})


def alias(server, index: str) -> str:
    return server.env["TYPESENSE_COLLECTION_PREFIX"] + index


def index_count(server, index: str) -> int:
    try:
        return index_client(server).collections[alias(server, index)].retrieve()["num_documents"]
    except Exception:
        return 0


def admin_client(server) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30,
                        headers={"X-API-KEY": server.api_key, "X-ADMIN-API-KEY": server.admin_key})


def payload(service_id: str, name: str) -> dict:
    return {"id": service_id, "name": name, "description": "scale test", "openapi_url": f"http://127.0.0.1:9/{service_id}.yml",
            "tags": ["scale", name[-1]]}


@pytest.fixture
def worker(running_server):
    """A `typesense_sync` worker process with a short lease (so a killed one is replaced fast)."""
    processes = []

    def start(*extra):
        process = running_server.spawn("typesense_sync", "--poll-seconds", "0.2", *extra,
                                       env={"SEARCH_SYNC_LEASE_SECONDS": "3"})
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def test_1000_services_written_while_typesense_is_down_arrive_after(running_server, typesense, worker):
    running_server.manage("typesense_resync")
    worker()
    typesense.stop()
    try:
        with admin_client(running_server) as client:
            def one(i):
                sid = f"outage-{i:04d}"
                statuses = [client.post("/services/register", json=payload(sid, "first")).status_code,
                            client.put(f"/services/update/{sid}", json=payload(sid, "second")).status_code]
                if i % 3 == 0:
                    statuses.append(client.delete(f"/services/delete/{sid}").status_code)
                return statuses

            with ThreadPoolExecutor(8) as pool:
                results = list(pool.map(one, range(1000)))
        assert all(code in (200, 201) for statuses in results for code in statuses), "a request failed while Typesense was down"
    finally:
        typesense.start()
    elapsed = wait_for_status_zero(running_server, 30)
    print(f"index equal to the database {elapsed:.1f}s after Typesense came back")


def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(running_server, worker):
    running_server.manage("shell", "-c", (
        "from django.db import transaction\n"
        "from registry import services\n"
        "with transaction.atomic():\n"
        "    for i in range(3000):\n"
        "        services.service_register(id=f'kill-{i:05d}', name='Kill', description='', "
        "openapi_url='http://127.0.0.1:9/x.yml', tags=['kill'])\n"
    ))
    victim = worker("--batch-size", "1000")
    # Kill it once it has delivered part of the backlog (SIGKILL: no cleanup runs).
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and index_count(running_server, "services") == 0:
        time.sleep(0.02)
    delivered_before_kill = index_count(running_server, "services")
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    worker("--batch-size", "1000")  # a replacement; the dead one's claims expire with its lease
    wait_for_status_zero(running_server, 60)
    out = status_text(running_server)
    assert "missing=0 stale=0 extra=0" in out.split("services:")[1].split("\n")[0]
    assert 0 < delivered_before_kill < 3000, delivered_before_kill
    with admin_client(running_server) as client:
        in_database = len(client.get("/services").json()["services"])
    assert index_count(running_server, "services") == in_database  # nothing duplicated


def test_concurrent_updates_end_with_the_last_committed_version(running_server, worker):
    worker()
    worker()  # two workers race for the entries
    with admin_client(running_server) as client:
        assert client.post("/services/register", json=payload("contested", "v0")).status_code in (201, 400)
        errors = []

        def writer(n):
            with admin_client(running_server) as own:
                for i in range(40):
                    response = own.put("/services/update/contested", json=payload("contested", f"w{n}-{i}"))
                    if response.status_code != 200:
                        errors.append(response.text)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        final = next(s for s in client.get("/services").json()["services"] if s["id"] == "contested")
    wait_for_status_zero(running_server, 30)
    doc = index_client(running_server).collections[alias(running_server, "services")].documents["contested"].retrieve()
    assert doc["name"] == final["name"]


def test_resync_of_100000_logs_while_writes_go_on(running_server, worker):
    running_server.manage("shell", "-c", (
        "from django.utils import timezone\n"
        "from interactions.models import InteractionLog\n"
        "now = timezone.now()\n"
        "InteractionLog.objects.bulk_create([InteractionLog(created_at=now, user_input=f'bulk {i}', "
        "assistant_response='ok', service_responses=[], backend='local', outcome='answered') for i in range(100000)], "
        "batch_size=5000)\n"
    ))  # bulk_create sends no signal: these rows reach Typesense only through the resync
    worker()
    stop = threading.Event()
    written = []

    def keep_writing():
        with httpx.Client(base_url=running_server.url, headers={"X-API-KEY": running_server.api_key}, timeout=30) as client:
            while not stop.is_set():
                if client.post("/interact", json={"user_input": f"write {len(written)}"}).status_code == 200:
                    written.append(1)

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        started = time.monotonic()
        out = running_server.manage("typesense_resync", "--index", "interaction_logs").stdout
        seconds = time.monotonic() - started
    finally:
        stop.set()
        writer.join()
    assert written, "no interaction was written during the resync"
    print(f"resync of 100,000 logs: {seconds:.1f}s, {len(written)} interactions written meanwhile\n{out[-300:]}")
    wait_for_status_zero(running_server, 60)
