"""Django's session, authentication and messages middleware, skipped on the API's paths.

The API authenticates by key headers and never uses a session, a Django user or flash
messages; on every request these three still built a session store, a lazy user and a
message storage and looked at them again on the way out: a fifth of a cached
`GET /services` in process. On the paths in ENSEMBLE_SESSIONLESS_PATH_PREFIXES (the
contract's operations, /mcp, /healthz, the contract files) each hands the request
straight on, without even its request and response steps; everywhere else (the admin,
/metrics with a staff login, the docs) they are Django's own. The subclasses keep the
admin's system checks, which look for these classes, satisfied. (CSRF stays Django's
own class: the deploy checks look for it by name.)"""

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware


def sessionless(request) -> bool:
    return request.path.startswith(settings.ENSEMBLE_SESSIONLESS_PATH_PREFIXES)


class _SkippedOnApiPaths:
    """The middleware's whole work (request, view and response steps) skipped on the API's paths."""

    def __call__(self, request):
        if sessionless(request):
            return self.get_response(request)
        return super().__call__(request)


class ApiAwareSessionMiddleware(_SkippedOnApiPaths, SessionMiddleware):
    pass


class ApiAwareAuthenticationMiddleware(_SkippedOnApiPaths, AuthenticationMiddleware):
    pass


class ApiAwareMessageMiddleware(_SkippedOnApiPaths, MessageMiddleware):
    pass
