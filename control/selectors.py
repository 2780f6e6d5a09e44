"""Reads for the control room: each operation's policy and health, the overview on the
admin index. Composed from what each floor answers for (prompts: the operations and
their policies, the failing specs; interactions: the calls and approvals; credentials:
the secrets held back; search: the sync backlog), each part only for who may see it.
A constant number of queries per page, whatever the number of services and logs."""

from dataclasses import dataclass, field

from django.db.models import Prefetch, prefetch_related_objects

from credentials.selectors import held_services
from interactions.models import InteractionLog
from interactions.selectors import (
    Health,
    approvals_decided,
    approvals_pending,
    failing_operations,
    operations_health,
    pending_approvals_count,
)
from prompts.policies import effective_policy, policies_of
from prompts.selectors import failing_specs
from search.outbox import backlog_summary

from .permissions import VIEW_APPROVALS, VIEW_OPERATIONS, may_view_credentials


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


def required_inputs(operation: dict) -> list[str]:
    names = [p["name"] for p in operation.get("parameters", []) if p.get("required")]
    body = operation.get("body")
    if body and body.get("required"):
        fields = (body.get("schema") or {}).get("required") or []
        names += [f"body.{f}" for f in fields] or ["body"]
    return names


def operations_table(service, *, now=None) -> list[OperationRow]:
    """One row per operation of the service's snapshot: its policy, and its calls over
    the last 24 hours and 7 days."""
    snapshot = getattr(service, "spec", None)
    operations = snapshot.operations if snapshot is not None and snapshot.usable else []
    if not operations:
        return []
    own = policies_of(service)
    health = operations_health(service_id=service.pk, now=now)
    rows = []
    for op in operations:
        row = OperationRow(op["operation_id"], op["method"], op["path"], op.get("summary", ""), required_inputs(op),
                           effective_policy(service, op), op["operation_id"] in own)
        seen = health.get(op["operation_id"])
        if seen is not None:
            row.day, row.week, row.last_error, row.last_error_at = seen.day, seen.week, seen.last_error, seen.last_error_at
        rows.append(row)
    return rows


def overview(user, *, limit: int = 10) -> dict:
    """The admin index's overview, as far as `user` may see it: pending approvals (who
    may see approvals), failing specs and operations and the sync backlog (who may see
    operations), services whose secrets are held back (who may see credentials). Only
    the parts shown are read; a fixed number of queries. `shown` is false when none is."""
    parts: dict = {"show_approvals": user.has_perm(VIEW_APPROVALS), "show_operations": user.has_perm(VIEW_OPERATIONS),
                   "show_credentials": may_view_credentials(user)}
    if parts["show_operations"]:
        specs, more = failing_specs(limit=limit)
        parts.update(failing_specs=specs, more_failing_specs=more, failing_operations=failing_operations(limit=limit),
                     sync=backlog_summary())
    if parts["show_approvals"]:
        parts["pending_approvals"] = pending_approvals_count()
    if parts["show_credentials"]:
        parts["held_services"], parts["more_held_services"] = held_services(limit=limit)
    parts["shown"] = parts["show_approvals"] or parts["show_operations"] or parts["show_credentials"]
    return parts


def approvals_page() -> tuple[list, list]:
    """The approvals page: the calls waiting (each with the request it came from, read in
    one query for all) and the latest decisions."""
    pending = approvals_pending()
    prefetch_related_objects(pending, Prefetch("log", queryset=InteractionLog.objects.only("id", "user_input")))
    return pending, approvals_decided()
