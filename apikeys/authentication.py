"""DRF authentication by API key headers, as the contract's security schemes say:
X-API-KEY (apiKeyAuth) for normal operations, X-ADMIN-API-KEY (adminApiKeyAuth) for
registry changes. A missing key is left to the permission check (401); a wrong,
revoked, expired or non-admin key fails here (401) and counts against the client
address (429 after ENSEMBLE_AUTH_FAILURE_RATE failures). The key is looked up exactly on
every request (a revocation holds on the next request everywhere); its last-use time is
written later, off the request (lastuse.py)."""

from rest_framework import authentication, exceptions

from .lastuse import note_key_use
from .services import api_key_find
from .throttling import check_auth_failures, record_auth_failure


class _HeaderKeyAuthentication(authentication.BaseAuthentication):
    header = ""
    admin_only = False

    @property
    def meta_name(self) -> str:
        return "HTTP_" + self.header.upper().replace("-", "_")

    def raw_key(self, request) -> str | None:
        # The Django request's META directly: DRF's Request forwards unknown attributes
        # through __getattr__, which costs more than the lookup on every request.
        return getattr(request, "_request", request).META.get(self.meta_name)

    def authenticate(self, request):
        raw_key = self.raw_key(request)
        if raw_key is None:
            return None
        check_auth_failures(request)
        key = api_key_find(raw_key.strip())
        if key is None:
            record_auth_failure(request)
            raise exceptions.AuthenticationFailed(f"The {self.header} header does not hold an active API key.")
        if self.admin_only and not key.is_admin:
            record_auth_failure(request)
            raise exceptions.AuthenticationFailed(f"The key in {self.header} is not an admin key.")
        note_key_use(key)  # written after the response, at most once a minute (lastuse.py)
        return key, key

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
