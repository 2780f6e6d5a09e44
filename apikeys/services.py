"""Creating, revoking and checking API keys. The admin, the management commands and
the authentication classes all go through these functions."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ensemble_project.errors import ApplicationError

from .models import MIN_KEY_LENGTH, ApiKey, digest_of, generate_raw_key, prefix_of


def api_key_create(*, name: str, is_admin: bool, raw_key: str | None = None) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the raw key, which is never stored or shown again."""
    raw_key = raw_key or generate_raw_key()
    if len(raw_key) < MIN_KEY_LENGTH:
        raise ApplicationError("WEAK_KEY", f"An API key must have at least {MIN_KEY_LENGTH} characters.")
    key = ApiKey.objects.create(name=name, is_admin=is_admin, prefix=prefix_of(raw_key), digest=digest_of(raw_key))
    return key, raw_key


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def api_key_find(raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, compared in constant time, or None."""
    if not raw_key or len(raw_key) < MIN_KEY_LENGTH or len(raw_key) > 256:
        return None
    match = None
    for candidate in ApiKey.objects.active().filter(prefix=prefix_of(raw_key)):
        # Compare with every candidate, so timing does not tell which one matched.
        if candidate.matches(raw_key):
            match = candidate
    return match


@transaction.atomic
def api_keys_bootstrap_from_settings() -> list[str]:
    """Ensure ENSEMBLE_API_KEY / ENSEMBLE_ADMIN_API_KEY exist as active keys (development)."""
    created = []
    for raw_key, is_admin, name in (
        (settings.ENSEMBLE_API_KEY, False, "bootstrap: ENSEMBLE_API_KEY"),
        (settings.ENSEMBLE_ADMIN_API_KEY, True, "bootstrap: ENSEMBLE_ADMIN_API_KEY"),
    ):
        if not raw_key:
            continue
        existing = ApiKey.objects.filter(digest=digest_of(raw_key)).first()
        if existing is None:
            api_key_create(name=name, is_admin=is_admin, raw_key=raw_key)
            created.append(name)
        elif existing.revoked_at is not None or existing.is_admin != is_admin:
            raise ApplicationError(
                "BOOTSTRAP_KEY_CONFLICT",
                f"{name.split(': ')[1]} matches key {existing} which is revoked or of another kind.",
            )
    return created
