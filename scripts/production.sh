#!/usr/bin/env bash
# The production profile's processes. Configuration comes from the environment only
# (README, "Configuration"); nothing here has a default secret.
#   scripts/production.sh release   migrate the database and the Typesense collections; check --deploy
#   scripts/production.sh web       gunicorn (workers/threads: GUNICORN_WORKERS, GUNICORN_THREADS)
#   scripts/production.sh worker    the Typesense sync worker (run one or more, anywhere)
#   scripts/production.sh probe [ready]   the container's health check: GET /healthz (liveness)
#                                   or /readyz (readiness) of this container's gunicorn; exit 0 on 200
# Run `release` once per deploy before starting the new web and worker processes; any
# number of web instances may share one PostgreSQL and one Typesense cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-ensemble_project.settings.production}"

case "${1:-}" in
  release)
    # Warnings are printed, not fatal: e.g. a proxy may do the HTTPS redirect instead (W008).
    $PY manage.py check --deploy
    $PY manage.py migrate --noinput
    # Creates or upgrades the collections. If Typesense is not reachable yet (a cluster
    # still electing its leader), the worker creates them before its first delivery.
    $PY manage.py typesense_migrate || echo "Typesense not ready: the worker will create the collections." >&2
    ;;
  web)
    exec $PY -m gunicorn -c ensemble_project/gunicorn.conf.py
    ;;
  worker)
    exec $PY manage.py typesense_sync
    ;;
  probe)
    # On loopback, at the port gunicorn binds (ENSEMBLE_BIND); any Host header passes the
    # probe paths (ensemble_project/health.py). No Django import: it runs every 30 s.
    path=/healthz
    [ "${2:-}" = ready ] && path=/readyz
    bind="${ENSEMBLE_BIND:-0.0.0.0:8000}"
    exec $PY -c '
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except urllib.error.HTTPError as error:
    body = error.read(300).decode("utf-8", "replace")
    sys.exit(f"{sys.argv[1]}: {error.code} {body}")
except OSError as error:
    sys.exit(f"{sys.argv[1]}: {error}")
' "http://127.0.0.1:${bind##*:}$path"
    ;;
  *)
    echo "usage: $0 release|web|worker|probe [ready]" >&2
    exit 2
    ;;
esac
