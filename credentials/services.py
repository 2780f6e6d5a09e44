"""Setting, clearing and re-encrypting service credentials. The admin and the command
go through these; every change writes an audit event (never the value) in its transaction."""

import json
import logging

from django.db import transaction
from django.utils import timezone

from audit.services import SYSTEM, audit_record
from core.errors import ApplicationError
from prompts.endpoints import effective_origin
from prompts.models import SpecSnapshot
from prompts.security import security_schemes

from .crypto import encrypt, reencrypt
from .models import ServiceCredential
from .origins import waiting_origins
from .selectors import DELEGATED_FLOWS, credential_needed_origins

logger = logging.getLogger("ensemble.credentials")


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
        _validate_oauth2(scheme, value)
    return value


def _validate_oauth2(scheme: dict, value: str) -> None:
    """Client credentials when the scheme has that flow; for the flows an admin completes
    elsewhere (authorization code, implicit, password), an access token, or a refresh
    token with the client id (and secret) when the flow has a tokenUrl to redeem it at."""
    flows = scheme.get("flows") or {}
    client_ok = bool(scheme.get("token_url"))
    delegated = [flow for flow in DELEGATED_FLOWS if flow in flows]
    refreshable = any(flows.get(flow) for flow in ("authorizationCode", "password"))
    shapes = []
    if client_ok:
        shapes.append('{"client_id": …, "client_secret": …}')
    if delegated:
        shapes.append('{"access_token": …}')
        if refreshable:
            shapes.append('{"refresh_token": …, "client_id": …, "client_secret": …}')
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        strings = {k: v for k, v in parsed.items() if isinstance(v, str) and v.strip()}
        if delegated and "access_token" in strings:
            return
        if delegated and refreshable and "refresh_token" in strings and "client_id" in strings:
            return
        if client_ok and "client_id" in strings and "client_secret" in strings and not (
                "access_token" in parsed or "refresh_token" in parsed):
            return
    raise ApplicationError("VALIDATION_ERROR", f"This scheme is OAuth2: the secret is JSON, {' or '.join(shapes) or 'of a flow the Ensemble does not support'}.")


def declared_scheme(service, scheme: str) -> dict | None:
    """The scheme as the spec declares it; an unknown name is refused once the spec is known."""
    snapshot = getattr(service, "spec", None)
    schemes = security_schemes(snapshot) if snapshot is not None and snapshot.usable else None
    if schemes is not None and scheme not in schemes:
        declared = ", ".join(schemes) or "none"
        raise ApplicationError("UNKNOWN_SCHEME", f"The spec of {service.id} declares no security scheme '{scheme}' (declared: {declared}).")
    return (schemes or {}).get(scheme)


def _snapshot_of(service) -> SpecSnapshot | None:
    try:
        return service.spec
    except SpecSnapshot.DoesNotExist:
        return None


@transaction.atomic
def credential_set(*, service, scheme: str, value: str, actor: str = SYSTEM) -> ServiceCredential:
    """Store (or replace) the secret for one scheme of a service, encrypted, bound to
    the service's effective origin as it is now (setting a secret is an admin's word
    about the service as they see it). Any other origin it would go to (an OAuth2 token
    endpoint elsewhere) waits for `credential_confirm_origin`."""
    declared = declared_scheme(service, scheme)
    value = validate_secret(declared, value)
    now = timezone.now()
    snapshot = _snapshot_of(service)
    credential, created = ServiceCredential.objects.select_for_update().get_or_create(
        service=service, scheme=scheme, defaults={"ciphertext": encrypt(value), "created_at": now, "updated_at": now}
    )
    before = list(credential.origins or []) if not created else None
    credential.ciphertext = encrypt(value)
    credential.updated_at = now
    credential.last_failure, credential.last_failure_at = "", None
    needed = credential_needed_origins(service, snapshot, credential, declared)
    # The service's own origin is confirmed by this set; origins confirmed before stay
    # confirmed only while they are still needed (an old host is dropped).
    own = effective_origin(service, snapshot)
    credential.origins = [o for o in needed if o == own or o in (before or [])] or ([own] if own else [])
    credential.pending_origins = waiting_origins(credential, needed)
    credential.save(update_fields=["ciphertext", "updated_at", "last_failure", "last_failure_at", "origins", "pending_origins"])
    changes = {"secret": [None if created else "set", "set" if created else "replaced"]}
    if before != credential.origins:
        changes["origins"] = [before, credential.origins]
    if credential.pending_origins:
        changes["waiting for confirmation"] = [None, credential.pending_origins]
    _audit(service.pk, scheme, "credential.set", actor, changes)
    return credential


