from django.db import models
from django.utils import timezone

from . import rules


class Service(models.Model):
    """A FountainAI service: where its OpenAPI document is, and how it is labelled."""

    id = models.CharField(primary_key=True, max_length=rules.SERVICE_ID_MAX, validators=[rules.validate_service_id])
    name = models.CharField(max_length=rules.NAME_MAX, validators=[rules.validate_name])
    description = models.TextField(max_length=rules.DESCRIPTION_MAX, blank=True)
    openapi_url = models.CharField("OpenAPI URL", max_length=rules.URL_MAX, validators=[rules.validate_openapi_url])
    read_only = models.BooleanField(
        default=False,
        help_text="Only the service's GET operations are offered to the assistant. Set in the admin; not part of the API.",
    )
    base_url_override = models.CharField(
        "base URL override", max_length=rules.URL_MAX, blank=True, validators=[rules.validate_base_url_override],
        help_text="Calls go here instead of the spec's servers (e.g. a local or staging instance). Set in the admin or "
                  "with manage.py service_base_url; not part of the API. The service's secrets wait until an admin "
                  "confirms the new origin.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    # Bumped on every write; the search index stores it to tell stale documents apart.
    revision = models.PositiveBigIntegerField(default=1, editable=False)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.name} ({self.id})"

    @property
    def tag_list(self) -> list[str]:
        # Uses the prefetch cache when the selector prefetched tags.
        return [tag.name for tag in self.tags.all()]


class ServiceTag(models.Model):
    """A tag on a service, with its position so the order the admin gave is kept."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=rules.TAG_MAX, db_index=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["service", "name"], name="unique_tag_per_service")]

    def __str__(self):
        return self.name


class RegistryRevision(models.Model):
    """One row whose token every registry write replaces, in the write's own transaction
    (registry/services.py). `GET /services` keeps its rendered body per token, so a read
    after a committed write is never stale, on any worker or instance. A random token
    rather than a counter: a rolled-back write leaves no number to be reused."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    token = models.CharField(max_length=32)

    def __str__(self):
        return self.token
