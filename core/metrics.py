"""Prometheus metrics and the access log.

Under gunicorn each worker is its own process; with PROMETHEUS_MULTIPROC_DIR set
(the production gunicorn config sets it) prometheus_client shares the values through
files in that folder and /metrics adds them up. Values read from the database at
scrape time (the sync backlog) come from collectors the apps register here. Each app
defines its own metrics (search/metrics.py, interactions/metrics.py); this module holds
what they share and the per-request metrics."""

import logging
import os
import time

from django.conf import settings
from django.db import DatabaseError, connection
from prometheus_client import REGISTRY as PROCESS_REGISTRY
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from .observability import request_queue_seconds, server_timing_header, timing_add, timing_finish, timing_start

access_logger = logging.getLogger("ensemble.access")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

HTTP_REQUESTS = Counter(
    "ensemble_http_requests_total", "HTTP requests answered, by operation and status.", ["operation", "method", "status"]
)
HTTP_LATENCY = Histogram(
    "ensemble_http_request_duration_seconds", "Time to answer a request, by operation.", ["operation"],
    buckets=LATENCY_BUCKETS,
)
_scrape_collectors = []


def register_scrape_collector(collector) -> None:
    """Add a collector read at every scrape (AppConfig.ready() of the app that owns it)."""
    if collector not in _scrape_collectors:
        _scrape_collectors.append(collector)


def exposition() -> bytes:
    """The text /metrics answers."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_ProcessMetrics())
    for collector in _scrape_collectors:
        registry.register(collector)
    return generate_latest(registry)


class _ProcessMetrics:
    """This process's own metrics (single-process servers, tests)."""

    def collect(self):
        yield from PROCESS_REGISTRY.collect()


# Label values come from closed sets: a client inventing methods or paths must not be
# able to create new time series (each one is a file per worker and memory at scrape).
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def _method(request) -> str:
    return request.method if request.method in _METHODS else "other"


def _operation(request) -> str:
    match = getattr(request, "resolver_match", None)
    if request.path.startswith("/admin/"):
        return "admin"
    if match is not None and match.url_name:
        return match.url_name
    return "static" if request.path.startswith("/static/") else "unmatched"


class RequestMetricsMiddleware:
    """Counts and times every request, and writes one access-log line for it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.ENSEMBLE_SERVER_TIMING:
            return self._timed(request)
        started = time.perf_counter()
        response = self.get_response(request)
        self._count(request, response, time.perf_counter() - started)
        return response

    def _timed(self, request):
        """The same, with where the time went in a Server-Timing header (observability.py)."""
        queued = request_queue_seconds(request, time.time())
        started = time.perf_counter()
        token = timing_start()
        try:
            if queued is not None:
                timing_add("queue", queued)
            connecting = time.perf_counter()
            try:  # every operation uses the database: connect now, timed
                connection.close_if_health_check_failed()
                connection.ensure_connection()
            except DatabaseError:
                pass  # the view meets it again and answers 503
            timing_add("connect", time.perf_counter() - connecting)
            with connection.execute_wrapper(_timed_query):
                response = self.get_response(request)
        finally:
            timings = timing_finish(token)
        elapsed = time.perf_counter() - started
        timings["app"] = elapsed
        response["Server-Timing"] = server_timing_header(timings)
        self._count(request, response, elapsed)
        return response

    def _count(self, request, response, elapsed: float) -> None:
        operation, method = _operation(request), _method(request)
        counter, latency = _children(operation, method, response.status_code)
        counter.inc()
        latency.observe(elapsed)
        # Path only: query strings may carry user text; headers (keys) are never logged.
        if access_logger.isEnabledFor(logging.INFO):
            access_logger.info(
                "%s %s %s %.1fms", method, request.path, response.status_code, elapsed * 1000,
                extra={"method": method, "path": request.path, "status": response.status_code,
                       "operation": operation, "duration_ms": round(elapsed * 1000, 1)},
            )


def _timed_query(execute, sql, params, many, context):
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        # SQLite's BEGIN IMMEDIATE is where a writer waits for the database's write lock.
        timing_add("lock" if sql.startswith("BEGIN") else "db", time.perf_counter() - started)


# The labelled series of each (operation, method, status), looked up once: `labels()`
# validates and joins its values under a lock on every call. The sets are closed (see
# above), so this stays small.
_series: dict[tuple, tuple] = {}


def _children(operation: str, method: str, status: int) -> tuple:
    key = (operation, method, status)
    found = _series.get(key)
    if found is None:
        found = _series[key] = (HTTP_REQUESTS.labels(operation, method, str(status)), HTTP_LATENCY.labels(operation))
    return found
