#!/usr/bin/env bash
# `make run`: the embedded profile, everything on 127.0.0.1.
#   service  http://127.0.0.1:8000  (gunicorn)     Typesense  127.0.0.1:8108 (var/typesense)
#   demo services  127.0.0.1:8101                  database   var/db.sqlite3
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-ensemble_project.settings.development}"
export ENSEMBLE_API_KEY="${ENSEMBLE_API_KEY:-ensemble-dev-api-key}"
export ENSEMBLE_ADMIN_API_KEY="${ENSEMBLE_ADMIN_API_KEY:-ensemble-dev-admin-key}"
PORT="${PORT:-8000}"
DEMO_PORT="${DEMO_PORT:-8101}"
mkdir -p var
# The services' credentials are encrypted with this key; a development one lives in var/.
if [ -z "${ENSEMBLE_CREDENTIALS_KEYS:-}" ]; then
  [ -s var/credentials.key ] || (umask 077; $PY -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' > var/credentials.key)
  export ENSEMBLE_CREDENTIALS_KEYS="$(cat var/credentials.key)"
fi

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  $PY scripts/typesense_server.py stop >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

$PY scripts/typesense_server.py start
$PY manage.py migrate --noinput -v 0
$PY manage.py typesense_migrate
$PY manage.py bootstrap_keys
$PY manage.py ensure_superuser --password-file var/admin-password.txt

$PY demo/server.py --port "$DEMO_PORT" & pids+=($!)
sleep 0.5
$PY manage.py seed_demo --base-url "http://127.0.0.1:$DEMO_PORT" || echo "(demo services not registered; see above)"
$PY manage.py typesense_sync & pids+=($!)

cat <<MSG

  FountainAI Ensemble Service on http://127.0.0.1:$PORT
    API            http://127.0.0.1:$PORT/services       (X-API-KEY: $ENSEMBLE_API_KEY)
    Admin changes  X-ADMIN-API-KEY: $ENSEMBLE_ADMIN_API_KEY
    Django admin   http://127.0.0.1:$PORT/admin/         (user 'admin', password in var/admin-password.txt)
    API docs       http://127.0.0.1:$PORT/docs  and  /redoc  (contract: /openapi.yml)
    Metrics        http://127.0.0.1:$PORT/metrics  (X-ADMIN-API-KEY, or logged in to the admin)
    Try:  curl -s -H 'X-API-KEY: $ENSEMBLE_API_KEY' -H 'Content-Type: application/json' \\
            -d '{"user_input": "get character 1"}' http://127.0.0.1:$PORT/interact
  Ctrl-C stops everything.

MSG
# The production gunicorn configuration, on loopback with two workers.
ENSEMBLE_BIND="127.0.0.1:$PORT" GUNICORN_WORKERS="${GUNICORN_WORKERS:-2}" \
  $PY -m gunicorn -c ensemble_project/gunicorn.conf.py &
pids+=($!)
wait "${pids[-1]}"
