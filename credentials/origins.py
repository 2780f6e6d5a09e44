"""Which origins a service's secret must be confirmed for before it is sent.

A secret goes to the origin (scheme://host:port) of the calls it authorizes: the
effective base URL (prompts.endpoints: the admin's override, an operation's own
`servers`, else the spec's) of every operation whose security names its scheme. An
OAuth2 secret also goes to its token endpoint when the Ensemble fetches tokens with it
(client credentials, a refresh token). Each of these must be an origin an admin
confirmed for that credential (`ServiceCredential.origins`); when the service moves,
the new one is not, and the secret is held back until an admin confirms it.
"""

from outbound.auth import CredentialError, token_url_needed
from outbound.http import origin_of
from prompts.endpoints import effective_origin


def call_origins(service, snapshot, scheme_name: str) -> list[str]:
    """The origins of the operations whose security names the scheme; the service's
    own effective origin when none does (or the spec is not known yet)."""
    operations = snapshot.operations if snapshot is not None and snapshot.usable else []
    found = [effective_origin(service, snapshot, op) for op in operations
             if any(scheme_name in alternative for alternative in op.get("security") or [])]
    if not found:
        found = [effective_origin(service, snapshot)]
    return list(dict.fromkeys(origin for origin in found if origin))


def token_origin(scheme: dict | None, secret: str | None) -> str:
    """The origin of the token endpoint this secret is sent to ("" when none)."""
    if not scheme or secret is None:
        return ""
    try:
        url = token_url_needed(scheme, secret)
    except CredentialError:
        return ""
    return origin_of(url) if url else ""


def needed_origins(service, snapshot, scheme_name: str, scheme: dict | None, secret: str | None) -> list[str]:
    """Every origin this secret is sent to as the service is now."""
    found = call_origins(service, snapshot, scheme_name) + [token_origin(scheme, secret)]
    return list(dict.fromkeys(origin for origin in found if origin))


def waiting_origins(credential, needed: list[str]) -> list[str]:
    """The needed origins nobody confirmed for `credential`."""
    confirmed = set(credential.origins or [])
    return [origin for origin in needed if origin not in confirmed]
