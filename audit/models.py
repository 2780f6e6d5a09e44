"""The audit trail: who changed the registry or the API keys, when, and what changed.

Rows are written by the services functions in the same transaction as the change, so
a change without its audit row (or the reverse) cannot exist. The actor is kept as
text ("user:alice", "key:ens_AbCdEfGh (ci)", "command:apikey"), not as a foreign key:
the record must outlive the user or key it names."""

from django.db import models
from django.utils import timezone


class AuditEvent(models.Model):
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=40, help_text="e.g. service.register, apikey.revoke")
    target_type = models.CharField(max_length=40)
    target_id = models.CharField(max_length=200)
    changes = models.JSONField(default=dict, blank=True, help_text="Field: [before, after] (secrets never appear).")
    request_id = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.target_id}"
