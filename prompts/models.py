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
    decides is prompts.policies.effective_policy.

    A row also records the method and path the operation had when an admin decided, so
    the policy follows the operation, not just its name: a renamed operation keeps it,
    and one whose method or path changed under the same name is no longer "allowed"
    until an admin decides again (saving the row records the operation as it is now)."""

    class Policy(models.TextChoices):
        ALLOWED = "allowed"
        NEEDS_APPROVAL = "needs_approval", "needs approval"
        DISABLED = "disabled"

    service = models.ForeignKey("registry.Service", on_delete=models.CASCADE, related_name="operation_policies")
    operation_id = models.CharField(max_length=200, blank=True, help_text="Empty: the default for the service's writes.")
    policy = models.CharField(max_length=20, choices=Policy.choices)
    # The operation's method and path when the policy was decided ("" for the writes'
    # default, or an operation the spec did not have then).
    method = models.CharField(max_length=10, blank=True, default="")
    path = models.CharField(max_length=2000, blank=True, default="")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["service", "operation_id"], name="one_policy_per_operation")]

    def __str__(self):
        return f"{self.service_id}:{self.operation_id or '(writes)'} {self.policy}"

    def save(self, *args, **kwargs):
        # An admin's decision is about the operation as the spec has it now.
        if self.operation_id:
            self.method, self.path = self._current_route()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "method", "path"}
        super().save(*args, **kwargs)

    def _current_route(self) -> tuple[str, str]:
        operation = next((op for op in _operations_of(self.service_id) if op["operation_id"] == self.operation_id), None)
        return (operation["method"], operation["path"]) if operation else ("", "")

    def route_change(self) -> tuple[str, str] | None:
        """("PUT /notes/{id}", "DELETE /notes/{id}") when the operation's method or path
        changed since this policy was decided; None otherwise."""
        if not self.operation_id or not self.method:
            return None
        current = self._current_route()
        if current == (self.method, self.path):
            return None
        return f"{self.method} {self.path}", " ".join(current).strip() or "(gone from the spec)"


def _operations_of(service_id: str) -> list[Operation]:
    operations_json = SpecSnapshot.objects.filter(service_id=service_id).values_list("operations_json", flat=True).first()
    return json.loads(operations_json or "[]")


class SpecChange(models.Model):
    """One refetch that changed a service's operations or its base URL: the snapshot's history."""

    service = models.ForeignKey("registry.Service", on_delete=models.CASCADE, related_name="spec_changes")
    at = models.DateTimeField(default=timezone.now)
    added = models.JSONField(default=list)
    removed = models.JSONField(default=list)
    changed = models.JSONField(default=list)
    # The spec's base URL before and after, when the refetch moved it (else both empty):
    # where calls go, and so where secrets would go once an admin confirms it.
    base_url_before = models.CharField(max_length=2000, blank=True, default="")
    base_url_after = models.CharField(max_length=2000, blank=True, default="")

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
