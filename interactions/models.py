from django.db import models
from django.utils import timezone


class InteractionLog(models.Model):
    """One call of POST /interact, whatever its outcome. Immutable once written."""

    class Outcome(models.TextChoices):
        ANSWERED = "answered"
        ASSISTANT_FAILED = "assistant_failed"
        LIMIT_REACHED = "limit_reached"
        REJECTED = "rejected"  # the request itself was invalid (400)
        FAILED = "failed"  # an unexpected failure (500)

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    user_input = models.TextField()
    assistant_response = models.TextField(blank=True)
    # What GET /logs returns: [{"service_name", "response"}], in call order.
    service_responses = models.JSONField(default=list)
    backend = models.CharField(max_length=20)
    model = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=30, choices=Outcome.choices)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    # The X-Request-ID of the /interact call: the same id is on its log lines and was
    # sent to every service it called.
    request_id = models.CharField(max_length=64, blank=True, default="", db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["-created_at", "-id"], name="interactionlog_newest")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.user_input[:60]}"


class ServiceCall(models.Model):
    """A service operation the assistant asked for during an interaction."""

    log = models.ForeignKey(InteractionLog, on_delete=models.CASCADE, related_name="calls")
    position = models.PositiveSmallIntegerField()
    service_id = models.CharField(max_length=100)
    service_name = models.CharField(max_length=200)
    operation_id = models.CharField(max_length=200)
    spec_hash = models.CharField(max_length=64, blank=True)
    method = models.CharField(max_length=10, blank=True)
    url = models.CharField(max_length=2000, blank=True)
    request = models.JSONField(default=dict, help_text="Arguments, with secret-looking values redacted.")
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    response = models.TextField(blank=True, help_text="Truncated to ENSEMBLE_SERVICE_RESPONSE_MAX_BYTES.")
    response_hash = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["log", "position"]
