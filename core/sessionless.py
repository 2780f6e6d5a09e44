"""Django's session, authentication and messages middleware, skipped on the API's paths.

The API authenticates by key headers and never uses a session, a Django user or flash
messages; on every request these three still built a session store, a lazy user and a
message storage and looked at them again on the way out: a fifth of a cached
`GET /services` in process. On the paths in ENSEMBLE_SESSIONLESS_PATH_PREFIXES (the
contract's operations, /mcp, /healthz, the contract files) they do nothing; everywhere
else (the admin, /metrics with a staff login, the docs) they are Django's own. The
subclasses keep the admin's system checks, which look for these classes, satisfied."""

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware


def sessionless(request) -> bool:
    return request.path.startswith(settings.ENSEMBLE_SESSIONLESS_PATH_PREFIXES)


class ApiAwareSessionMiddleware(SessionMiddleware):
    def process_request(self, request):
        if not sessionless(request):
            super().process_request(request)

    def process_response(self, request, response):
        if not hasattr(request, "session"):
            return response
        return super().process_response(request, response)


class ApiAwareAuthenticationMiddleware(AuthenticationMiddleware):
    def process_request(self, request):
        if not sessionless(request):
            super().process_request(request)


class ApiAwareMessageMiddleware(MessageMiddleware):
    def process_request(self, request):
        if not sessionless(request):
            super().process_request(request)

    def process_response(self, request, response):
        if not hasattr(request, "_messages"):
            return response
        return super().process_response(request, response)
