"""Who may do what in the control room: the permissions declared on control.models.ControlRoom,
the groups that bundle them, and the one check every view makes. A page needs its view
permission; what it sends or changes needs its own permission as well. A superuser has
them all; a staff user with none gets 403 on every page, and the admin index shows them
no part of the overview."""

from django.core.exceptions import PermissionDenied

VIEW_OPERATIONS = "control.view_operations"
CHANGE_POLICIES = "control.change_policies"
VIEW_APPROVALS = "control.view_approvals"
DECIDE_APPROVALS = "control.decide_approvals"
RUN_PLAYGROUND = "control.run_playground"

# Credentials are guarded by their model's own permissions (the service page's inline).
VIEW_CREDENTIALS = ("credentials.view_servicecredential", "credentials.change_servicecredential")

def require(user, permission: str) -> None:
    """403 (the admin's PermissionDenied page) unless `user` has `permission`."""
    if not user.has_perm(permission):
        raise PermissionDenied


def may_view_credentials(user) -> bool:
    return any(user.has_perm(permission) for permission in VIEW_CREDENTIALS)
