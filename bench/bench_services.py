"""GET /services through gunicorn (ensemble_project/gunicorn.conf.py, 2 workers × 4
threads, throttling on) against the floor: a bare WSGI app serving the very same bytes
under the same gunicorn configuration. 4 client processes with keep-alive connections,
requests per second and latency; at 10 services and at 10,000 services, plus the p50 of a
`?tags=` filtered read and of the first read after a write (the body is rendered again).

Targets: ≥ 0.5 of the floor at 10 and at 10,000 services (issue 27; 0.35 at 10 before).

`--floors` also runs the service at 10 services without its middleware, then also without
Django's request signals' receivers (bench/_floor_settings.py), against the same bare run:
how much of the gap each part of Django's request cycle is."""

import contextlib
import http.client
import multiprocessing
import os
import subprocess
import sys
import time

from _harness import ROOT, Environment, free_port, percentile

SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
CLIENTS = 4
API_KEY = "bench-services-api-key-0123456789"


def _client(port, path, deadline, queue):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies = []
    while time.time() < deadline:
        started = time.perf_counter()
        connection.request("GET", path, headers={"X-API-KEY": API_KEY})
        response = connection.getresponse()
        response.read()
        assert response.status == 200, response.status
        latencies.append(time.perf_counter() - started)
    connection.close()
    queue.put(latencies)


def drive(port: int, path: str, seconds: float = SECONDS) -> tuple[float, list[float]]:
    """Requests per second and latencies of CLIENTS processes hammering `path`."""
    queue = multiprocessing.Queue()
    deadline = time.time() + seconds
    processes = [multiprocessing.Process(target=_client, args=(port, path, deadline, queue)) for _ in range(CLIENTS)]
    for process in processes:
        process.start()
    latencies = [value for _ in processes for value in queue.get()]
    for process in processes:
        process.join()
    return len(latencies) / seconds, latencies


@contextlib.contextmanager
def serving(env: dict, *app):
    """gunicorn with the service's configuration serving `app` (the service by default),
    yielding its port once it answers; stopped on the way out, whatever happened."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "ensemble_project/gunicorn.conf.py", *app], cwd=ROOT,
        env={**env, "ENSEMBLE_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "4"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(150):
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/services", headers={"X-API-KEY": API_KEY})
                connection.getresponse().read()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start")
        yield port
    finally:
        process.terminate()
        process.wait()


def fetch(port: int, path: str) -> bytes:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", path, headers={"X-API-KEY": API_KEY})
    return connection.getresponse().read()


def seed(count: int) -> None:
    """`count` services with two tags each, in bulk, then one write through
    registry.services (which moves the revision as every write does)."""
    from registry import services
    from registry.models import Service, ServiceTag

    Service.objects.all().delete()
    Service.objects.bulk_create([
        Service(id=f"svc-{i:05d}", name=f"Service {i}", description=f"Bench service number {i}, which does thing {i}.",
                openapi_url=f"http://svc-{i}.example/openapi.json") for i in range(count - 1)
    ], batch_size=2000)
    ServiceTag.objects.bulk_create([
        ServiceTag(service_id=f"svc-{i:05d}", name=name, position=position)
        for i in range(count - 1) for position, name in enumerate((f"group-{i % 100}", "bench"))
    ], batch_size=4000)
    services.service_register(id="svc-zzzzz", name="Last", description="", openapi_url="http://z.example/o.json",
                              tags=["group-7", "bench"])


FLOORS = ("middleware", "middleware+signals")


def compare(env, label: str, bare_dir, floors=()) -> None:
    with serving(env) as app_port:
        body = fetch(app_port, "/services")
        body_file = bare_dir / f"body-{label}.json"
        body_file.write_bytes(body)
        with serving({**env, "BENCH_BARE_BODY": str(body_file)}, "--chdir", str(ROOT / "bench"),
                     "_bare_wsgi:application") as bare_port:
            assert fetch(bare_port, "/services") == body
            bare_rps, bare_lat = drive(bare_port, "/services")
            app_rps, app_lat = drive(app_port, "/services")
            floor_rps = {floor: _floor_rps(env, floor, body) for floor in floors}
        print(f"GET /services, {label} ({len(body):,} bytes), {CLIENTS} clients, {SECONDS:.0f} s each:")
        print(f"  bare WSGI app, same bytes: {bare_rps:8.1f} req/s  p50 {percentile(bare_lat, .5) * 1000:7.2f} ms")
        print(f"  the service:               {app_rps:8.1f} req/s  p50 {percentile(app_lat, .5) * 1000:7.2f} ms")
        print(f"  ratio service / bare: {app_rps / bare_rps:.2f}", flush=True)
        for floor, rps in floor_rps.items():
            print(f"  without {floor}: {rps:8.1f} req/s, ratio / bare {rps / bare_rps:.2f}", flush=True)
        if label.startswith("10,000"):
            _, tag_lat = drive(app_port, "/services?tags=group-7", seconds=SECONDS / 2)
            print(f"  ?tags=group-7 (101 services), {CLIENTS} clients: p50 {percentile(tag_lat, .5) * 1000:.2f} ms")
            from registry import services

            first = []
            for i in range(5):
                services.service_update(service_id="svc-zzzzz", name=f"Last {i}", description="",
                                        openapi_url="http://z.example/o.json", tags=["bench"])
                started = time.perf_counter()
                fetch(app_port, "/services")
                first.append(time.perf_counter() - started)
            print(f"  first read after a write (rendered again), 1 client: p50 {percentile(first, .5) * 1000:.1f} ms",
                  flush=True)


def _floor_rps(env, floor: str, body: bytes) -> float:
    """Requests per second of the service under bench/_floor_settings.py's `floor`."""
    python_path = os.pathsep.join(filter(None, [str(ROOT / "bench"), env.get("PYTHONPATH")]))
    with serving({**env, "DJANGO_SETTINGS_MODULE": "_floor_settings", "BENCH_FLOOR": floor,
                  "PYTHONPATH": python_path}) as port:
        assert fetch(port, "/services") == body
        return drive(port, "/services")[0]


def main():
    environment = Environment(typesense=False)
    env = {**os.environ, "ENSEMBLE_API_KEY": API_KEY, "ENSEMBLE_THROTTLE_RATE": "100000000/minute",
           "ENSEMBLE_AUTH_FAILURE_RATE": "20/minute", "ENSEMBLE_SPEC_FETCH_ON_WRITE": "false"}
    try:
        subprocess.run([sys.executable, "manage.py", "bootstrap_keys"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        seed(10)
        compare(env, "10 services", environment.dir, floors=FLOORS if "--floors" in sys.argv else ())
        seed(10_000)
        compare(env, "10,000 services", environment.dir)
    finally:
        environment.close()


if __name__ == "__main__":
    main()
