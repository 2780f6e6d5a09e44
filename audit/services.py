"""Recording audit events. Call inside the transaction of the change you record."""

from core.observability import current_request_id

from .models import AuditEvent

SYSTEM = "system"


def actor_of_request(request) -> str:
    """Who made an HTTP request: the admin user, or the API key that authenticated it."""
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False) and hasattr(user, "get_username"):
        return f"user:{user.get_username()}"
    key = getattr(request, "auth", None)
    if key is not None and hasattr(key, "prefix"):
        return f"key:{key.prefix} ({key.name})"[:200]
    return "anonymous"


def field_changes(before: dict, after: dict) -> dict:
    """{field: [old, new]} for the fields that differ (missing = None)."""
    return {
        name: [before.get(name), after.get(name)]
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def audit_record(*, actor: str, action: str, target_type: str, target_id: str, changes: dict | None = None) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=actor[:200] or SYSTEM,
        action=action,
        target_type=target_type,
        target_id=str(target_id)[:200],
        changes=changes or {},
        request_id=current_request_id(),
    )
