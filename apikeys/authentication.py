"""DRF authentication by API key headers, as the contract's security schemes say:
X-API-KEY (apiKeyAuth) for normal operations, X-ADMIN-API-KEY (adminApiKeyAuth) for
registry changes. A missing key is left to the permission check (401); a wrong,
revoked, expired or non-admin key fails here (401) and counts against the client
address (429 after ENSEMBLE_AUTH_FAILURE_RATE failures). The key is looked up exactly on
every request (a revocation holds on the next request everywhere), in one statement with
that address's failure count and the values a view asks for `along` (core/scalar_read.py);
its last-use time is written later, off the request (lastuse.py)."""

from collections.abc import Sequence
from typing import NamedTuple

from rest_framework import authentication, exceptions

from core.scalar_read import ScalarRead

from .lastuse import note_key_use
from .models import ApiKey
from .services import api_key_lookup
from .throttling import TOO_MANY_FAILURES, auth_failures_read, record_auth_failure


class KeyCheck(NamedTuple):
    key: ApiKey | None  # the active key of the right kind the header holds, else None
    problem: str  # why there is none, as the 401 says ("" with a key)
    failures_wait: float | None  # the address failed too often: seconds until it may try again
    values_along: dict  # the values of the reads carried along, by read


class _HeaderKeyAuthentication(authentication.BaseAuthentication):
    header = ""
    admin_only = False

    def __init__(self, *, along: Sequence[ScalarRead] = ()):
        # Reads a view wants done in the key lookup's statement (value_read_along).
        self.along = tuple(along)
        self.values_along: dict[ScalarRead, object] = {}

    @property
    def meta_name(self) -> str:
        return "HTTP_" + self.header.upper().replace("-", "_")

    def raw_key(self, request) -> str | None:
        # The Django request's META directly: DRF's Request forwards unknown attributes
        # through __getattr__, which costs more than the lookup on every request.
        return getattr(request, "_request", request).META.get(self.meta_name)

    def check(self, request, raw_key: str) -> KeyCheck:
        """What the key in the header is worth, by reads only (one statement): the key,
        the address's failed authentications and the reads `along`. authenticate()
        acts on it; a view's shortcut may too (registry/api.py)."""
        failures = auth_failures_read(request)
        found = api_key_lookup(raw_key.strip(), along=(failures.read, *self.along) if failures else self.along)
        values = found.values
        failures_wait = None
        if failures:
            failures_wait, values = failures.wait(values[0]), values[1:]
        key, problem = found.key, ""
        if key is None:
            problem = f"The {self.header} header does not hold an active API key."
        elif self.admin_only and not key.is_admin:
            key, problem = None, f"The key in {self.header} is not an admin key."
        return KeyCheck(key, problem, failures_wait, dict(zip(self.along, values, strict=True)))

    def authenticate(self, request):
        raw_key = self.raw_key(request)
        if raw_key is None:
            return None
        checked = self.check(request, raw_key)
        if checked.failures_wait is not None:  # before the key counts for anything
            raise exceptions.Throttled(wait=checked.failures_wait, detail=TOO_MANY_FAILURES)
        if checked.key is None:
            record_auth_failure(request)
            raise exceptions.AuthenticationFailed(checked.problem)
        note_key_use(checked.key)  # written after the response, at most once a minute (lastuse.py)
        self.values_along = checked.values_along
        return checked.key, checked.key

    def authenticate_header(self, request):
        # Any value makes DRF answer 401 (not 403) to a request without credentials.
        return f'ApiKey header="{self.header}"'


class ApiKeyAuthentication(_HeaderKeyAuthentication):
    header = "X-API-KEY"


class AdminApiKeyAuthentication(_HeaderKeyAuthentication):
    header = "X-ADMIN-API-KEY"
    admin_only = True


class BearerApiKeyAuthentication(_HeaderKeyAuthentication):
    """A normal key as `Authorization: Bearer <key>`, the header MCP clients send
    (ChatGPT, Claude); the same checks as X-API-KEY. Other schemes are left alone."""

    header = "Authorization"

    def raw_key(self, request) -> str | None:
        scheme, _, value = getattr(request, "_request", request).META.get("HTTP_AUTHORIZATION", "").partition(" ")
        return value if scheme.lower() == "bearer" else None

    def authenticate_header(self, request):
        return 'Bearer realm="ensemble"'


def value_read_along(request, read: ScalarRead):
    """The value of `read` as the request's key lookup read it (the view's authenticator
    was given it `along`), or read now when it was not (another authenticator)."""
    values = getattr(request.successful_authenticator, "values_along", {})
    return values[read] if read in values else read.value()
