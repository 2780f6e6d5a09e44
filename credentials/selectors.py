"""Reading credentials: which secrets one operation call needs, and the state of a
service's schemes for the admin and the command."""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.utils import timezone

from outbound.auth import Credential, refresh_token_url
from prompts.endpoints import effective_origin
from prompts.security import security_schemes

from .crypto import CredentialsKeyError, decrypt
from .models import ServiceCredential
from .origins import needed_origins, token_origin, waiting_origins

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
    if kind == "oauth2":
        ways = []
        if scheme.get("token_url"):
            ways.append(f"client credentials from {scheme['token_url']} (JSON with client_id and client_secret)")
        delegated = [flow for flow in DELEGATED_FLOWS if flow in (scheme.get("flows") or {})]
        if delegated:
            refresh_at = refresh_token_url(scheme)
            ways.append(f"a token an admin obtained ({', '.join(delegated)}): JSON with access_token"
                        + (f", or refresh_token, client_id and client_secret (refreshed at {refresh_at})" if refresh_at else ""))
        if ways:
            return "OAuth2 " + "; or ".join(ways)
    return f"{' '.join(filter(None, [str(kind), scheme.get('scheme', '')]))}, not supported"


# The OAuth2 flows whose tokens an admin obtains elsewhere and sets here.
DELEGATED_FLOWS = ("authorizationCode", "implicit", "password")


def is_supported(scheme: dict | None) -> bool:
    """The kinds outbound.auth can apply."""
    if not scheme:
        return False
    kind = scheme.get("type")
    return ((kind == "apiKey" and scheme.get("in") in ("header", "query", "cookie") and bool(scheme.get("param")))
            or (kind == "http" and scheme.get("scheme") in ("bearer", "basic"))
            or (kind == "oauth2" and (bool(scheme.get("token_url"))
                                      or any(flow in (scheme.get("flows") or {}) for flow in DELEGATED_FLOWS))))


@dataclass(frozen=True)
class OperationCredentials:
    """What a call needs: the credentials to apply, or, in `missing`, why it cannot be
    made (no secret, or, with `held`, secrets waiting for an admin to confirm an origin)."""

    credentials: list[Credential] = field(default_factory=list)
    missing: str = ""
    # Whether "last used" is worth writing: it is kept to the minute, not per call.
    use_stale: bool = False
    held: bool = False

    @property
    def scheme_names(self) -> list[str]:
        return [c.scheme["name"] for c in self.credentials]


def _held_message(service, name: str, credential: ServiceCredential, waiting: list[str], token: str) -> str:
    what = ", ".join(f"{origin} (its token endpoint)" if origin == token else origin for origin in waiting)
    confirmed = ", ".join(credential.origins or []) or "no origin yet"
    return (
        f"Not called: the secret of {service.name} ({service.id}) for its security scheme '{name}' waits for an admin "
        f"to confirm the new origin {what}; it is confirmed for {confirmed}. Nothing was sent. An admin confirms with "
        f"`manage.py service_credential confirm-origin {service.id} {name}` or clears the secret."
    )


