#!/usr/bin/env bash
# `make run`: the embedded profile, everything on 127.0.0.1.
#   service  http://127.0.0.1:8000  (gunicorn)     Typesense  127.0.0.1:8108 (var/typesense)
#   demo services  127.0.0.1:8101                  database   var/db.sqlite3
# PORT, DEMO_PORT, TYPESENSE_PORT and ENSEMBLE_VAR_DIR move it elsewhere (tests/test_readme.py
# runs this very script on free ports with a var folder of its own).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
export DJANGO_SETTINGS_MODULE="${DJANGO_SETTINGS_MODULE:-ensemble_project.settings.development}"
export ENSEMBLE_API_KEY="${ENSEMBLE_API_KEY:-ensemble-dev-api-key}"
export ENSEMBLE_ADMIN_API_KEY="${ENSEMBLE_ADMIN_API_KEY:-ensemble-dev-admin-key}"
PORT="${PORT:-8000}"
DEMO_PORT="${DEMO_PORT:-8101}"
export ENSEMBLE_VAR_DIR="${ENSEMBLE_VAR_DIR:-$PWD/var}"
export TYPESENSE_PORT="${TYPESENSE_PORT:-8108}"
export TYPESENSE_DATA_DIR="${TYPESENSE_DATA_DIR:-$ENSEMBLE_VAR_DIR/typesense}"
export TYPESENSE_URLS="${TYPESENSE_URLS:-http://127.0.0.1:$TYPESENSE_PORT}"
mkdir -p "$ENSEMBLE_VAR_DIR"
# The services' credentials are encrypted with this key; a development one lives in the var folder.
if [ -z "${ENSEMBLE_CREDENTIALS_KEYS:-}" ]; then
  [ -s "$ENSEMBLE_VAR_DIR/credentials.key" ] || (umask 077; $PY -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' > "$ENSEMBLE_VAR_DIR/credentials.key")
  export ENSEMBLE_CREDENTIALS_KEYS="$(cat "$ENSEMBLE_VAR_DIR/credentials.key")"
fi

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  $PY scripts/typesense_server.py stop >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM
# Progress on stderr as each step starts, so a slow step is never silent.
step() { printf '==> %s\n' "$*" >&2; }

step "Starting Typesense on 127.0.0.1:$TYPESENSE_PORT (data in $TYPESENSE_DATA_DIR)..."
$PY scripts/typesense_server.py start
step "Migrating the database and the Typesense collections..."
$PY manage.py migrate --noinput -v 0
$PY manage.py typesense_migrate
step "Storing the development API keys and the admin user..."
$PY manage.py bootstrap_keys
$PY manage.py ensure_superuser --password-file "$ENSEMBLE_VAR_DIR/admin-password.txt"

step "Starting the demo services on 127.0.0.1:$DEMO_PORT and registering them..."
$PY demo/server.py --port "$DEMO_PORT" & pids+=($!)
sleep 0.5
$PY manage.py seed_demo --base-url "http://127.0.0.1:$DEMO_PORT" || echo "(demo services not registered; see above)"
step "Starting the Typesense sync worker and the web server (gunicorn)..."
$PY manage.py typesense_sync & pids+=($!)

cat <<MSG

  FountainAI Ensemble Service on http://127.0.0.1:$PORT
    API            http://127.0.0.1:$PORT/services       (X-API-KEY: $ENSEMBLE_API_KEY)
    Admin changes  X-ADMIN-API-KEY: $ENSEMBLE_ADMIN_API_KEY
    Django admin   http://127.0.0.1:$PORT/admin/         (user 'admin', password in $ENSEMBLE_VAR_DIR/admin-password.txt)
    API docs       http://127.0.0.1:$PORT/docs  and  /redoc  (Authorize with the keys above; contract: /openapi.yml)
    Metrics        http://127.0.0.1:$PORT/metrics  (X-ADMIN-API-KEY, or logged in to the admin)
    MCP            http://127.0.0.1:$PORT/mcp  (Streamable HTTP for MCP clients; X-API-KEY or Authorization: Bearer)
    Tour           README.md, section "Tour": register a service, ask it things, read the log
    Try:  curl -s -H 'X-API-KEY: $ENSEMBLE_API_KEY' -H 'Content-Type: application/json' \\
            -d '{"user_input": "get character 1"}' http://127.0.0.1:$PORT/interact
  Ctrl-C stops everything.

MSG
# The production gunicorn configuration, on loopback with two workers.
ENSEMBLE_BIND="127.0.0.1:$PORT" GUNICORN_WORKERS="${GUNICORN_WORKERS:-2}" \
  $PY -m gunicorn -c ensemble_project/gunicorn.conf.py &
pids+=($!)
wait "${pids[-1]}"
