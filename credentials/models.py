from django.db import models
from django.utils import timezone


class ServiceCredential(models.Model):
    """The secret for one security scheme of a service's spec, encrypted with Fernet
    (credentials.crypto). The plain value exists only in memory, while a call is sent."""

    service = models.ForeignKey("registry.Service", on_delete=models.CASCADE, related_name="credentials")
    scheme = models.CharField(max_length=200, help_text="The scheme's name in the spec, e.g. apiKeyAuth.")
    ciphertext = models.BinaryField(editable=False)
    # Where the secret may go: the origins (scheme://host:port) an admin confirmed for it,
    # first the service's effective origin when it was set, then any confirmed since
    # (an OAuth2 token endpoint elsewhere, operations with servers of their own).
    origins = models.JSONField(default=list, blank=True, editable=False)
    # Origins the service now uses that nobody confirmed: the secret is held back from
    # them (recorded when the change is noticed, for the audit trail and the admin).
    pending_origins = models.JSONField(default=list, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_failure_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_failure = models.CharField(max_length=500, blank=True, editable=False)

    class Meta:
        ordering = ["service_id", "scheme"]
        constraints = [models.UniqueConstraint(fields=["service", "scheme"], name="one_secret_per_service_scheme")]

    def __str__(self):
        return f"{self.scheme} of {self.service_id}"