def operation_credentials(*, service, snapshot, operation: dict,
                          on_rotate: Callable[[int, str], None] | None = None) -> OperationCredentials:
    """The first alternative of the operation's security requirements (operation level,
    else the document's; the parser already chose) whose schemes all have a secret
    confirmed for the origins the call sends it to. An alternative whose secrets wait
    for an origin to be confirmed is skipped; when no other can be used, the call is
    not made at all (not even without the secret: its arguments would still go to an
    origin nobody confirmed) and the answer says what waits. `on_rotate(credential_id,
    secret)` keeps a secret the token endpoint rotated (the caller passes the write:
    credentials.services.credential_secret_rotated)."""
    alternatives = operation.get("security") or []
    if not alternatives:
        return OperationCredentials()
    schemes = security_schemes(snapshot)
    stored = {c.scheme: c for c in ServiceCredential.objects.filter(service_id=service.pk)}
    call_origin = effective_origin(service, snapshot, operation)
    held = ""
    for alternative in alternatives:
        if not (alternative and all(name in stored and is_supported(schemes.get(name)) for name in alternative)):
            continue
        try:
            secrets = {name: decrypt(stored[name].ciphertext) for name in alternative}
        except CredentialsKeyError:
            return OperationCredentials(missing=(
                f"Not called: the secret of {service.name} ({service.id}) for its security scheme "
                f"'{alternative[0]}' cannot be decrypted with ENSEMBLE_CREDENTIALS_KEYS (was a key removed too early?)."
            ))
        built, waiting_here = [], ""
        for name in alternative:
            row, scheme = stored[name], schemes[name]
            token = token_origin(scheme, secrets[name])
            waiting = waiting_origins(row, [o for o in (call_origin, token) if o])
            if waiting or not call_origin:
                waiting_here = waiting_here or _held_message(service, name, row, waiting or ["(none: no base URL)"], token)
                continue
            built.append(Credential(scheme, secrets[name], origin=call_origin, token_origin=token,
                                    on_rotate=partial(on_rotate, row.pk) if on_rotate else None))
        if waiting_here:
            held = held or waiting_here
            continue
        stale_before = timezone.now() - USE_RECORD_INTERVAL
        return OperationCredentials(
            built, use_stale=any(not stored[n].last_used_at or stored[n].last_used_at < stale_before for n in alternative),
        )
    if held:
        return OperationCredentials(missing=held, held=True)
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
    # The origins an admin confirmed for the secret, and those the service now uses
    # that nobody confirmed (the secret is held back from them).
    origins: list[str] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)

    @property
    def missing(self) -> bool:
        """Operations need it and no secret is set."""
        return self.needed and self.credential is None

    @property
    def held(self) -> bool:
        """A secret is set but held back: it waits for an admin to confirm a new origin."""
        return self.credential is not None and bool(self.waiting)

    @property
    def state(self) -> str:
        if self.credential is None:
            return "missing" if self.needed else "not set"
        if self.held:
            return "held"
        return "set"

    @property
    def origin_text(self) -> str:
        """Where the secret goes, in words (the admin and `service_credential list` show it)."""
        if self.credential is None:
            return ""
        text = f"for {', '.join(self.origins)}" if self.origins else "for no origin yet"
        if self.waiting:
            text += f"; waits for an admin to confirm {', '.join(self.waiting)}"
        return text


def scheme_states(service) -> list[SchemeState]:
    """Every scheme the spec declares or a stored secret names, with its state and origins."""
    snapshot = getattr(service, "spec", None)
    schemes = security_schemes(snapshot) if snapshot is not None else {}
    needed = {name for op in (snapshot.operations if snapshot is not None else []) for alt in op.get("security") or [] for name in alt}
    stored = {c.scheme: c for c in ServiceCredential.objects.filter(service_id=service.pk)}
    names = list(schemes) + sorted(set(stored) - set(schemes))
    states = []
    for name in names:
        credential, waiting = stored.get(name), []
        if credential is not None:
            waiting = waiting_origins(credential, credential_needed_origins(service, snapshot, credential, schemes.get(name)))
        states.append(SchemeState(name, describe_scheme(schemes.get(name)), name in schemes, name in needed, credential,
                                  list(credential.origins or []) if credential else [], waiting))
    return states


def credential_needed_origins(service, snapshot, credential: ServiceCredential, scheme: dict | None) -> list[str]:
    """Every origin the stored secret is sent to as the service is now (an OAuth2
    secret is decrypted to tell whether it goes to a token endpoint)."""
    secret = None
    if scheme and scheme.get("type") == "oauth2":
        try:
            secret = decrypt(credential.ciphertext)
        except CredentialsKeyError:
            secret = None
    return needed_origins(service, snapshot, credential.scheme, scheme, secret)


def missing_schemes(service) -> list[str]:
    """Schemes the service's operations need that have no secret (the admin's spec status)."""
    return [s.name for s in scheme_states(service) if s.missing]


def held_schemes(service) -> list[SchemeState]:
    """The service's secrets held back until an admin confirms an origin."""
    return [s for s in scheme_states(service) if s.held]


@dataclass(frozen=True)
class HeldService:
    """A service some of whose secrets wait for an admin to confirm an origin."""

    service_id: str
    schemes: list[str]
    waiting: list[str]  # the origins nobody confirmed


def held_services(*, limit: int = 10) -> tuple[list[HeldService], bool]:
    """The services whose secrets are held back, for the admin index: what
    credentials.services.credential_origins_check recorded when the service moved (one
    query, whatever the number of services). Returns the first `limit` by id and whether
    there are more."""
    rows = (ServiceCredential.objects.exclude(pending_origins=[]).order_by("service_id", "scheme")
            .values_list("service_id", "scheme", "pending_origins")[: (limit + 1) * 20])
    found: dict[str, HeldService] = {}
    for service_id, scheme, waiting in rows:
        if service_id not in found:
            if len(found) == limit + 1:
                break
            found[service_id] = HeldService(service_id, [], [])
        held = found[service_id]
        held.schemes.append(scheme)
        held.waiting.extend(origin for origin in waiting or [] if origin not in held.waiting)
    services = list(found.values())
    return services[:limit], len(services) > limit
