"""Putting a service's credentials on a request, and nowhere else.

`apply_credentials` turns (scheme, secret) pairs into the headers and query parameters
of one request. The only state is the OAuth2 token cache (per process, until shortly
before a token expires).

Where a secret may go is decided here, last, whatever the caller passes: each
`Credential` carries the origin an admin confirmed for it (credentials.selectors reads
it), and `authorized_request` sends nothing unless the request's origin is exactly that
one; an OAuth2 token endpoint must be on that origin or on the one confirmed for it
(`token_origin`). Redirects that leave the origin are refused (outbound.http's
`credentials_origin`). Every secret value a request carried is returned, so callers
redact it, in all its forms (outbound.redaction), from whatever they record.
"""

import base64
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from hashlib import sha256
from urllib.parse import quote_plus, urlencode

from .http import FetchResult, OutboundError, guarded_request, origin_of
from .redaction import REDACTED, redact

__all__ = ["REDACTED", "Credential", "CredentialError", "PreparedRequest", "apply_credentials", "authorized_request",
           "redact_text"]

TOKEN_MAX_BYTES = 64 * 1024


class CredentialError(Exception):
    """A secret that cannot be applied (malformed, a scheme this service does not
    support, or a request to an origin the secret is not bound to)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Credential:
    """A security scheme of a spec (as prompts.security normalises it) with its secret,
    and the origins an admin confirmed for it."""

    scheme: dict
    secret: str = field(repr=False)
    origin: str = ""  # scheme://host:port the secret may be sent to; "" = nowhere
    token_origin: str = ""  # OAuth2: the confirmed origin of the token endpoint, when not `origin`
    # OAuth2: called with the new secret (JSON) when the token endpoint rotates a refresh token.
    on_rotate: Callable[[str], None] | None = field(default=None, repr=False, compare=False)


@dataclass
class PreparedRequest:
    headers: dict
    params: dict
    secrets: list[str] = field(repr=False)  # every secret value the request carries, for redaction
    credential_params: set[str] = field(default_factory=set)  # query names that carry a secret
    refreshable: bool = False  # an OAuth2 token that can be fetched again after a 401


def redact_text(text: str, secrets) -> str:
    """`text` with every form of every secret value replaced by [redacted] (outbound.redaction)."""
    return redact(text, secrets)


def secret_values(secret: str) -> list[str]:
    """The values inside one stored secret that must never be shown: the secret itself,
    and for a JSON secret (OAuth2) each field but the client id."""
    values = [secret]
    try:
        parsed = json.loads(secret)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        values += [str(v) for k, v in parsed.items() if k != "client_id" and v]
    return values


# --- OAuth2 ------------------------------------------------------------------------------------

_tokens: dict[tuple, tuple[str, float]] = {}
_tokens_lock = threading.Lock()
_refresh_locks: dict[tuple, threading.Lock] = {}
TOKEN_MARGIN_SECONDS = 30.0
# The flows whose token endpoint refreshes a token an admin obtained elsewhere.
REFRESH_FLOWS = ("authorizationCode", "password")


def _oauth2_secret(secret: str) -> dict:
    try:
        parsed = json.loads(secret)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict):
        raise CredentialError('an oauth2 secret is JSON: {"client_id", "client_secret"}, or {"access_token"} '
                              'and/or {"refresh_token", "client_id", "client_secret"}')
    return parsed


def oauth2_client(secret: str) -> tuple[str, str]:
    parsed = _oauth2_secret(secret)
    if not parsed.get("client_id") or not parsed.get("client_secret"):
        raise CredentialError('an oauth2 client-credentials secret is JSON: {"client_id": "...", "client_secret": "..."}')
    return str(parsed["client_id"]), str(parsed["client_secret"])


def is_delegated(secret: str) -> bool:
    """A token an admin obtained elsewhere (authorization code, implicit, password flows)
    rather than the client's own credentials."""
    try:
        parsed = json.loads(secret)
    except ValueError:
        return False
    return isinstance(parsed, dict) and bool(parsed.get("access_token") or parsed.get("refresh_token"))


def refresh_token_url(scheme: dict) -> str:
    """The tokenUrl a refresh token is redeemed at: the authorization-code flow's, else the password flow's."""
    flows = scheme.get("flows") or {}
    return next((flows[name] for name in REFRESH_FLOWS if flows.get(name)), "")


def token_url_needed(scheme: dict, secret: str) -> str:
    """The token endpoint this secret is sent to ("" when it is never sent to one)."""
    if scheme.get("type") != "oauth2":
        return ""
    if is_delegated(secret):
        parsed = _oauth2_secret(secret)
        return refresh_token_url(scheme) if parsed.get("refresh_token") else ""
    return scheme.get("token_url", "")


