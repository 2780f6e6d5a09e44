"""Which operations the assistant may call, and how: the one rule.

Read from the database on every request (through `Service.operation_policies`, which
callers prefetch for many services in one query), never cached per process, so a
change an admin makes takes effect on the next request on every worker."""

import re
from typing import NamedTuple

from .models import OperationPolicy
from .security import security_schemes, without_covered_parameters

ALLOWED = OperationPolicy.Policy.ALLOWED.value
NEEDS_APPROVAL = OperationPolicy.Policy.NEEDS_APPROVAL.value
DISABLED = OperationPolicy.Policy.DISABLED.value
WRITES_DEFAULT = ""  # the operation_id of a service's default for its writes


class _Row(NamedTuple):
    operation_id: str
    method: str
    path: str
    policy: str


# How much a policy holds back, to take the stricter of two.
_STRICTNESS = {ALLOWED: 0, NEEDS_APPROVAL: 1, DISABLED: 2}
_PATH_PARAMETER = re.compile(r"\{[^}]*\}")


class _Policies(NamedTuple):
    rows: list[_Row]
    by_name: dict[str, str]


def _policies(service) -> _Policies:
    """The service's policy rows, kept on the instance (`_policies`; a write drops it).
    Uses the prefetch cache when the caller prefetched `operation_policies` (one query for all)."""
    cached = service.__dict__.get("_policies")
    if isinstance(cached, dict):  # {operation_id: policy} seeded by a caller (e.g. an unsaved service's {})
        rows = [_Row(operation_id, "", "", policy) for operation_id, policy in cached.items()]
        cached = service.__dict__["_policies"] = _Policies(rows, dict(cached))
    elif cached is None:
        rows = [_Row(p.operation_id, p.method, p.path, p.policy) for p in service.operation_policies.all()]
        cached = service.__dict__["_policies"] = _Policies(rows, {row.operation_id: row.policy for row in rows})
    return cached


def _rows_of(service) -> list[_Row]:
    return _policies(service).rows


def policies_of(service) -> dict[str, str]:
    """{operation_id: policy} of a service, "" for its writes' default, as stored."""
    return _policies(service).by_name


def policies_key(service) -> tuple:
    """The service's policies as a hashable value, for caches of what they decide."""
    return tuple(sorted(_rows_of(service)))


def _route(method: str, path: str) -> tuple[str, str]:
    # A renamed path parameter ({id} -> {noteId}) is still the same route.
    return method.upper(), _PATH_PARAMETER.sub("{}", path)


def own_policy(service, operation: dict) -> str | None:
    """The policy an admin decided for this operation, if any, followed by name and by
    method and path: the row of its operationId recorded with the same method and path
    (or recorded before they were) decides; a row of its name recorded with another
    method or path says at most "needs approval" (the same name now does something
    else); a row of another name with the same method and path (a rename) still holds.
    When several apply, the strictest wins."""
    rows = _rows_of(service)
    if not rows:
        return None
    route = _route(operation["method"], operation.get("path", ""))
    by_name = next((row for row in rows if row.operation_id == operation["operation_id"]), None)
    if by_name is not None and (not by_name.method or _route(by_name.method, by_name.path) == route):
        return by_name.policy
    found = []
    if by_name is not None:
        found.append(max(by_name.policy, NEEDS_APPROVAL, key=_STRICTNESS.__getitem__))
    found += [row.policy for row in rows
              if row.operation_id and row.method and row is not by_name and _route(row.method, row.path) == route]
    return max(found, key=_STRICTNESS.__getitem__) if found else None


def writes_default(service) -> str:
    if getattr(service, "read_only", False):
        return DISABLED
    return policies_of(service).get(WRITES_DEFAULT, ALLOWED)


def effective_policy(service, operation: dict) -> str:
    """allowed, needs_approval or disabled. A read-only service's writes are disabled;
    otherwise the operation's own policy (own_policy), else (writes) the service's write default."""
    is_write = operation["method"] != "GET"
    if is_write and getattr(service, "read_only", False):
        return DISABLED
    own = own_policy(service, operation)
    if own:
        return own
    return writes_default(service) if is_write else ALLOWED


def offered_operations(service, snapshot) -> list[dict]:
    """The operations the assistant may see: every one not disabled, without the
    parameters a security scheme fills (credentials are never the assistant's)."""
    operations = [op for op in snapshot.operations if effective_policy(service, op) != DISABLED]
    return without_covered_parameters(operations, security_schemes(snapshot))
