"""The production profile: secrets are required, DEBUG is refused, HTTPS is assumed."""

from django.core.exceptions import ImproperlyConfigured

from core.env import env_bool, env_int, env_required

from .base import *  # noqa: F403 - a profile extends the base settings
from .base import DEBUG


def _check_credentials_keys(keys):
    from cryptography.fernet import Fernet

    for key in keys:
        try:
            Fernet(key.encode())
        except ValueError:
            raise ImproperlyConfigured("ENSEMBLE_CREDENTIALS_KEYS holds a value that is not a Fernet key.") from None

if DEBUG:
    raise ImproperlyConfigured("DJANGO_DEBUG must be off in the production profile.")

SECRET_KEY = env_required("DJANGO_SECRET_KEY")
if SECRET_KEY.startswith(("insecure-", "django-insecure-")) or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be a random value of at least 50 characters.")

# The services' credentials are encrypted with these keys: no key, no start.
env_required("ENSEMBLE_CREDENTIALS_KEYS")
_check_credentials_keys(ENSEMBLE_CREDENTIALS_KEYS)  # noqa: F405 - defined by the base settings

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
# Probes and scrapers inside the network speak plain HTTP to the container.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
# Admin sessions end with the browser and after 8 hours at most.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_AGE = env_int("DJANGO_SESSION_COOKIE_AGE", 8 * 3600, minimum=60)
