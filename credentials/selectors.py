"""Reading credentials: which secrets one operation call needs, and the state of a
service's schemes for the admin and the command."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from outbound.auth import Credential
from prompts.security import security_schemes

from .crypto import CredentialsKeyError, decrypt
from .models import ServiceCredential

USE_RECORD_INTERVAL = timedelta(minutes=1)


def describe_scheme(scheme: dict | None) -> str:
    """A scheme in plain words, e.g. 'an API key in the X-API-KEY header'."""
    if not scheme:
        return "not declared in the spec"
    kind = scheme.get("type")
    if kind == "apiKey":
        return f"an API key in the {scheme.get('param')} {scheme.get('in')}"
    if kind == "http" and scheme.get("scheme") == "bearer":
        return "a bearer token"
    if kind == "http" and scheme.get("scheme") == "basic":
        return "HTTP basic, user:password"
    if kind == "oauth2" and scheme.get("token_url"):
        return f"OAuth2 client credentials from {scheme['token_url']}, as JSON with client_id and client_secret"
    return f"{' '.join(filter(None, [str(kind), scheme.get('scheme', '')]))}, not supported"


def is_supported(scheme: dict | None) -> bool:
    """The kinds outbound.auth can apply."""
    if not scheme:
        return False
    kind = scheme.get("type")
    return ((kind == "apiKey" and scheme.get("in") in ("header", "query", "cookie") and bool(scheme.get("param")))
            or (kind == "http" and scheme.get("scheme") in ("bearer", "basic"))
            or (kind == "oauth2" and bool(scheme.get("token_url"))))


@dataclass(frozen=True)
class OperationCredentials:
    """What a call needs: the credentials to apply, or, in `missing`, why it cannot be made."""

    credentials: list[Credential] = field(default_factory=list)
    missing: str = ""
    # Whether "last used" is worth writing: it is kept to the minute, not per call.
    use_stale: bool = False

    @property
    def scheme_names(self) -> list[str]:
        return [c.scheme["name"] for c in self.credentials]


def operation_credentials(*, service, snapshot, operation: dict) -> OperationCredentials:
    """The first alternative of the operation's security requirements (operation level,
    else the document's; the parser already chose) whose schemes all have a secret."""
    alternatives = operation.get("security") or []
    if not alternatives:
        return OperationCredentials()
    schemes = security_schemes(snapshot)
    stored = {c.scheme: c for c in ServiceCredential.objects.filter(service_id=service.pk)}
    for alternative in alternatives:
        if alternative and all(name in stored and is_supported(schemes.get(name)) for name in alternative):
            stale_before = timezone.now() - USE_RECORD_INTERVAL
            try:
                return OperationCredentials(
                    [Credential(schemes[name], decrypt(stored[name].ciphertext)) for name in alternative],
                    use_stale=any(not stored[n].last_used_at or stored[n].last_used_at < stale_before for n in alternative),
                )
            except CredentialsKeyError:
                return OperationCredentials(missing=(
                    f"Not called: the secret of {service.name} ({service.id}) for its security scheme "
                    f"'{alternative[0]}' cannot be decrypted with ENSEMBLE_CREDENTIALS_KEYS (was a key removed too early?)."
                ))
    if any(not alternative for alternative in alternatives):
        return OperationCredentials()  # the spec allows calling without credentials
    first = alternatives[0]
    absent = [name for name in first if name not in stored or not is_supported(schemes.get(name))]
    named = ", ".join(f"'{name}' ({describe_scheme(schemes.get(name))})" for name in absent)
    return OperationCredentials(missing=(
        f"Not called: {operation['operation_id']} of {service.name} ({service.id}) needs a secret for its security "
        f"scheme {named}, and none is set. An admin can set it on the service's admin page or with "
        f"`manage.py service_credential set {service.id} {absent[0]} --value-stdin`."
    ))


@dataclass(frozen=True)
class SchemeState:
    name: str
    description: str
    declared: bool
    needed: bool  # some operation's security names it
    credential: ServiceCredential | None

    @property
    def state(self) -> str:
        if self.credential is None:
            return "missing" if self.needed else "not set"
        return "set"


def scheme_states(service) -> list[SchemeState]:
    """Every scheme the spec declares or a stored secret names, with its state."""
    snapshot = getattr(service, "spec", None)
    schemes = security_schemes(snapshot) if snapshot is not None else {}
    needed = {name for op in (snapshot.operations if snapshot is not None else []) for alt in op.get("security") or [] for name in alt}
    stored = {c.scheme: c for c in ServiceCredential.objects.filter(service_id=service.pk)}
    names = list(schemes) + sorted(set(stored) - set(schemes))
    return [SchemeState(name, describe_scheme(schemes.get(name)), name in schemes, name in needed, stored.get(name)) for name in names]


def missing_schemes(service) -> list[str]:
    """Schemes the service's operations need that have no secret (the admin's spec status)."""
    return [s.name for s in scheme_states(service) if s.needed and s.credential is None]
