import json

from django.db import models
from django.utils import timezone

from registry.models import Service

from .parsing import Operation


class SpecSnapshot(models.Model):
    """The last OpenAPI document fetched for a service, and what it parsed to. Prompts
    are built from here, so they never wait on the network once a snapshot exists."""

    service = models.OneToOneField("registry.Service", on_delete=models.CASCADE, related_name="spec", primary_key=True)
    source_url = models.CharField(max_length=2000)
    document = models.TextField(blank=True)
    content_hash = models.CharField(max_length=64, blank=True)
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=500, blank=True)
    base_url = models.CharField(max_length=2000, blank=True)
    # JSON text, not a JSONField: PostgreSQL's jsonb reorders object keys, and the order
    # of a schema's properties is part of a deterministic prompt.
    operations_json = models.TextField(default="[]")
    # The document's security schemes, as prompts.security reads them (JSON; empty: not
    # read yet, e.g. a snapshot stored before this field existed).
    security_schemes_json = models.TextField(blank=True, default="")
    fetched_at = models.DateTimeField(null=True, blank=True)
    # What changed in the operations at the last refetch that changed them.
    last_change = models.TextField(blank=True)
    error = models.TextField(blank=True, help_text="Why the last fetch or parse failed; empty when it worked.")
    error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "OpenAPI snapshot"

    def __str__(self):
        return f"spec of {self.service_id}"

    @property
    def operations(self) -> list[Operation]:
        cached = self.__dict__.get("_operations")
        if cached is None:
            cached = self.__dict__["_operations"] = json.loads(self.operations_json or "[]")
        return cached

    @operations.setter
    def operations(self, value: list[Operation]) -> None:
        self.__dict__["_operations"] = value
        self.operations_json = json.dumps(value)

    @property
    def usable(self) -> bool:
        return bool(self.fetched_at)


class OperationPolicy(models.Model):
    """What the assistant may do with one operation of a service. A row with an empty
    `operation_id` is the service's default for its writes (every method but GET).
    Operations without a row are allowed (GETs) or follow that default (writes); a
    read-only service has its writes disabled whatever the rows say. The one place that
    decides is prompts.policies.effective_policy."""

    class Policy(models.TextChoices):
        ALLOWED = "allowed"
        NEEDS_APPROVAL = "needs_approval", "needs approval"
        DISABLED = "disabled"

    service = models.ForeignKey("registry.Service", on_delete=models.CASCADE, related_name="operation_policies")
    operation_id = models.CharField(max_length=200, blank=True, help_text="Empty: the default for the service's writes.")
    policy = models.CharField(max_length=20, choices=Policy.choices)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["service", "operation_id"], name="one_policy_per_operation")]

    def __str__(self):
        return f"{self.service_id}:{self.operation_id or '(writes)'} {self.policy}"


class SpecChange(models.Model):
    """One refetch that changed a service's operations: the snapshot's history."""

    service = models.ForeignKey("registry.Service", on_delete=models.CASCADE, related_name="spec_changes")
    at = models.DateTimeField(default=timezone.now)
    added = models.JSONField(default=list)
    removed = models.JSONField(default=list)
    changed = models.JSONField(default=list)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["service", "-at"], name="specchange_service_newest")]

    def __str__(self):
        return f"{self.service_id} at {self.at:%Y-%m-%d %H:%M}"


def services_with_snapshots():
    """One query for services and their snapshots (without the stored documents), and
    one for their operation policies: the one way services are read with their specs
    (prompts' selectors and the operations index alike)."""
    return Service.objects.select_related("spec").defer("spec__document").prefetch_related("operation_policies")
