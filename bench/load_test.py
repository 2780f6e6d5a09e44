#!/usr/bin/env python
"""Load test: the production profile (gunicorn with its config, the sync worker as its
own process, Typesense, the demo services) under 50 concurrent clients for 60 s (after 10 s of
the same load as warm-up, not counted: workers load their caches, the first requests
import lazily), driven from this process over loopback. Prints p50/p99 per operation
and every error.

    python bench/load_test.py [--clients 50] [--seconds 60] [--warmup 10] [--databases sqlite,postgres]

PostgreSQL is used when DATABASE_URL names one; `make load-test` runs the SQLite pass,
then the PostgreSQL pass under scripts/test_postgres.sh, and prints both side by side.
Throttling stays on (its database counter is part of every request's cost) with a rate
high enough that the test measures speed, not the limit.

Where the time goes: the server runs with ENSEMBLE_SERVER_TIMING on and the driver
stamps each request (`X-Request-Start`), so every answer says how long it waited for a
web thread (queue), connected to the database, spent in queries (db) and waiting for
SQLite's write lock (lock) and held it (held), waited for an outbound slot (bulkhead), spent in outbound
calls and in Typesense, and in the app altogether; the rest of what the client measured
is the driver's own delay (client). The breakdown is printed per operation for the
median request and for the slowest 1%."""

import argparse
import asyncio
import base64
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx
from _harness import ROOT, percentile, typesense_server  # the benchmarks' shared helpers

# The mix: mostly reads, as a team's assistant traffic is; every operation is in it.
MIX = [("listServices", 25), ("retrieveLogs", 20), ("generateSystemPrompt", 15), ("handleUserInput", 15),
       ("registerService", 9), ("updateService", 9), ("deleteService", 7)]


class Stack:
    """Typesense, demo services, release step, gunicorn and the sync worker, as subprocesses."""

    def __init__(self, database_url: str):
        self.dir = Path(tempfile.mkdtemp(prefix="ensemble-load-"))
        self.port, self.demo_port = (typesense_server.free_port() for _ in range(2))
        self.ts_port = typesense_server.free_port_pair()  # Typesense peers on port + 1: both must be free
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "ensemble_project.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "ENSEMBLE_CREDENTIALS_KEYS": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "DJANGO_SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback; TLS is the proxy's
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DATABASE_URL": database_url,
            "ENSEMBLE_VAR_DIR": str(self.dir),
            "TYPESENSE_URLS": f"http://127.0.0.1:{self.ts_port}",
            "TYPESENSE_API_KEY": "load-test-key",
            "ENSEMBLE_OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",  # the demo services
            "ENSEMBLE_THROTTLE_RATE": "1000000/minute",
            "ENSEMBLE_ACCESS_LOG": "false",
            "ENSEMBLE_SERVER_TIMING": "true",
            "ENSEMBLE_BIND": f"127.0.0.1:{self.port}",
            "PROMETHEUS_MULTIPROC_DIR": str(self.dir / "metrics"),
        }
        self.processes = []

    def manage(self, *args) -> str:
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True,
                              capture_output=True, text=True).stdout

    def spawn(self, *command):
        log = open(self.dir / f"{Path(command[1]).stem}-{len(self.processes)}.log", "ab")
        process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=log)
        self.processes.append(process)
        return process

    def start(self):
        self.typesense = typesense_server.start(port=self.ts_port, data_dir=self.dir / "typesense", api_key="load-test-key")
        self.spawn(sys.executable, "demo/server.py", "--port", str(self.demo_port))
        subprocess.run(["bash", "scripts/production.sh", "release"], cwd=ROOT, env={**self.env, "PYTHON": sys.executable},
                       check=True, capture_output=True)
        self.api_key = self.manage("apikey", "create", "--name", "load").strip()
        self.admin_key = self.manage("apikey", "create", "--name", "load-admin", "--admin").strip()
        self.manage("seed_demo", "--base-url", f"http://127.0.0.1:{self.demo_port}")
        self.manage("refresh_specs")
        self.spawn(sys.executable, "-m", "gunicorn", "-c", "ensemble_project/gunicorn.conf.py")
        self.spawn(sys.executable, "manage.py", "typesense_sync")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError("the service did not start; see " + str(self.dir))

    def stop(self):
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        typesense_server.stop(data_dir=self.dir / "typesense", timeout=5)


