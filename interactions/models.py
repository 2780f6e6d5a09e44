import secrets

from django.db import models
from django.utils import timezone


def new_conversation_id() -> str:
    """An unguessable id (32 random bytes, URL-safe): knowing one is no way to find another."""
    return secrets.token_urlsafe(32)


class Conversation(models.Model):
    """The turns of /interact a client continues by sending back `conversation_id`. It
    belongs to the API key that started it (`owner`, the `requested_by` of its logs);
    bounded by ENSEMBLE_CONVERSATION_MAX_TURNS and idle-expired after
    ENSEMBLE_CONVERSATION_TTL (interactions.conversations)."""

    id = models.CharField(primary_key=True, max_length=64, default=new_conversation_id, editable=False)
    owner = models.CharField(max_length=200, help_text="The API key (or admin user) that started it.")
    created_at = models.DateTimeField(default=timezone.now)
    last_turn_at = models.DateTimeField(default=timezone.now, db_index=True,
                                        help_text="When its latest turn started: idle expiry and retention count from here.")
    turns = models.PositiveIntegerField(default=0, help_text="Turns started so far (the limit counts these).")

    class Meta:
        ordering = ["-last_turn_at"]

    def __str__(self):
        return f"{self.id[:8]}… ({self.turns} turns, {self.owner})"


class InteractionLog(models.Model):
    """One call of POST /interact, whatever its outcome. Immutable once written, except
    that a call waiting for approval has its line filled in when it is decided."""

    class Outcome(models.TextChoices):
        ANSWERED = "answered"
        ASSISTANT_FAILED = "assistant_failed"
        LIMIT_REACHED = "limit_reached"
        CALLS_FAILED = "calls_failed"  # answered, but every service call it made failed or was not sent
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
    # The conversation and its turn number (1, 2, ...); a refusal in a conversation (a
    # full or expired one, bad input) has no turn. Logs written before conversations: none.
    conversation = models.ForeignKey(Conversation, null=True, blank=True, on_delete=models.PROTECT, related_name="logs")
    turn = models.PositiveIntegerField(null=True, blank=True)
    # A log is written once, except that a held call's decision rewrites its line and its
    # answer (interactions/approvals.py); when it last did. The search index's resync
    # enqueues logs amended while it copied (search/maintenance.py).
    amended_at = models.DateTimeField(null=True, blank=True, editable=False)

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
    sources = models.JSONField(
        default=dict, blank=True,
        help_text="Arguments a plan took from earlier calls' answers: the call's position, the place in its answer, "
                  "which item was picked and the value.",
    )
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    response = models.TextField(blank=True, help_text="Truncated to ENSEMBLE_SERVICE_RESPONSE_MAX_BYTES.")
    response_hash = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    # When the call was made (the log's time, or the approval's): the operations' health
    # in the admin is counted over time windows on these indexes.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["log", "position"]
        indexes = [
            models.Index(fields=["service_id", "operation_id", "created_at"], name="servicecall_operation_time"),
            models.Index(fields=["created_at"], name="servicecall_time"),
        ]

    def __str__(self):
        return f"{self.service_id}:{self.operation_id} (log {self.log_id})"


class PendingApproval(models.Model):
    """A call the assistant chose that waits for an admin: nothing was sent. Decided once
    (a conditional update from `pending`); approving runs the call and adds its result to
    the same interaction log, provided it is still the call that was shown: the same
    method, path template and origin, the same spec and the same arguments (else it
    ends `changed`, with the reason, and nothing is sent)."""

    class State(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"
        EXPIRED = "expired"
        CHANGED = "changed"  # approved, but the call would no longer be the one shown: not sent

    reference = models.CharField(max_length=20, unique=True, help_text="What the user was told, e.g. APR-3F9A2C1B.")
    log = models.ForeignKey(InteractionLog, on_delete=models.CASCADE, related_name="approvals")
    position = models.PositiveSmallIntegerField(help_text="Its place in the log's service_responses.")
    service_id = models.CharField(max_length=100)
    service_name = models.CharField(max_length=200)
    operation_id = models.CharField(max_length=200)
    method = models.CharField(max_length=10, blank=True)
    # The call as it was shown, checked again when it is approved (interactions.approvals).
    path = models.CharField(max_length=2000, blank=True, default="", help_text="The operation's path template.")
    origin = models.CharField(max_length=300, blank=True, default="", help_text="Where the call goes (scheme://host:port).")
    spec_hash = models.CharField(max_length=64, blank=True, default="", help_text="The spec's hash when the call was held.")
    arguments_digest = models.CharField(max_length=64, blank=True, default="", help_text="SHA-256 of the arguments as held.")
    arguments = models.JSONField(
        default=dict, help_text="Validated against the operation's schema when asked; secret ones shown as [redacted].",
    )
    # The arguments, Fernet-encrypted like credentials (credentials.crypto), when some are
    # secrets (format: password, writeOnly, a secret-looking name); cleared once decided.
    sealed_arguments = models.BinaryField(null=True, blank=True, editable=False)
    requested_by = models.CharField(max_length=200, blank=True, help_text="The API key (or admin user) that asked.")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    decided_by = models.CharField(max_length=200, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    reason = models.TextField(blank=True)
    call = models.ForeignKey(ServiceCall, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # When its outcome was told at the start of a later turn of its conversation (once).
    outcome_reported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "created_at"], name="approval_state_time")]

    def __str__(self):
        return f"{self.reference} {self.service_id}:{self.operation_id} ({self.state})"
