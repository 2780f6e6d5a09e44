from django.db import models
from django.utils import timezone


class SyncEntry(models.Model):
    """One pending change to mirror into Typesense: "index `index`, object `object_id`
    changed". It holds no document: the worker reads the object's current state when it
    delivers, so whichever entry is delivered last ships the newest row. Written in the
    same transaction as the change; deleted once delivered."""

    index = models.CharField(max_length=64)
    object_id = models.CharField(max_length=400)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    # A worker's claim: other workers skip the entry until the lease runs out.
    claimed_by = models.CharField(max_length=64, blank=True, default="")
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "sync entry"
        verbose_name_plural = "sync entries (Typesense backlog)"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["next_attempt_at", "id"], name="syncentry_due"),
            models.Index(fields=["index", "object_id"], name="syncentry_object"),
        ]

    def __str__(self):
        return f"{self.index}:{self.object_id}"
