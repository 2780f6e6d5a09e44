"""Setting, clearing and re-encrypting service credentials. The admin and the command
go through these; every change writes an audit event (never the value) in its transaction."""

import json

from django.db import transaction
from django.utils import timezone

from audit.services import SYSTEM, audit_record
from core.errors import ApplicationError
from prompts.security import security_schemes

from .crypto import encrypt, reencrypt
from .models import ServiceCredential


def _audit(service_id: str, scheme: str, action: str, actor: str, changes: dict) -> None:
    audit_record(actor=actor, action=action, target_type="service_credential", target_id=f"{service_id}/{scheme}", changes=changes)


def validate_secret(scheme: dict | None, value: str) -> str:
    """The secret's shape for its scheme; the message never repeats the value."""
    if not isinstance(value, str) or not value.strip():
        raise ApplicationError("VALIDATION_ERROR", "The secret is empty.")
    value = value.strip("\r\n")
    kind = (scheme or {}).get("type")
    if kind == "http" and scheme.get("scheme") == "basic" and ":" not in value:
        raise ApplicationError("VALIDATION_ERROR", "This scheme is HTTP basic: the secret is user:password.")
    if kind == "oauth2":
        try:
            parsed = json.loads(value)
            ok = isinstance(parsed, dict) and parsed.get("client_id") and parsed.get("client_secret")
        except ValueError:
            ok = False
        if not ok:
            raise ApplicationError("VALIDATION_ERROR", 'This scheme is OAuth2: the secret is JSON {"client_id": …, "client_secret": …}.')
    return value


def declared_scheme(service, scheme: str) -> dict | None:
    """The scheme as the spec declares it; an unknown name is refused once the spec is known."""
    snapshot = getattr(service, "spec", None)
    schemes = security_schemes(snapshot) if snapshot is not None and snapshot.usable else None
    if schemes is not None and scheme not in schemes:
        declared = ", ".join(schemes) or "none"
        raise ApplicationError("UNKNOWN_SCHEME", f"The spec of {service.id} declares no security scheme '{scheme}' (declared: {declared}).")
    return (schemes or {}).get(scheme)


@transaction.atomic
def credential_set(*, service, scheme: str, value: str, actor: str = SYSTEM) -> ServiceCredential:
    """Store (or replace) the secret for one scheme of a service, encrypted."""
    declared = declared_scheme(service, scheme)
    value = validate_secret(declared, value)
    now = timezone.now()
    credential, created = ServiceCredential.objects.select_for_update().get_or_create(
        service=service, scheme=scheme, defaults={"ciphertext": encrypt(value), "created_at": now, "updated_at": now}
    )
    if not created:
        credential.ciphertext = encrypt(value)
        credential.updated_at = now
        credential.last_failure, credential.last_failure_at = "", None
        credential.save(update_fields=["ciphertext", "updated_at", "last_failure", "last_failure_at"])
    _audit(service.pk, scheme, "credential.set", actor, {"secret": [None if created else "set", "set" if created else "replaced"]})
    return credential


@transaction.atomic
def credential_clear(*, service, scheme: str, actor: str = SYSTEM) -> bool:
    deleted, _ = ServiceCredential.objects.filter(service=service, scheme=scheme).delete()
    if deleted:
        _audit(service.pk, scheme, "credential.clear", actor, {"secret": ["set", None]})
    return bool(deleted)


def credentials_rotate_key(*, actor: str = SYSTEM) -> int:
    """Re-encrypt every secret with the first key of ENSEMBLE_CREDENTIALS_KEYS; the
    other keys can be dropped afterwards. Returns how many secrets were re-encrypted."""
    count = 0
    with transaction.atomic():
        for credential in ServiceCredential.objects.select_for_update().order_by("pk"):
            credential.ciphertext = reencrypt(credential.ciphertext)
            credential.save(update_fields=["ciphertext"])
            count += 1
        audit_record(actor=actor, action="credential.rotate_key", target_type="service_credential", target_id="*",
                     changes={"reencrypted": [None, count]})
    return count


def credential_outcome_record(*, service_id: str, schemes: list[str], refused: str = "", use_stale: bool = True) -> None:
    """After a call with credentials: when they were last used (to the minute: no write
    per call), or last refused and why."""
    if not schemes or not (refused or use_stale):
        return
    now = timezone.now()
    rows = ServiceCredential.objects.filter(service_id=service_id, scheme__in=schemes)
    if refused:
        rows.update(last_used_at=now, last_failure_at=now, last_failure=refused[:500])
    else:
        rows.update(last_used_at=now)
