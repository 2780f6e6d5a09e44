"""Reads for the admin's control room: each operation's policy and health, the
overview on the admin index, the pending approvals. A constant number of queries per
page, on indexed columns, whatever the number of services and logs."""

import math
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count, Max, Q
from django.utils import timezone

from prompts.models import SpecSnapshot
from prompts.policies import effective_policy, policies_of
from search.outbox import backlog_summary

from .models import PendingApproval, ServiceCall

# Durations for the percentiles are read from the newest calls only: a bound on the
# rows one page reads, however busy the service.
DURATION_SAMPLE = 20000


@dataclass
class Health:
    calls: int = 0
    failed: int = 0
    p50_ms: int | None = None
    p95_ms: int | None = None

    @property
    def failed_share(self) -> str:
        return f"{100 * self.failed / self.calls:.0f}%" if self.calls else "-"


@dataclass
class OperationRow:
    operation_id: str
    method: str
    path: str
    summary: str
    required: list[str]
    policy: str
    explicit: bool  # the operation has its own policy row
    day: Health = field(default_factory=Health)
    week: Health = field(default_factory=Health)
    last_error: str = ""
    last_error_at: object = None


def percentile(sorted_values: list[int], p: float) -> int | None:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return None
    return sorted_values[max(0, math.ceil(p / 100 * len(sorted_values)) - 1)]


def required_inputs(operation: dict) -> list[str]:
    names = [p["name"] for p in operation.get("parameters", []) if p.get("required")]
    body = operation.get("body")
    if body and body.get("required"):
        fields = (body.get("schema") or {}).get("required") or []
        names += [f"body.{f}" for f in fields] or ["body"]
    return names


def operations_table(service, *, now=None) -> list[OperationRow]:
    """One row per operation of the service's snapshot: its policy, and its calls over
    the last 24 hours and 7 days. Three queries on ServiceCall's (service_id,
    operation_id, created_at) index, plus the policies."""
    now = now or timezone.now()
    snapshot = getattr(service, "spec", None)
    operations = snapshot.operations if snapshot is not None and snapshot.usable else []
    own = policies_of(service)
    rows = {
        op["operation_id"]: OperationRow(
            op["operation_id"], op["method"], op["path"], op.get("summary", ""), required_inputs(op),
            effective_policy(service, op), op["operation_id"] in own,
        )
        for op in operations
    }
    if not rows:
        return []
    week_ago, day_ago = now - timedelta(days=7), now - timedelta(days=1)
    calls = ServiceCall.objects.filter(service_id=service.pk, created_at__gte=week_ago, created_at__lte=now)
    counts = calls.values("operation_id").annotate(
        calls=Count("id"), failed=Count("id", filter=Q(ok=False)),
        day_calls=Count("id", filter=Q(created_at__gte=day_ago)),
        day_failed=Count("id", filter=Q(created_at__gte=day_ago, ok=False)),
        last_error_id=Max("id", filter=Q(ok=False)),
    ).order_by()
    error_ids = {}
    for item in counts:
        row = rows.get(item["operation_id"])
        if row is None:  # an operation the spec no longer has
            continue
        row.week.calls, row.week.failed = item["calls"], item["failed"]
        row.day.calls, row.day.failed = item["day_calls"], item["day_failed"]
        if item["last_error_id"]:
            error_ids[item["last_error_id"]] = row
    durations: dict[str, tuple[list, list]] = {}
    for operation_id, created_at, duration in calls.order_by("-created_at").values_list(
        "operation_id", "created_at", "duration_ms"
    )[:DURATION_SAMPLE]:
        week, day = durations.setdefault(operation_id, ([], []))
        week.append(duration)
        if created_at >= day_ago:
            day.append(duration)
    for operation_id, (week, day) in durations.items():
        row = rows.get(operation_id)
        if row is not None:
            week.sort()
            day.sort()
            row.week.p50_ms, row.week.p95_ms = percentile(week, 50), percentile(week, 95)
            row.day.p50_ms, row.day.p95_ms = percentile(day, 50), percentile(day, 95)
    for pk, error, status, created_at in ServiceCall.objects.filter(pk__in=error_ids).values_list(
        "pk", "error", "status", "created_at"
    ):
        row = error_ids[pk]
        row.last_error = error or f"HTTP {status}"
        row.last_error_at = created_at
    return list(rows.values())


def failing_operations(*, hours: int = 24, limit: int = 10) -> list[dict]:
    """The operations with the most failed calls in the last `hours`, across services."""
    since = timezone.now() - timedelta(hours=hours)
    return list(
        ServiceCall.objects.filter(created_at__gte=since)
        .values("service_id", "operation_id")
        .annotate(calls=Count("id"), failed=Count("id", filter=Q(ok=False)))
        .filter(failed__gt=0)
        .order_by("-failed", "service_id", "operation_id")[:limit]
    )


def pending_approvals_count() -> int:
    return PendingApproval.objects.filter(state=PendingApproval.State.PENDING, expires_at__gt=timezone.now()).count()


def overview(*, limit: int = 10) -> dict:
    """The admin index's overview: failing specs, failing operations, the sync backlog
    and its last error, pending approvals. A fixed number of queries."""
    failing_specs = list(
        SpecSnapshot.objects.exclude(error="").order_by("-error_at").values("service_id", "error", "error_at")[: limit + 1]
    )
    return {
        "failing_specs": failing_specs[:limit], "more_failing_specs": len(failing_specs) > limit,
        "failing_operations": failing_operations(limit=limit),
        "sync": backlog_summary(),
        "pending_approvals": pending_approvals_count(),
    }