PARTS = ("queue", "connect", "db", "lock", "held", "bulkhead", "outbound", "typesense", "app", "client")


def _server_timing(header: str) -> dict:
    parts = {}
    for item in header.split(","):
        name, _, duration = item.strip().partition(";dur=")
        if duration:
            parts[name] = float(duration) / 1000
    return parts


timeline: list = []  # (when, operation, seconds) of every answered request, for --json


async def client_loop(n, client, deadline, latencies, errors, created, breakdowns, measure_from):
    rng = random.Random(n)
    names, weights = zip(*MIX, strict=True)
    counter = 0
    while time.monotonic() < deadline:
        operation = rng.choices(names, weights)[0]
        counter += 1
        mine = created[n]
        # Each client keeps a handful of services, so the registry stays the size of a
        # team's (a few hundred at most) instead of growing with the test's length.
        if operation in ("updateService", "deleteService") and not mine:
            operation = "registerService"
        elif operation == "registerService" and len(mine) >= 3:
            operation = "deleteService"
        if operation == "listServices":
            request = ("GET", "/services", {"params": {"tag": rng.choice(["demo", f"client-{n}"])}})
        elif operation == "retrieveLogs":
            request = ("GET", "/logs", {"params": {"limit": 20, "offset": rng.randrange(0, 200)}})
        elif operation == "generateSystemPrompt":
            request = ("GET", "/system-prompt", {"params": {"service_ids": ["character-service", "action-service"]}})
        elif operation == "handleUserInput":
            request = ("POST", "/interact", {"json": {"user_input": rng.choice(
                ["get character 1", "list characters", "create an action named wave", "hello"])}})
        elif operation == "registerService":
            sid = f"load-{n}-{counter}"
            request = ("POST", "/services/register", {"json": {"id": sid, "name": f"Load {n}", "description": "load test",
                       "openapi_url": "https://example.com/openapi.yml", "tags": ["load", f"client-{n}"]}})
        elif operation == "updateService":
            sid = rng.choice(sorted(mine))
            request = ("PUT", f"/services/update/{sid}", {"json": {"id": sid, "name": f"Load {n} v{counter}",
                       "description": "updated", "openapi_url": "https://example.com/openapi.yml",
                       "tags": ["load", f"client-{n}"]}})
        else:
            sid = mine.pop()
            request = ("DELETE", f"/services/delete/{sid}", {})
        # (register adds to `mine` on success, below; delete took it out already)
        method, path, extra = request
        started = time.perf_counter()
        try:
            response = await client.request(method, path, headers={"X-Request-Start": f"t={time.time():.6f}"}, **extra)
            status = response.status_code
        except httpx.HTTPError as error:
            status, response = type(error).__name__, None
        took = time.perf_counter() - started
        if operation == "registerService" and response is not None and status < 400:
            mine.add(sid)
        if time.monotonic() < measure_from:  # warming up: the same load, not counted
            continue
        latencies[operation].append(took)
        if response is not None:
            parts = _server_timing(response.headers.get("server-timing", ""))
            parts["client"] = max(0.0, took - parts.get("queue", 0.0) - parts.get("app", 0.0))
            breakdowns[operation].append((took, parts))
            timeline.append((round(time.monotonic(), 3), operation, round(took, 4), parts))
        if response is None or status >= 400:
            errors[(operation, status, response.text[:120] if response is not None else "")] += 1


async def drive(stack, clients, seconds, warmup):
    latencies, errors, breakdowns = defaultdict(list), defaultdict(int), defaultdict(list)
    created = [set() for _ in range(clients)]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"X-API-KEY": stack.api_key, "X-ADMIN-API-KEY": stack.admin_key}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.port}", headers=headers, limits=limits,
                                 timeout=60) as client:
        measure_from = time.monotonic() + warmup
        deadline = measure_from + seconds
        await asyncio.gather(*(client_loop(n, client, deadline, latencies, errors, created, breakdowns, measure_from)
                               for n in range(clients)))
    return latencies, errors, breakdowns


