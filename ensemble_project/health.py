"""The health probes: what readiness checks, and the middleware that lets probes in
whatever their Host header.

- Liveness (`/healthz`): the process answers. It checks nothing else, so an outage of
  the database or Typesense never gets healthy instances restarted.
- Readiness (`/readyz`): can this instance serve? 503 only when the database does not
  answer (every request would fail). Typesense down or the search sync lagging is
  "degraded", still 200: requests go on without them (writes wait in the outbox, search
  falls back or answers 502), and taking every instance out of the load balancer for a
  search outage would turn it into a full one. The body names what is down.
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.urls import resolve
from django.utils import timezone

from search.backend import get_backend
from search.outbox import backlog_summary

# Probes come from inside the network (Docker's HEALTHCHECK on 127.0.0.1, a kubelet on the
# pod's address), never with the public name ALLOWED_HOSTS lists.
PROBE_PATHS = frozenset({"/healthz", "/readyz"})


@dataclass
class Readiness:
    status: str = "ok"  # "ok", "degraded" (200) or "unavailable" (503)
    down: list[str] = field(default_factory=list)
    database: str = "ok"
    typesense: str = "ok"
    backlog: dict | None = None

    @property
    def http_status(self) -> int:
        return 503 if self.status == "unavailable" else 200

    def as_dict(self) -> dict:
        return {"status": self.status, "down": self.down, "database": self.database,
                "typesense": self.typesense, "backlog": self.backlog}


def readiness() -> Readiness:
    """The database, Typesense and the search sync's backlog, each reported, never raised."""
    report = Readiness()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        summary = backlog_summary()
        oldest = min((row["oldest"] for row in summary["per_index"].values()), default=None)
        waited = round((timezone.now() - oldest).total_seconds(), 1) if oldest else 0.0
        report.backlog = {"pending": summary["total"], "oldest_pending_seconds": waited,
                          "last_error": summary["last_error"][:300]}
    except Exception as error:  # the point of a probe is to report, not to crash
        report.database = f"error: {type(error).__name__}"
        report.down.append("database")
    if not get_backend().healthy():
        report.typesense = "unreachable"
        report.down.append("typesense")
    elif report.backlog and report.backlog["oldest_pending_seconds"] > settings.ENSEMBLE_LOGS_MAX_SYNC_LAG_SECONDS:
        # Typesense answers, yet changes wait longer than GET /logs tolerates: no worker runs.
        report.down.append("search_sync")
    if "database" in report.down:
        report.status = "unavailable"
    elif report.down:
        report.status = "degraded"
    return report


class HealthProbeMiddleware:
    """Answers the probe paths before Django validates the Host header (CommonMiddleware
    does, for every request). The probe views build no URL from the host, so skipping the
    check is safe for exactly these paths; every other path is still refused for a host
    not in ALLOWED_HOSTS. Placed after SecurityMiddleware (its headers stay; production
    exempts the probes from the HTTPS redirect) and before CommonMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info not in PROBE_PATHS:
            return self.get_response(request)
        match = resolve(request.path_info)
        request.resolver_match = match  # the metrics name the operation by it
        return match.func(request, *match.args, **match.kwargs)
