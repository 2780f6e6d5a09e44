"""Throttling, shared through the database so the limits hold across processes and
hosts, with per-process slices so a request normally writes nothing (apikeys/ratelimit.py).

- Every operation: ENSEMBLE_THROTTLE_RATE requests per API key.
- Key guessing: ENSEMBLE_AUTH_FAILURE_RATE failed authentications per client address;
  past it, the address gets 429 and its key is not compared (authentication.py; the
  count is read in the key lookup's own statement).
Both answer the contract's ErrorResponse with status 429 and a Retry-After header."""

from django.conf import settings
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

from .ratelimit import CounterRead, rate_limit_count, rate_limit_hit, rate_limit_read

# The 429's message when an address has failed authentication too often (authentication.py).
TOO_MANY_FAILURES = "Too many failed authentications from this address."


class ApiKeyRateThrottle(BaseThrottle):
    """Requests per key; a request without a key (an open view) counts per address."""

    def allow_request(self, request, view):
        self._wait = None
        rate = settings.ENSEMBLE_THROTTLE_RATE  # read per request: tests and operators change it
        if not rate:
            return True
        key = getattr(request, "auth", None)
        if hasattr(key, "pk"):
            self._wait = key_rate_wait(key, rate)
        else:
            self._wait = rate_limit_hit(f"ip:{self.get_ident(request)}", rate)
        return self._wait is None

    def wait(self):
        return self._wait

    def get_ident(self, request):
        return client_address(request)


def key_rate_wait(key, rate: str | None) -> float | None:
    """Count one request of `key` against `rate` (ENSEMBLE_THROTTLE_RATE): None while
    within it, else the seconds to wait."""
    return rate_limit_hit(f"key:{key.pk}", rate) if rate else None


def client_address(request) -> str:
    """DRF's BaseThrottle.get_ident read from META: REMOTE_ADDR, or X-Forwarded-For when
    NUM_PROXIES says a proxy is in front. (DRF's reads `request.headers`, a mapping
    built from the whole environ on first use, on every authenticated request.)"""
    meta = getattr(request, "_request", request).META
    forwarded, remote_addr = meta.get("HTTP_X_FORWARDED_FOR"), meta.get("REMOTE_ADDR")
    num_proxies = api_settings.NUM_PROXIES
    if num_proxies is not None:
        if num_proxies == 0 or forwarded is None:
            return remote_addr
        addresses = forwarded.split(",")
        return addresses[-min(num_proxies, len(addresses))].strip()
    return "".join(forwarded.split()) if forwarded else remote_addr


def _failure_bucket(request) -> str:
    return "authfail:" + client_address(request)


def auth_failures_read(request) -> CounterRead | None:
    """The read of this address's failed authentications in the current window, for the
    key lookup to carry (None when ENSEMBLE_AUTH_FAILURE_RATE is off)."""
    rate = settings.ENSEMBLE_AUTH_FAILURE_RATE
    return rate_limit_read(_failure_bucket(request), rate) if rate else None


def record_auth_failure(request) -> None:
    if settings.ENSEMBLE_AUTH_FAILURE_RATE:
        rate_limit_count(_failure_bucket(request), settings.ENSEMBLE_AUTH_FAILURE_RATE)