def _check_token_origin(credential: Credential, token_url: str) -> None:
    target = origin_of(token_url)
    if target not in {credential.origin, credential.token_origin} - {""}:
        raise CredentialError(
            f"Not sent: the token endpoint {target} of the scheme '{credential.scheme.get('name')}' is not an origin an "
            f"admin confirmed for this secret ({credential.origin or 'none'}); `manage.py service_credential "
            "confirm-origin` confirms it."
        )


def _token_request(credential: Credential, token_url: str, form: dict, client_id: str, client_secret: str,
                   used: list[str]) -> dict:
    """POST to the token endpoint (RFC 6749: client_secret_basic when there is a client
    secret, else the client id in the form). Returns the answer's JSON."""
    _check_token_origin(credential, token_url)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
    if client_secret:
        basic = base64.b64encode(f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()).decode()
        headers["Authorization"] = f"Basic {basic}"
        used.append(basic)
    elif client_id:
        form = {**form, "client_id": client_id}
    result = guarded_request("POST", token_url, max_bytes=TOKEN_MAX_BYTES, content=urlencode(form).encode(),
                             headers=headers, credentials_origin=origin_of(token_url))
    if result.status != 200:
        raise OutboundError("TOKEN_REFUSED", f"The token endpoint {token_url} answered HTTP {result.status} "
                                             f"to the {form['grant_type'].replace('_', ' ')} grant.")
    try:
        answer = json.loads(result.body)
        str(answer["access_token"])
        float(answer.get("expires_in") or 3600)
    except (ValueError, KeyError, TypeError):
        raise OutboundError("TOKEN_INVALID", f"The token endpoint {token_url} did not answer with an access_token.") from None
    used.append(str(answer["access_token"]))
    if answer.get("refresh_token"):
        used.append(str(answer["refresh_token"]))
    return answer


def _expiry(answer: dict) -> float:
    # Refreshed shortly before expiry, so a token never dies on its way to the service.
    lifetime = float(answer.get("expires_in") or 3600)
    return time.monotonic() + lifetime - min(TOKEN_MARGIN_SECONDS, lifetime / 10)


def _cached(key: tuple) -> tuple[str, float] | None:
    with _tokens_lock:
        return _tokens.get(key)


def _remember(key: tuple, token: str, expires: float) -> None:
    with _tokens_lock:
        if len(_tokens) > 4096:
            _tokens.clear()
        _tokens[key] = (token, expires)


def client_credentials_token(credential: Credential, *, refresh: bool = False) -> tuple[str, list[str]]:
    """An access token for the client in the secret (RFC 6749 4.4; cached per process
    until shortly before it expires; `refresh` fetches a new one). Returns the token
    and the secret values used on the token request, for redaction."""
    token_url = credential.scheme["token_url"]
    client_id, client_secret = oauth2_client(credential.secret)
    key = ("client", token_url, client_id, sha256(client_secret.encode()).hexdigest())
    cached = _cached(key)
    if cached and not refresh and cached[1] > time.monotonic():
        return cached[0], [cached[0]]
    used: list[str] = []
    answer = _token_request(credential, token_url, {"grant_type": "client_credentials"}, client_id, client_secret, used)
    _remember(key, str(answer["access_token"]), _expiry(answer))
    return str(answer["access_token"]), used


def delegated_token(credential: Credential, *, refresh: bool = False) -> tuple[str, list[str], bool]:
    """The access token for a secret an admin obtained elsewhere: the access token as
    given until the service refuses it, then one obtained with the refresh token at the
    scheme's tokenUrl (cached like client-credentials tokens, fetched again when it
    expires or after a 401). Returns the token, the values to redact, and whether it
    can be refreshed."""
    parsed = _oauth2_secret(credential.secret)
    access, refresh_token = str(parsed.get("access_token") or ""), str(parsed.get("refresh_token") or "")
    token_url = refresh_token_url(credential.scheme)
    if not refresh_token or not token_url:
        if not access:
            raise CredentialError(f"the scheme '{credential.scheme.get('name')}' declares no tokenUrl to redeem the refresh token at")
        return access, [access], False
    client_id, client_secret = str(parsed.get("client_id") or ""), str(parsed.get("client_secret") or "")
    key = ("refresh", token_url, client_id, sha256(refresh_token.encode()).hexdigest())
    cached = _cached(key)
    if not refresh:
        if cached and cached[1] > time.monotonic():
            return cached[0], [cached[0]], True
        if not cached and access:
            return access, [access], True
    with _tokens_lock:
        lock = _refresh_locks.setdefault(key, threading.Lock())
    with lock:  # one refresh per token at a time in this process: a rotated refresh token is used once
        fresh = _cached(key)
        if fresh is not None and fresh != cached and fresh[1] > time.monotonic():
            return fresh[0], [fresh[0]], True  # another thread refreshed it meanwhile
        used: list[str] = []
        answer = _token_request(credential, token_url, {"grant_type": "refresh_token", "refresh_token": refresh_token},
                                client_id, client_secret, used)
        token, expires = str(answer["access_token"]), _expiry(answer)
        _remember(key, token, expires)
        rotated = str(answer.get("refresh_token") or "")
        if rotated and rotated != refresh_token:
            # The old refresh token may be dead now: keep the new one, encrypted, where the secret lives.
            _remember(("refresh", token_url, client_id, sha256(rotated.encode()).hexdigest()), token, expires)
            if credential.on_rotate is not None:
                credential.on_rotate(json.dumps({**parsed, "access_token": token, "refresh_token": rotated}))
    return token, used, True


