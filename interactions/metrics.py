"""The assistant's and the service calls' metrics (summed over gunicorn workers at /metrics)."""

from prometheus_client import Counter, Histogram

from core.metrics import LATENCY_BUCKETS

ASSISTANT_CALLS = Counter(
    "ensemble_assistant_calls_total", "Assistant runs, by backend and outcome.", ["backend", "outcome"]
)
ASSISTANT_LATENCY = Histogram(
    "ensemble_assistant_call_duration_seconds", "Time the assistant took (service calls included).", ["backend"],
    buckets=LATENCY_BUCKETS,
)
SERVICE_CALLS = Counter(
    "ensemble_service_calls_total", "Service operations called for the assistant, by service and outcome.",
    ["service", "outcome"],
)
SERVICE_LATENCY = Histogram(
    "ensemble_service_call_duration_seconds", "Time a service call took.", ["service"], buckets=LATENCY_BUCKETS
)


def service_call_observe(service: str, *, ok: bool, status: int | None, duration_ms: int) -> None:
    """Count and time one service call (from /interact, an approval or MCP alike)."""
    SERVICE_CALLS.labels(service, "ok" if ok else ("http_error" if status else "failed")).inc()
    SERVICE_LATENCY.labels(service).observe(duration_ms / 1000)
