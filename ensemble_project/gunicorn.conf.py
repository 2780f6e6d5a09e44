"""gunicorn's configuration for every profile: `gunicorn -c ensemble_project/gunicorn.conf.py`.

Everything comes from the environment, with defaults sized for a small machine:
  ENSEMBLE_BIND (0.0.0.0:8000)  GUNICORN_WORKERS (2 × cores + 1, at most 8)
  GUNICORN_THREADS (4)          GUNICORN_TIMEOUT (120 s: an /interact may wait on the assistant)
The access log is the app's own (one JSON line per request, with the request id), so
gunicorn's is off; gunicorn's error log goes to stderr."""

import multiprocessing
import os
import shutil
import tempfile

bind = os.environ.get("ENSEMBLE_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS") or min(2 * multiprocessing.cpu_count() + 1, 8))
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 120)
# One shared queue for every worker: a worker takes a connection only when it has a free
# thread (worker_connections = threads) and closes it after the answer (keepalive 0,
# "Connection: close"), so waiting requests queue in the kernel's accept queue of the
# listening socket, first come first served by whichever worker frees a thread first.
# With keep-alive, each connection stayed with the worker that accepted it and queued
# behind that worker's threads while others were idle: under 50 clients the 99th
# percentile waited 6-15 times the median (README, Deployment). A new loopback or LAN
# connection per request costs far less than that; a proxy in front keeps its own
# keep-alive connections to clients.
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS") or threads)
graceful_timeout = 30
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE") or 0)
# Recycle workers now and then, so a slow leak cannot grow without end.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS") or 5000)
max_requests_jitter = max_requests // 10
wsgi_app = "ensemble_project.wsgi:application"
# The app is imported once, by the master, and every worker is a fork of it: a worker
# that max_requests recycles starts at once instead of importing Django, the apps and the
# MCP SDK again (1.9 s of CPU each time). Busy, each of two workers was recycled every
# few seconds: a quarter of two cores went to starting workers. Nothing opens a
# connection or starts a thread at import (database connections, HTTP clients and the
# thread pools start on first use, in the worker); `random` reseeds itself in each fork.
# A code change needs a restart (not a HUP), as every deployment does anyway.
preload_app = True
accesslog = None
errorlog = "-"
control_socket_disable = True  # gunicorn ≥ 25 opens a control socket by default; not needed

# Metrics from every worker, added up at /metrics (prometheus_client's multiprocess mode).
# The folder must be empty when the server starts and private to this server.
_metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(tempfile.gettempdir(), f"ensemble-metrics-{os.getpid()}")
)


def _warm_up() -> None:
    # Commands leave the MCP SDK unloaded (mcp_gateway/views.py); the web server loads it
    # before the first request, so no /mcp caller waits half a second for imports. (Only
    # when the app loaded is this Django project: the benchmarks run bare apps too.)
    import gc
    import sys

    if "ensemble_project.wsgi" in sys.modules:
        from mcp_gateway.views import warm_up

        warm_up()
    # Everything loaded so far lives as long as the process: keep it out of the garbage
    # collector's full passes, which otherwise walk it all and stall the worker's threads
    # (and, in the master, would touch every page the forked workers share).
    gc.freeze()


def on_starting(server):
    # After the app is loaded (preload_app): the metrics folder starts empty; the
    # master's own metric files, made at import and never written, go with it.
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    os.makedirs(_metrics_dir, exist_ok=True)
    _warm_up()


def post_worker_init(worker):
    _warm_up()  # a no-op import after the master's; freezes what the fork added


def child_exit(server, worker):
    # Imported here, in the master, after PROMETHEUS_MULTIPROC_DIR is set above:
    # prometheus_client chooses its value store when first imported.
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _metrics_dir.startswith(tempfile.gettempdir()):
        shutil.rmtree(_metrics_dir, ignore_errors=True)