# --- applying ----------------------------------------------------------------------------------


def apply_credentials(credentials: list[Credential], *, headers: dict, params: dict, refresh_tokens: bool = False) -> PreparedRequest:
    """The request's headers and query parameters with the credentials on them."""
    headers, params = dict(headers), dict(params)
    secrets: list[str] = []
    carried: set[str] = set()
    cookies = []
    refreshable = False
    for credential in credentials:
        scheme, secret = credential.scheme, credential.secret
        kind = scheme.get("type")
        secrets.extend(secret_values(secret))
        if kind == "apiKey":
            where, name = scheme.get("in"), scheme.get("param")
            if not name:
                raise CredentialError(f"the apiKey scheme {scheme['name']} names no parameter")
            if where == "header":
                headers[name] = secret
            elif where == "query":
                params[name] = secret
                carried.add(name)
            elif where == "cookie":
                cookies.append(f"{name}={secret}")
            else:
                raise CredentialError(f"apiKey in {where!r} is not supported")
        elif kind == "http" and scheme.get("scheme") == "bearer":
            headers["Authorization"] = f"Bearer {secret}"
        elif kind == "http" and scheme.get("scheme") == "basic":
            if ":" not in secret:
                raise CredentialError("a basic secret is user:password")
            token = base64.b64encode(secret.encode()).decode()
            headers["Authorization"] = f"Basic {token}"
            secrets.extend([token, secret.split(":", 1)[1]])  # the header's value, and the password alone
        elif kind == "oauth2" and is_delegated(secret):
            token, used, can_refresh = delegated_token(credential, refresh=refresh_tokens)
            headers["Authorization"] = f"Bearer {token}"
            secrets.extend(used)
            refreshable = refreshable or can_refresh
        elif kind == "oauth2" and scheme.get("token_url"):
            token, used = client_credentials_token(credential, refresh=refresh_tokens)
            headers["Authorization"] = f"Bearer {token}"
            secrets.extend(used)
            refreshable = True
        else:
            kind_words = " ".join(filter(None, [str(kind), scheme.get("scheme", "")]))
            raise CredentialError(f"the scheme {scheme.get('name')} ({kind_words}) is not supported")
    if cookies:
        headers["Cookie"] = "; ".join(filter(None, [headers.get("Cookie", ""), *cookies]))
    return PreparedRequest(headers, params, sorted(set(secrets), key=len, reverse=True), carried, refreshable)


def check_origin(credentials: list[Credential], url: str) -> None:
    """The last guard: every credential must be bound to exactly the origin of `url`."""
    target = origin_of(url)
    for credential in credentials:
        if not credential.origin or credential.origin != target:
            raise CredentialError(
                f"Not sent: the secret for the scheme '{credential.scheme.get('name')}' is bound to "
                f"{credential.origin or 'no origin'}, and this request goes to {target}."
            )


def authorized_request(method: str, url: str, *, credentials: list[Credential], headers: dict, params: dict,
                       **options) -> tuple[FetchResult, PreparedRequest]:
    """guarded_request with the credentials applied, sent only to the origin each one is
    bound to (nothing is sent otherwise). An OAuth2 token the service refuses (401) is
    fetched again once. Error messages come back with every secret redacted."""
    check_origin(credentials, url)
    known = [value for credential in credentials for value in secret_values(credential.secret)]
    prepared = None
    try:
        prepared = apply_credentials(credentials, headers=headers, params=params)
        result = guarded_request(method, url, headers=prepared.headers, params=prepared.params or None,
                                 credentials_origin=origin_of(url) if credentials else None, **options)
        if result.status == 401 and prepared.refreshable:
            prepared = apply_credentials(credentials, headers=headers, params=params, refresh_tokens=True)
            result = guarded_request(method, url, headers=prepared.headers, params=prepared.params or None,
                                     credentials_origin=origin_of(url), **options)
    except (OutboundError, CredentialError) as error:
        error.message = redact(error.message, known + (prepared.secrets if prepared else []))
        error.args = (error.message,)
        raise
    return result, prepared
