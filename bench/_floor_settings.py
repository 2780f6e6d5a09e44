"""Settings for bench_services.py's `--floors`: the test profile with parts of Django's
request cycle taken away, to show what each costs `GET /services` under gunicorn (a
diagnostic only: nothing else may run like this). BENCH_FLOOR names what is removed:
"middleware" (the whole MIDDLEWARE list), or "middleware+signals" (also Django's
request_started/request_finished receivers: reset_queries, close_old_connections and
close_caches)."""

import os

from ensemble_project.settings.test import *  # noqa: F403 - the benchmark's own profile, less the parts named

MIDDLEWARE = []

if os.environ["BENCH_FLOOR"] == "middleware+signals":
    from django.core import signals
    from django.core.cache import close_caches
    from django.db import close_old_connections, reset_queries

    for signal, receiver in ((signals.request_started, reset_queries), (signals.request_started, close_old_connections),
                             (signals.request_finished, close_old_connections), (signals.request_finished, close_caches)):
        assert signal.disconnect(receiver), receiver
