"""Throttling, shared through the database so the limits hold across processes and
hosts, with per-process slices so a request normally writes nothing (apikeys/ratelimit.py).

- Every operation: ENSEMBLE_THROTTLE_RATE requests per API key.
- Key guessing: ENSEMBLE_AUTH_FAILURE_RATE failed authentications per client address;
  past it, the address gets 429 before its key is even looked at (authentication.py).
Both answer the contract's ErrorResponse with status 429 and a Retry-After header."""

from django.conf import settings
from rest_framework.exceptions import Throttled
from rest_framework.throttling import BaseThrottle

from .ratelimit import rate_limit_count, rate_limit_exceeded, rate_limit_hit


class ApiKeyRateThrottle(BaseThrottle):
    """Requests per key; a request without a key (an open view) counts per address."""

    def allow_request(self, request, view):
        self._wait = None
        rate = settings.ENSEMBLE_THROTTLE_RATE  # read per request: tests and operators change it
        if not rate:
            return True
        key = getattr(request, "auth", None)
        bucket = f"key:{key.pk}" if hasattr(key, "pk") else f"ip:{self.get_ident(request)}"
        self._wait = rate_limit_hit(bucket, rate)
        return self._wait is None

    def wait(self):
        return self._wait


def _failure_bucket(request) -> str:
    # DRF's get_ident: REMOTE_ADDR, or X-Forwarded-For when NUM_PROXIES says a proxy is in front.
    return "authfail:" + BaseThrottle().get_ident(request)


def check_auth_failures(request) -> None:
    """429 when this address has failed authentication too often in the current window."""
    rate = settings.ENSEMBLE_AUTH_FAILURE_RATE
    if rate:
        wait = rate_limit_exceeded(_failure_bucket(request), rate)
        if wait is not None:
            raise Throttled(wait=wait, detail="Too many failed authentications from this address.")


def record_auth_failure(request) -> None:
    if settings.ENSEMBLE_AUTH_FAILURE_RATE:
        rate_limit_count(_failure_bucket(request), settings.ENSEMBLE_AUTH_FAILURE_RATE)
