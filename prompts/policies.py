"""Which operations the assistant may call, and how: the one rule.

Read from the database on every request (through `Service.operation_policies`, which
callers prefetch for many services in one query), never cached per process, so a
change an admin makes takes effect on the next request on every worker."""

from .models import OperationPolicy
from .security import security_schemes, without_covered_parameters

ALLOWED = OperationPolicy.Policy.ALLOWED.value
NEEDS_APPROVAL = OperationPolicy.Policy.NEEDS_APPROVAL.value
DISABLED = OperationPolicy.Policy.DISABLED.value
WRITES_DEFAULT = ""  # the operation_id of a service's default for its writes


def policies_of(service) -> dict[str, str]:
    """{operation_id: policy} of a service, "" for its writes' default. Uses the
    prefetch cache when the caller prefetched `operation_policies` (one query for all)."""
    cached = service.__dict__.get("_policies")
    if cached is None:
        cached = service.__dict__["_policies"] = {p.operation_id: p.policy for p in service.operation_policies.all()}
    return cached


def policies_key(service) -> tuple:
    """The service's policies as a hashable value, for caches of what they decide."""
    return tuple(sorted(policies_of(service).items()))


def writes_default(service) -> str:
    if getattr(service, "read_only", False):
        return DISABLED
    return policies_of(service).get(WRITES_DEFAULT, ALLOWED)


def effective_policy(service, operation: dict) -> str:
    """allowed, needs_approval or disabled. A read-only service's writes are disabled;
    otherwise the operation's own policy, else (writes) the service's write default."""
    is_write = operation["method"] != "GET"
    if is_write and getattr(service, "read_only", False):
        return DISABLED
    own = policies_of(service).get(operation["operation_id"])
    if own:
        return own
    return writes_default(service) if is_write else ALLOWED


def offered_operations(service, snapshot) -> list[dict]:
    """The operations the assistant may see: every one not disabled, without the
    parameters a security scheme fills (credentials are never the assistant's)."""
    operations = [op for op in snapshot.operations if effective_policy(service, op) != DISABLED]
    return without_covered_parameters(operations, security_schemes(snapshot))
