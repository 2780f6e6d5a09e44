"""The embedded profile used by `make run`: SQLite, the bundled Typesense, the offline
assistant, and loopback allowed so the demo services on 127.0.0.1 can be reached."""

from core.env import env_bool, env_list, env_str

from .base import *  # noqa: F403 - a profile extends the base settings
from .base import VAR_DIR

DEBUG = env_bool("DJANGO_DEBUG", True)
ENSEMBLE_OUTBOUND_ALLOWED_NETWORKS = env_list(
    "ENSEMBLE_OUTBOUND_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"]
)
VAR_DIR.mkdir(parents=True, exist_ok=True)  # the SQLite file and Typesense data of `make run`
# Static files straight from the apps' folders: no collectstatic needed before running.
WHITENOISE_USE_FINDERS = True
STATIC_ROOT = None
# A terminal reads plain lines better; set ENSEMBLE_LOG_FORMAT=json to see production's.
LOGGING["handlers"]["console"]["formatter"] = env_str("ENSEMBLE_LOG_FORMAT", "plain")  # noqa: F405 - defined by the base settings
# `make run` keeps a development key in var/ (scripts/run.sh creates it); commands run
# by hand find it there too.
if not ENSEMBLE_CREDENTIALS_KEYS and (VAR_DIR / "credentials.key").exists():  # noqa: F405 - defined by the base settings
    ENSEMBLE_CREDENTIALS_KEYS = [(VAR_DIR / "credentials.key").read_text().strip()]
