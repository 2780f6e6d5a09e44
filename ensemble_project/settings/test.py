"""Settings for the test suite: fast password hashing, loopback allowed (every test
server listens on 127.0.0.1), throttling off unless a test turns it on."""

import os

from core.env import env_int, env_list

from .base import *  # noqa: F403 - a profile extends the base settings

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ENSEMBLE_OUTBOUND_ALLOWED_NETWORKS = env_list(
    "ENSEMBLE_OUTBOUND_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"]
)
ENSEMBLE_THROTTLE_RATE = os.environ.get("ENSEMBLE_THROTTLE_RATE") or None
ENSEMBLE_AUTH_FAILURE_RATE = os.environ.get("ENSEMBLE_AUTH_FAILURE_RATE") or None
# Each test run uses its own collections on the test Typesense server.
TYPESENSE_COLLECTION_PREFIX = os.environ.get("TYPESENSE_COLLECTION_PREFIX", f"test{os.getpid()}_")
ENSEMBLE_ASSISTANT_BACKEND = os.environ.get("ENSEMBLE_ASSISTANT_BACKEND", "local")
# Static files straight from the apps' folders: no collectstatic needed before running.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None
# Tests fetch specs explicitly (or turn this on); a background thread would race with
# the test's own transaction.
ENSEMBLE_SPEC_FETCH_ON_WRITE = os.environ.get("ENSEMBLE_SPEC_FETCH_ON_WRITE", "") == "1"
# A fixed Fernet key for the suite (tests that rotate keys set their own).
ENSEMBLE_CREDENTIALS_KEYS = env_list("ENSEMBLE_CREDENTIALS_KEYS", ["0TWgvxsmbWQqDDmbYhKH6ePcNu0gvCA_vG7KI6aLGJ0="])
# For the same reason, a spec a request needs is fetched in the requesting thread (still
# one fetch per service at a time) unless a test server turns the pool on.
ENSEMBLE_SPEC_FETCH_IN_BACKGROUND = os.environ.get("ENSEMBLE_SPEC_FETCH_IN_BACKGROUND", "") == "1"
# The circuit breaker is per process and outlives a test: off unless a test turns it on,
# so one test's failing server cannot make another test's service "skipped".
ENSEMBLE_OUTBOUND_BREAKER_FAILURES = env_int("ENSEMBLE_OUTBOUND_BREAKER_FAILURES", 1_000_000, minimum=1)
