from django.db import models


class ControlRoom(models.Model):
    """No data: the control room's permissions, in one place an admin finds them when
    editing a group ("Control room | control room | Can …"). The pages they guard read
    and write other apps' tables (policies in prompts, approvals and runs in
    interactions), so no one of those models is the natural owner. The groups
    "Operators" and "Approvers" are created with them (migration 0002); the views check
    them (control/permissions.py)."""

    class Meta:
        managed = False  # no table
        default_permissions = ()
        permissions = [
            ("view_operations", "Can see services' operations, their policies and health, and dry-run the playground"),
            ("change_policies", "Can change operation policies"),
            ("view_approvals", "Can see the calls that wait for approval"),
            ("decide_approvals", "Can approve or reject calls that wait for approval"),
            ("run_playground", "Can run the playground for real (the calls are sent)"),
        ]
        verbose_name = "control room"

    def __str__(self):
        return "the control room"
