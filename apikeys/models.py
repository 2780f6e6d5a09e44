"""API keys, stored as SHA-256 digests.

Keys are long random strings (256 bits for generated ones), so a fast hash is enough:
nobody can brute-force a digest of a 43-character random token, and checking a key
stays cheap on every request. The first characters (the prefix) are stored in clear to
find the candidate rows and to let admins tell keys apart; the digest is then compared
in constant time.
"""

import hashlib
import hmac
import secrets

from django.db import models
from django.utils import timezone

PREFIX_LENGTH = 12
MIN_KEY_LENGTH = 16


def digest_of(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def prefix_of(raw_key: str) -> str:
    return raw_key[:PREFIX_LENGTH]


def generate_raw_key() -> str:
    return "ens_" + secrets.token_urlsafe(32)


class ApiKeyQuerySet(models.QuerySet):
    def active(self):
        """Usable now: not revoked, and not past its expiry."""
        return self.filter(revoked_at__isnull=True).filter(
            models.Q(expires_at__isnull=True) | models.Q(expires_at__gt=timezone.now())
        )


class ApiKey(models.Model):
    name = models.CharField(max_length=100, help_text="Who or what uses this key.")
    prefix = models.CharField(max_length=PREFIX_LENGTH, db_index=True, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    is_admin = models.BooleanField(
        default=False,
        help_text="Admin keys go in X-ADMIN-API-KEY and may change the registry; they also work as X-API-KEY.",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="The key stops working at this time (empty: never). Rotation sets it on the old key.",
    )

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]

    def __str__(self):
        kind = "admin" if self.is_admin else "api"
        return f"{self.name} ({kind}, {self.prefix}…)"

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active" if self.expires_at is None else f"expires {self.expires_at:%Y-%m-%d %H:%M} UTC"

    # DRF treats request.user as the principal; a key is an authenticated principal.
    is_authenticated = True
    is_anonymous = False

    def matches(self, raw_key: str) -> bool:
        return hmac.compare_digest(self.digest, digest_of(raw_key))


class RateLimitCounter(models.Model):
    """Hits in the current window of one rate-limit bucket (see ratelimit.py)."""

    bucket = models.CharField(max_length=200, primary_key=True)
    window_start = models.BigIntegerField(help_text="Start of the window, in units of the rate's period.")
    hits = models.PositiveIntegerField()
    expires_at = models.BigIntegerField(help_text="Unix time the window ends; pruned after.")

    def __str__(self):
        return f"{self.bucket} (window {self.window_start})"
