from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Requests per key (ENSEMBLE_THROTTLE_RATE); unauthenticated requests per client address."""

    scope = "api_key"

    def get_rate(self):
        # Read per request (not at import, as DRF does) so the setting can change at run time.
        return settings.ENSEMBLE_THROTTLE_RATE

    def get_cache_key(self, request, view):
        key = getattr(request, "auth", None)
        ident = f"key-{key.pk}" if key is not None and hasattr(key, "pk") else f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
