"""Putting a service's credentials on a request, and nowhere else.

`apply_credentials` is a pure function from (scheme, secret) pairs to the headers and
query parameters of one request. The only state is the OAuth2 client-credentials token
cache (per process, until shortly before the token expires). Secrets travel only to the
origin of the URL they were applied for: `authorized_request` refuses redirects that
leave it (outbound.http's `credentials_origin`), and every form a secret took on the
wire is returned so callers can redact it from whatever they record.
"""

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from hashlib import sha256
from urllib.parse import quote, quote_plus, urlencode

from .http import FetchResult, OutboundError, guarded_request, origin_of

REDACTED = "[redacted]"
TOKEN_MAX_BYTES = 64 * 1024


class CredentialError(Exception):
    """A secret that cannot be applied (malformed, or a scheme this service does not support)."""


@dataclass(frozen=True)
class Credential:
    """A security scheme of a spec (as prompts.security normalises it) with its secret."""

    scheme: dict
    secret: str = field(repr=False)


@dataclass
class PreparedRequest:
    headers: dict
    params: dict
    secrets: list[str] = field(repr=False)  # every form a secret took, for redaction
    credential_params: set[str] = field(default_factory=set)  # query names that carry a secret


def secret_forms(secret: str) -> list[str]:
    """The secret as it may appear in text: raw, URL-encoded, and each JSON field's value."""
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    try:
        parsed = json.loads(secret)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        forms.update(str(v) for k, v in parsed.items() if k != "client_id" and v)
    return sorted((f for f in forms if len(f) >= 4), key=len, reverse=True)


def redact_text(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    return text


# --- OAuth2 client credentials -------------------------------------------------------------

_tokens: dict[tuple, tuple[str, float]] = {}
_tokens_lock = threading.Lock()
TOKEN_MARGIN_SECONDS = 30.0


def oauth2_client(secret: str) -> tuple[str, str]:
    try:
        parsed = json.loads(secret)
        return str(parsed["client_id"]), str(parsed["client_secret"])
    except (ValueError, KeyError, TypeError):
        raise CredentialError('an oauth2 secret is JSON: {"client_id": "...", "client_secret": "..."}') from None


def client_credentials_token(token_url: str, secret: str, *, refresh: bool = False) -> tuple[str, list[str]]:
    """An access token for the client in `secret` (cached per process until shortly
    before it expires; `refresh` fetches a new one). Returns the token and the secret
    forms used on the token request, for redaction."""
    client_id, client_secret = oauth2_client(secret)
    key = (token_url, client_id, sha256(client_secret.encode()).hexdigest())
    basic = base64.b64encode(f"{quote_plus(client_id)}:{quote_plus(client_secret)}".encode()).decode()
    with _tokens_lock:
        cached = _tokens.get(key)
        if cached and not refresh and cached[1] > time.monotonic():
            return cached[0], [basic]
    # RFC 6749 4.4 with client_secret_basic (2.3.1): the client authenticates in the header.
    result = guarded_request(
        "POST", token_url, max_bytes=TOKEN_MAX_BYTES, content=urlencode({"grant_type": "client_credentials"}).encode(),
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded",
                 "Accept": "application/json"},
        credentials_origin=origin_of(token_url),
    )
    if result.status != 200:
        raise OutboundError("TOKEN_REFUSED", f"The token endpoint {token_url} answered HTTP {result.status} to the client credentials.")
    try:
        answer = json.loads(result.body)
        token = str(answer["access_token"])
        lifetime = float(answer.get("expires_in") or 3600)
    except (ValueError, KeyError, TypeError):
        raise OutboundError("TOKEN_INVALID", f"The token endpoint {token_url} did not answer with an access_token.") from None
    # Refreshed shortly before expiry, so a token never dies on its way to the service.
    expires = time.monotonic() + lifetime - min(TOKEN_MARGIN_SECONDS, lifetime / 10)
    with _tokens_lock:
        _tokens[key] = (token, expires)
    return token, [basic]


# --- applying ----------------------------------------------------------------------------------


def apply_credentials(credentials: list[Credential], *, headers: dict, params: dict, refresh_tokens: bool = False) -> PreparedRequest:
    """The request's headers and query parameters with the credentials on them."""
    headers, params = dict(headers), dict(params)
    secrets: list[str] = []
    carried: set[str] = set()
    cookies = []
    for credential in credentials:
        scheme, secret = credential.scheme, credential.secret
        kind = scheme.get("type")
        secrets.extend(secret_forms(secret))
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
            secrets.append(token)
        elif kind == "oauth2" and scheme.get("token_url"):
            token, used = client_credentials_token(scheme["token_url"], secret, refresh=refresh_tokens)
            headers["Authorization"] = f"Bearer {token}"
            secrets.extend([token, *used])
        else:
            kind_words = " ".join(filter(None, [str(kind), scheme.get("scheme", "")]))
            raise CredentialError(f"the scheme {scheme.get('name')} ({kind_words}) is not supported")
    if cookies:
        headers["Cookie"] = "; ".join(filter(None, [headers.get("Cookie", ""), *cookies]))
    return PreparedRequest(headers, params, sorted(set(secrets), key=len, reverse=True), carried)


def authorized_request(method: str, url: str, *, credentials: list[Credential], headers: dict, params: dict,
                       **options) -> tuple[FetchResult, PreparedRequest]:
    """guarded_request with the credentials applied, sent only to `url`'s origin. An
    OAuth2 token the service refuses (401) is fetched again once. Error messages come
    back with every secret form redacted."""
    has_oauth2 = any(c.scheme.get("type") == "oauth2" for c in credentials)
    prepared = apply_credentials(credentials, headers=headers, params=params)
    try:
        result = guarded_request(method, url, headers=prepared.headers, params=prepared.params or None,
                                 credentials_origin=origin_of(url) if credentials else None, **options)
        if result.status == 401 and has_oauth2:
            prepared = apply_credentials(credentials, headers=headers, params=params, refresh_tokens=True)
            result = guarded_request(method, url, headers=prepared.headers, params=prepared.params or None,
                                     credentials_origin=origin_of(url), **options)
    except OutboundError as error:
        error.message = redact_text(error.message, prepared.secrets)
        error.args = (error.message,)
        raise
    return result, prepared
