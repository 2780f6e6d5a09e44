"""Settings shared by every profile. Everything that differs between machines comes
from the environment (see README, "Configuration"); the profiles only change defaults."""

from pathlib import Path

import dj_database_url

from core.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Runtime state of the embedded profile (SQLite file, Typesense data) lives here, never in git.
VAR_DIR = Path(env_str("ENSEMBLE_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-development-key-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "core",  # the ground floor: hosts the contract command (spec_diff)
    "ensemble_project",  # the composition root (ensure_superuser)
    "audit",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Floors of the house, lowest first (see DESIGN in README).
    "apikeys",
    "search",
    "registry",
    "prompts",
    "credentials",
    "assistants",  # the assistant backends (routing_eval)
    "interactions",
    "mcp_gateway",  # /mcp: the services as MCP tools
    "control",  # the admin's control room and the composed service page
    "demo",  # the demo services and seed_demo
]

MIDDLEWARE = [
    # First, so every later step (and every log line) knows the request id and timing.
    "core.observability.RequestIdMiddleware",
    "core.metrics.RequestMetricsMiddleware",
    "core.parsers.ChunkedBodyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Health probes, answered before CommonMiddleware checks the Host header (ensemble_project/health.py).
    "ensemble_project.health.HealthProbeMiddleware",
    "core.sessionless.ApiAwareSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "core.sessionless.ApiAwareAuthenticationMiddleware",
    "core.sessionless.ApiAwareMessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Paths that never use a session, a Django user or messages (core/sessionless.py): the
# contract's operations, /mcp, the health probes and the contract files. Anything else keeps them.
ENSEMBLE_SESSIONLESS_PATH_PREFIXES = (
    "/services", "/system-prompt", "/interact", "/logs", "/mcp", "/healthz", "/readyz", "/openapi.yml", "/openapi.json",
)
ROOT_URLCONF = "ensemble_project.urls"
WSGI_APPLICATION = "ensemble_project.wsgi.application"
ASGI_APPLICATION = "ensemble_project.asgi.application"
# The API's paths have no trailing slash (the contract says /services, not /services/).
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database_from_url(url: str) -> dict:
    config = dj_database_url.parse(url, conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE transactions take the write lock up front, so concurrent writers
        # wait (up to `timeout`) instead of failing with "database is locked"; WAL lets
        # readers go on while one process writes. Connections are kept (each thread its
        # own) like PostgreSQL's: opening one and running the PRAGMAs cost more than a read.
        # core.sqlite queues writers fairly for the write lock (see its docstring).
        config["ENGINE"] = "core.sqlite"
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    else:
        # Off by default: a health check is one more round trip (a SELECT 1) at the start
        # of every request, 2 ms median under the load test. Without it a connection that
        # broke (a database restart) fails its next request with the 503 and is closed at
        # the end of it (Django closes a connection that had an error and is unusable), so
        # each thread's next request reconnects.
        config["CONN_HEALTH_CHECKS"] = env_bool("DATABASE_CONN_HEALTH_CHECKS", False)
    return config


DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
DATABASES = {"default": _database_from_url(DATABASE_URL)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STORAGES = {
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Request bodies: the API's JSON parser enforces this limit itself (DRF bypasses Django's).
# A Server-Timing header on every answer: where the request's time went (queueing for a
# thread, the database and its write lock, outbound slots and calls, Typesense). For
# load tests; off in production (it tells clients how the server spends its time).
ENSEMBLE_SERVER_TIMING = env_bool("ENSEMBLE_SERVER_TIMING", False)
ENSEMBLE_MAX_BODY_BYTES = env_int("ENSEMBLE_MAX_BODY_BYTES", 256 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = ENSEMBLE_MAX_BODY_BYTES

# API keys from the environment, turned into hashed rows by `manage.py bootstrap_keys`.
ENSEMBLE_API_KEY = env_str("ENSEMBLE_API_KEY")
ENSEMBLE_ADMIN_API_KEY = env_str("ENSEMBLE_ADMIN_API_KEY")

# Requests per API key on every operation, e.g. "1200/minute"; empty turns it off.
# Counted in the database, so the limit holds across workers and app instances.
ENSEMBLE_THROTTLE_RATE = env_str("ENSEMBLE_THROTTLE_RATE", "1200/minute") or None
# Failed authentications (wrong, revoked, expired key) per client address before that
# address gets 429: guessing keys is throttled. Behind a proxy, set DRF_NUM_PROXIES.
ENSEMBLE_AUTH_FAILURE_RATE = env_str("ENSEMBLE_AUTH_FAILURE_RATE", "20/minute") or None

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apikeys.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.LimitedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.negotiation.RememberingContentNegotiation",
    "DEFAULT_THROTTLE_CLASSES": ["apikeys.throttling.ApiKeyRateThrottle"],
    "EXCEPTION_HANDLER": "core.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.schema.EnsembleAutoSchema",
    "UNAUTHENTICATED_USER": None,
    # Proxies in front that append to X-Forwarded-For (the client address for throttling).
    # 0 means no proxy: the socket's address is the client's and X-Forwarded-For is ignored
    # (DRF reads None, not 0, as "trust X-Forwarded-For whole").
    "NUM_PROXIES": env_int("DRF_NUM_PROXIES", 0, minimum=0),
}

SPECTACULAR_SETTINGS = {
    "OAS_VERSION": "3.1.0",
    "TITLE": "FountainAI Ensemble Service",
    "DESCRIPTION": (
        "The Ensemble Service stands between a user, an LLM assistant and the FountainAI "
        "services. It keeps a registry of services described by OpenAPI documents, turns "
        "their operations into system prompts, lets the assistant call them on the user's "
        "behalf, and records every interaction. The registry and the interaction log live "
        "in the service's database and are mirrored to Typesense for search; the mirror is "
        "fed from a transactional outbox and retried automatically while Typesense is away.\n"
    ),
    "VERSION": "1.1.0",
    "SERVERS": [
        {"url": "https://ensemble.fountain.coach", "description": "Production"},
        {"url": "https://staging.ensemble.fountain.coach", "description": "Staging"},
        {"url": "http://localhost:8000", "description": "Local development (`make run`)"},
    ],
    "TAGS": [
        {"name": "Service Management", "description": "The registry of FountainAI services."},
        {"name": "System Prompt Management", "description": "System prompts built from service specs."},
        {"name": "Interaction Handling", "description": "The user's input, the assistant and the service calls it makes."},
        {"name": "Logs Management", "description": "The record of past interactions."},
    ],
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": False,
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "SCHEMA_PATH_PREFIX": r"/",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": ["core.schema.document_security"],
}

# The project's contract: the single source of truth the generated schema must equal.
ENSEMBLE_SPEC_PATH = BASE_DIR / "openapi3_1.yml"

# --- Typesense -------------------------------------------------------------------
# Comma-separated node URLs; several nodes form a cluster (the client fails over).
TYPESENSE_URLS = env_list("TYPESENSE_URLS", ["http://127.0.0.1:8108"])
TYPESENSE_API_KEY = env_str("TYPESENSE_API_KEY", "ensemble-dev-typesense-key")
TYPESENSE_CONNECTION_TIMEOUT = env_float("TYPESENSE_CONNECTION_TIMEOUT", 2.0)
# Prefix of every collection name, so several deployments (or test runs) share a server.
TYPESENSE_COLLECTION_PREFIX = env_str("TYPESENSE_COLLECTION_PREFIX", "ensemble_")
SEARCH_SYNC_BATCH_SIZE = env_int("SEARCH_SYNC_BATCH_SIZE", 500, minimum=1)
SEARCH_SYNC_LEASE_SECONDS = env_int("SEARCH_SYNC_LEASE_SECONDS", 60, minimum=1)
SEARCH_SYNC_MAX_BACKOFF_SECONDS = env_int("SEARCH_SYNC_MAX_BACKOFF_SECONDS", 300, minimum=1)
# The worker compares each idle index's document count with the database this often, and
# fully after every Typesense outage; differences are queued again (search/maintenance.py).
SEARCH_SYNC_VERIFY_SECONDS = env_int("SEARCH_SYNC_VERIFY_SECONDS", 60, minimum=1)
# host:port where `typesense_sync` serves its own metrics (empty: none); bind it to a private address.
ENSEMBLE_WORKER_METRICS_ADDRESS = env_str("ENSEMBLE_WORKER_METRICS_ADDRESS", "")
# GET /logs answers 502 when a log has waited this long for Typesense and Typesense is down.
ENSEMBLE_LOGS_MAX_SYNC_LAG_SECONDS = env_int("ENSEMBLE_LOGS_MAX_SYNC_LAG_SECONDS", 300, minimum=0)

# Interaction logs older than this many days are deleted by `manage.py retention_prune`
# (0 = keep forever; the command then needs --days).
ENSEMBLE_LOG_RETENTION_DAYS = env_int("ENSEMBLE_LOG_RETENTION_DAYS", 90, minimum=0)

# --- Outbound HTTP (specs and service calls) ------------------------------------------
# Loopback, private, link-local and metadata addresses are refused unless listed here
# (CIDR networks). The embedded profile allows loopback for the demo services.
ENSEMBLE_OUTBOUND_ALLOWED_NETWORKS = env_list("ENSEMBLE_OUTBOUND_ALLOWED_NETWORKS", [])
# When set, the only hosts outbound calls may reach (an egress allow-list); empty = any host
# that passes the address check.
ENSEMBLE_OUTBOUND_ALLOWED_HOSTS = env_list("ENSEMBLE_OUTBOUND_ALLOWED_HOSTS", [])
# Fernet keys for the services' credentials, comma-separated: the first encrypts, all decrypt.
ENSEMBLE_CREDENTIALS_KEYS = env_list("ENSEMBLE_CREDENTIALS_KEYS", [])
# A spec that failed to fetch is not fetched again on the request path for this long.
ENSEMBLE_SPEC_RETRY_SECONDS = env_int("ENSEMBLE_SPEC_RETRY_SECONDS", 60, minimum=0)
# Fetch a service's spec in the background right after it is registered or updated.
ENSEMBLE_SPEC_FETCH_ON_WRITE = env_bool("ENSEMBLE_SPEC_FETCH_ON_WRITE", True)
# Specs are fetched by a small background pool, one fetch per service at a time, shared
# by every request that needs it; /interact never waits for one, /system-prompt waits at
# most this long (then answers SPEC_UNAVAILABLE: not available yet).
ENSEMBLE_SPEC_FETCH_IN_BACKGROUND = env_bool("ENSEMBLE_SPEC_FETCH_IN_BACKGROUND", True)
ENSEMBLE_SPEC_WAIT_SECONDS = env_float("ENSEMBLE_SPEC_WAIT_SECONDS", 5.0)
# A call waiting for an admin's approval expires after this long (never sent then).
ENSEMBLE_APPROVAL_TTL_SECONDS = env_int("ENSEMBLE_APPROVAL_TTL_SECONDS", 24 * 3600, minimum=1)
# Conversations (POST /interact with conversation_id): turns per conversation, seconds
# without a turn after which it expires, and the tokens (4 characters each) of earlier
# turns the OpenAI backend sends with a new one.
ENSEMBLE_CONVERSATION_MAX_TURNS = env_int("ENSEMBLE_CONVERSATION_MAX_TURNS", 50, minimum=1)
ENSEMBLE_CONVERSATION_TTL = env_int("ENSEMBLE_CONVERSATION_TTL", 24 * 3600, minimum=1)
ENSEMBLE_CONVERSATION_HISTORY_TOKENS = env_int("ENSEMBLE_CONVERSATION_HISTORY_TOKENS", 4000, minimum=0)
ENSEMBLE_SPEC_MAX_BYTES = env_int("ENSEMBLE_SPEC_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
ENSEMBLE_HTTP_TIMEOUT_SECONDS = env_float("ENSEMBLE_HTTP_TIMEOUT_SECONDS", 10.0)
ENSEMBLE_SERVICE_RESPONSE_MAX_BYTES = env_int("ENSEMBLE_SERVICE_RESPONSE_MAX_BYTES", 256 * 1024, minimum=1024)
# Arguments the assistant sends to one operation (JSON size); larger ones are refused.
ENSEMBLE_SERVICE_ARGUMENTS_MAX_BYTES = env_int("ENSEMBLE_SERVICE_ARGUMENTS_MAX_BYTES", 256 * 1024, minimum=1024)
# Adaptive concurrency limit per service and worker process (outbound/http.py): it starts
# at the floor, grows by one for each answer in the service's usual time while the limit
# is reached, shrinks (x0.9) when answers slow down to twice the usual and halves on a
# timeout or connection failure; never below the floor nor above the ceiling. A service
# that stops answering keeps only the floor's threads of a worker.
# (ENSEMBLE_OUTBOUND_MAX_CONCURRENT, the fixed limit before, is read as the floor.)
ENSEMBLE_OUTBOUND_CONCURRENCY_FLOOR = env_int(
    "ENSEMBLE_OUTBOUND_CONCURRENCY_FLOOR", env_int("ENSEMBLE_OUTBOUND_MAX_CONCURRENT", 2, minimum=1), minimum=1
)
ENSEMBLE_OUTBOUND_CONCURRENCY_CEILING = env_int(
    "ENSEMBLE_OUTBOUND_CONCURRENCY_CEILING", max(16, ENSEMBLE_OUTBOUND_CONCURRENCY_FLOOR),
    minimum=ENSEMBLE_OUTBOUND_CONCURRENCY_FLOOR,
)
# Threads that may wait for one service's spec fetch (prompts/tasks.py): the floor.
ENSEMBLE_OUTBOUND_MAX_CONCURRENT = ENSEMBLE_OUTBOUND_CONCURRENCY_FLOOR
# A request waits for a slot at most until its deadline (ENSEMBLE_HTTP_TIMEOUT_SECONDS),
# and gives up (BUSY, not sent) when the service frees no slot for about twice its usual
# answer time: a quarter second when it is failing or not heard from yet, never more
# than this.
ENSEMBLE_OUTBOUND_QUEUE_SECONDS = env_float("ENSEMBLE_OUTBOUND_QUEUE_SECONDS", 2.0, minimum=0.0)
# Circuit breaker: this many timeouts or connection failures in a row skip the service
# for this long.
ENSEMBLE_OUTBOUND_BREAKER_FAILURES = env_int("ENSEMBLE_OUTBOUND_BREAKER_FAILURES", 5, minimum=1)
ENSEMBLE_OUTBOUND_BREAKER_SECONDS = env_float("ENSEMBLE_OUTBOUND_BREAKER_SECONDS", 30.0)

# --- Assistant -------------------------------------------------------------------------
# "local" (embedded, offline) or "openai" (any OpenAI-compatible endpoint).
ENSEMBLE_ASSISTANT_BACKEND = env_str("ENSEMBLE_ASSISTANT_BACKEND") or (
    "openai" if env_str("OPENAI_API_KEY") else "local"
)
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL")
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4o-mini")
OPENAI_TIMEOUT_SECONDS = env_float("OPENAI_TIMEOUT_SECONDS", 60.0)
OPENAI_MAX_RETRIES = env_int("OPENAI_MAX_RETRIES", 2, minimum=0)
ENSEMBLE_ASSISTANT_MAX_ROUNDS = env_int("ENSEMBLE_ASSISTANT_MAX_ROUNDS", 6, minimum=1)
ENSEMBLE_ASSISTANT_MAX_CALLS = env_int("ENSEMBLE_ASSISTANT_MAX_CALLS", 10, minimum=1)
# Tools offered to a model per request; beyond it the best-ranked plus `search_operations`.
ENSEMBLE_ASSISTANT_MAX_TOOLS = env_int("ENSEMBLE_ASSISTANT_MAX_TOOLS", 20, minimum=1)
ENSEMBLE_USER_INPUT_MAX_CHARS = env_int("ENSEMBLE_USER_INPUT_MAX_CHARS", 16_000, minimum=1)
ENSEMBLE_PROMPT_TOKEN_BUDGET = env_int("ENSEMBLE_PROMPT_TOKEN_BUDGET", 12_000, minimum=200)

# --- MCP endpoint (/mcp) ------------------------------------------------------------------
# tools/list lists at most this many operations (the most used first); search_operations
# finds the others. Pages of tools/list hold ENSEMBLE_MCP_PAGE_SIZE tools.
ENSEMBLE_MCP_MAX_LISTED_OPERATIONS = env_int("ENSEMBLE_MCP_MAX_LISTED_OPERATIONS", 100, minimum=1)
ENSEMBLE_MCP_PAGE_SIZE = env_int("ENSEMBLE_MCP_PAGE_SIZE", 50, minimum=1)
# Web origins (scheme://host[:port], or scheme://host:* for any port) whose pages may call
# /mcp from a browser. None by default: a request with any Origin header is refused (403),
# against DNS rebinding; clients that send no Origin (SDKs, servers) are served.
ENSEMBLE_MCP_ALLOWED_ORIGINS = [origin.rstrip("/") for origin in env_list("ENSEMBLE_MCP_ALLOWED_ORIGINS", [])]

# "json" (one object per line, for log collectors) or "plain" (for a terminal).
ENSEMBLE_LOG_FORMAT = env_str("ENSEMBLE_LOG_FORMAT", "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "core.observability.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "core.observability.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": ENSEMBLE_LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env_str("ENSEMBLE_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # One line per Typesense/service request is noise at INFO.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        # The MCP SDK logs each stateless request's start and end at INFO.
        "mcp": {"level": "WARNING"},
        # The access log: one line per request (ENSEMBLE_ACCESS_LOG=false turns it off).
        "ensemble.access": {"level": "INFO" if env_bool("ENSEMBLE_ACCESS_LOG", True) else "WARNING"},
    },
}