@transaction.atomic
def credential_confirm_origin(*, service, scheme: str | None = None, actor: str = SYSTEM) -> list[ServiceCredential]:
    """An admin's confirmation that the service's secrets (all, or the one of `scheme`)
    may go where the service now sends them: each credential's origins become exactly
    the ones it is needed for now (an origin no longer used is dropped). Audited."""
    rows = ServiceCredential.objects.select_for_update().filter(service=service)
    if scheme is not None:
        rows = rows.filter(scheme=scheme)
    credentials = list(rows.order_by("scheme"))
    if scheme is not None and not credentials:
        raise ApplicationError("NO_SECRET", f"{service.id} has no secret for {scheme}.")
    snapshot = _snapshot_of(service)
    schemes = security_schemes(snapshot) if snapshot is not None and snapshot.usable else {}
    for credential in credentials:
        needed = credential_needed_origins(service, snapshot, credential, schemes.get(credential.scheme))
        if not needed:
            raise ApplicationError("NO_ORIGIN", f"{service.id} has no base URL yet (no usable spec, no override): "
                                                "there is no origin to confirm.")
        before = list(credential.origins or [])
        credential.origins, credential.pending_origins = needed, []
        credential.save(update_fields=["origins", "pending_origins"])
        _audit(service.pk, credential.scheme, "credential.confirm_origin", actor, {"origins": [before, needed]})
    return credentials


def credential_origins_check(*, service=None, service_id: str | None = None, snapshot=None,
                             actor: str = SYSTEM) -> list[ServiceCredential]:
    """After a change that may move where the service's calls go (its spec was fetched,
    its override or URL changed): record, with an audit event, every secret that now
    waits for an origin nobody confirmed, and every one whose wait ended (the service
    came back). The hold itself is decided on every call (selectors); this keeps the
    trail and the admin's view. Returns the credentials whose state changed."""
    credentials = list(ServiceCredential.objects.filter(service_id=service.pk if service else service_id)
                       .select_related("service"))
    if not credentials:
        return []
    service = service or credentials[0].service
    if snapshot is None:
        snapshot = SpecSnapshot.objects.filter(service_id=service.pk).defer("document").first()
    schemes = security_schemes(snapshot) if snapshot is not None and snapshot.usable else {}
    changed = []
    for credential in credentials:
        waiting = waiting_origins(credential, credential_needed_origins(service, snapshot, credential, schemes.get(credential.scheme)))
        if waiting == list(credential.pending_origins or []):
            continue
        before, credential.pending_origins = list(credential.pending_origins or []), waiting
        credential.save(update_fields=["pending_origins"])
        action = "credential.origin_held" if waiting else "credential.origin_back"
        _audit(service.pk, credential.scheme, action, actor,
               {"waiting for confirmation": [before or None, waiting or None], "confirmed": [None, credential.origins]})
        if waiting:
            logger.warning("the secret of %s for %s is held back: %s is not a confirmed origin",
                           service.pk, credential.scheme, ", ".join(waiting))
        changed.append(credential)
    return changed


def credential_secret_rotated(*, credential_id: int, value: str) -> None:
    """The token endpoint rotated an OAuth2 refresh token: keep the new secret (the old
    refresh token may be dead now). Audited without the value."""
    try:
        with transaction.atomic():
            credential = ServiceCredential.objects.select_for_update().filter(pk=credential_id).first()
            if credential is None:
                return
            credential.ciphertext = encrypt(value)
            credential.updated_at = timezone.now()
            credential.save(update_fields=["ciphertext", "updated_at"])
            _audit(credential.service_id, credential.scheme, "credential.refresh_token_rotated", SYSTEM,
                   {"secret": ["set", "rotated by the token endpoint"]})
    except Exception:  # the call that refreshed must still be answered
        logger.exception("storing the rotated refresh token of credential %s failed", credential_id)


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