def run(database: str, database_url: str, clients: int, seconds: int, warmup: int) -> dict:
    stack = Stack(database_url)
    try:
        stack.start()
        load_before = os.getloadavg()[0]
        started = time.monotonic() + warmup
        latencies, errors, breakdowns = asyncio.run(drive(stack, clients, seconds, warmup))
        elapsed = time.monotonic() - started
        load_after = os.getloadavg()[0]
        # Nothing lost: once the worker has drained, the index equals the database.
        deadline = time.monotonic() + 120
        while subprocess.run([sys.executable, "manage.py", "typesense_status"], cwd=ROOT, env=stack.env,
                             capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("the index did not catch up within 120 s")
            time.sleep(1)
        caught_up = time.monotonic() - started - elapsed
    finally:
        stack.stop()
    total = sum(len(v) for v in latencies.values())
    result = {"database": database, "requests": total, "seconds": round(elapsed, 1), "rps": round(total / elapsed, 1),
              "errors": {f"{op} {status} {text}": n for (op, status, text), n in errors.items()},
              "index_caught_up_seconds": round(caught_up, 1), "operations": {},
              "load_average": [round(load_before, 2), round(load_after, 2)], "breakdown": {},
              "timeline": list(timeline)}
    timeline.clear()
    for operation, _ in MIX:
        values = latencies.get(operation) or [float("nan")]
        result["operations"][operation] = {"count": len(latencies.get(operation, [])),
                                           "p50_ms": round(percentile(values, 0.5) * 1000, 1),
                                           "p99_ms": round(percentile(values, 0.99) * 1000, 1)}
        samples = sorted(breakdowns.get(operation, []), key=lambda sample: sample[0])
        if samples:
            slowest = samples[-max(1, len(samples) // 100):]
            result["breakdown"][operation] = {
                "median": {part: round(percentile([p.get(part, 0.0) for _, p in samples], 0.5) * 1000, 1) for part in PARTS},
                "slowest_1pct": {part: round(sum(p.get(part, 0.0) for _, p in slowest) / len(slowest) * 1000, 1)
                                 for part in PARTS},
            }
    return result


def report(results):
    for result in results:
        print(f"\n{result['database']}: {result['requests']} requests in {result['seconds']} s = {result['rps']} req/s, "
              f"{sum(result['errors'].values())} errors; index equal to the database "
              f"{result['index_caught_up_seconds']} s after the load; load average {result['load_average'][0]} "
              f"before, {result['load_average'][1]} after")
        for line, count in result["errors"].items():
            print(f"   error x{count}: {line}")
    print(f"\n{'operation':<22}" + "".join(f"{r['database'] + ' p50/p99 ms':>26}" for r in results)
          + ("   p50 ratio" if len(results) == 2 else ""))
    for operation, _ in MIX:
        cells = [r["operations"][operation] for r in results]
        line = f"{operation:<22}" + "".join(f"{c['p50_ms']:>14} / {c['p99_ms']:<9}" for c in cells)
        if len(cells) == 2 and cells[0]["p50_ms"]:
            line += f"   {cells[1]['p50_ms'] / cells[0]['p50_ms']:.2f}"
        print(line)
    print("\np99 / p50 per operation: " + "; ".join(
        f"{r['database']} " + ", ".join(f"{op} {c['p99_ms'] / c['p50_ms']:.1f}" for op, c in r["operations"].items()
                                       if c["p50_ms"]) for r in results))
    for result in results:
        print(f"\nwhere the time went, {result['database']} (ms; median request / mean of the slowest 1%):")
        print(f"{'operation':<22}" + "".join(f"{part:>14}" for part in PARTS))
        for operation, parts in result["breakdown"].items():
            print(f"{operation:<22}" + "".join(
                f"{parts['median'][part]:>6} /{parts['slowest_1pct'][part]:>6}" for part in PARTS))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10,
                        help="Seconds of the same load before the measured ones (workers load their caches).")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args()
    results = []
    for database in args.databases.split(","):
        if database == "sqlite":
            url = f"sqlite:///{tempfile.mkdtemp(prefix='ensemble-load-db-')}/load.sqlite3"
        elif os.environ.get("DATABASE_URL", "").startswith("postgres"):
            url = os.environ["DATABASE_URL"]
        else:
            print("(no PostgreSQL DATABASE_URL: skipping the PostgreSQL pass; `make load-test` provides one)")
            continue
        print(f"== {database}: {args.clients} clients for {args.warmup} s of warm-up, then {args.seconds} s measured ...",
              flush=True)
        results.append(run(database, url, args.clients, args.seconds, args.warmup))
    report(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if any(r["errors"] for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
