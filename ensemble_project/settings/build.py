"""What `docker build` runs (`check --deploy`, `collectstatic`): the production profile,
importable without its runtime secrets.

Production requires DJANGO_SECRET_KEY and ENSEMBLE_CREDENTIALS_KEYS, and must: a process
that serves needs both. Building the image serves nothing, so this profile gives the two
a throw-away value made for this one process (nothing fixed ends up in the image, its
layers or its history) and is production in every other respect: the same apps, static
files settings and security settings. So `collectstatic` collects exactly what production
serves, and `check --deploy` fails the build, not the first deploy, when a production
setting is unsafe.

It cannot serve by mistake: its database is Django's dummy backend, which refuses every
query, and its secret changes with every process.
"""

import os
import secrets

from cryptography.fernet import Fernet

# Set, not defaulted: a real secret passed to the build must not be the one it uses.
os.environ["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
os.environ["ENSEMBLE_CREDENTIALS_KEYS"] = Fernet.generate_key().decode()

from .production import *  # noqa: F403 - production, once its secrets exist

DATABASES = {"default": {"ENGINE": "django.db.backends.dummy"}}
