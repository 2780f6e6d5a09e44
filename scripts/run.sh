#!/usr/bin/env bash
# `make run`: the embedded profile, everything on 127.0.0.1.
#   service  http://127.0.0.1:8000  (gunicorn)     Typesense  127.0.0.1:8108 (var/typesense)
#   demo services  127.0.0.1:8101                  database   var/db.sqlite3
# PORT, DEMO_PORT, TYPESENSE_PORT (Typesense also takes the next port, for peering) and
# ENSEMBLE_VAR_DIR move it elsewhere (README, top; tests/test_readme.py runs this very script
# on free ports with a var folder of its own). A taken port stops it before anything starts.
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

# Before anything starts: every port free (a Typesense already answering on its port is
# used as it is), or say which variable to set and to what.
$PY - "$PORT" "$DEMO_PORT" "$TYPESENSE_PORT" <<'PY'
import socket, sys, urllib.request

def free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False

def typesense_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
            return b"ok" in response.read()
    except OSError:
        return False

def fail(message: str) -> None:
    sys.exit(f"make run: {message}\nNothing was started. The ports: PORT (the service, 8000), DEMO_PORT (the demo "
             "services, 8101), TYPESENSE_PORT (8108, and the next port for peering); see README.md.")

names = ("PORT", "DEMO_PORT", "TYPESENSE_PORT")
ports = {}
for name, value in zip(names, sys.argv[1:]):
    if not value.isdigit() or not 0 < int(value) < 65535:
        fail(f"{name}={value!r} is not a port number.")
    ports[name] = int(value)
wanted = {"PORT": [ports["PORT"]], "DEMO_PORT": [ports["DEMO_PORT"]],
          "TYPESENSE_PORT": [ports["TYPESENSE_PORT"], ports["TYPESENSE_PORT"] + 1]}
owner = {}
for name, numbers in wanted.items():
    for number in numbers:
        if number in owner:
            fail(f"{owner[number]} and {name} both need port {number}; give each its own.")
        owner[number] = name
if typesense_answers(ports["TYPESENSE_PORT"]):
    del wanted["TYPESENSE_PORT"]  # scripts/typesense_server.py uses the running one
for name, numbers in wanted.items():
    for number in numbers:
        if not free(number):
            suggestion = next(p for p in range(ports[name] + 10, 65000, 10)
                              if p not in owner and p + 1 not in owner and free(p) and (name != "TYPESENSE_PORT" or free(p + 1)))
            what = "TYPESENSE_PORT + 1, Typesense's peering port" if number != ports[name] else name
            fail(f"127.0.0.1:{number} is already in use ({what}). Set {name} to a free port, "
                 f"e.g. {name}={suggestion} make run")
PY
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
# The production gunicorn configuration, on loopback with two workers.
ENSEMBLE_BIND="127.0.0.1:$PORT" GUNICORN_WORKERS="${GUNICORN_WORKERS:-2}" \
  $PY -m gunicorn -c ensemble_project/gunicorn.conf.py &
web=$!
pids+=($web)
# The URLs only once they answer; if gunicorn stops first, its error is above.
until $PY -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)" "http://127.0.0.1:$PORT/healthz" 2>/dev/null; do
  kill -0 "$web" 2>/dev/null || { wait "$web"; status=$?; echo "make run: the web server stopped (exit $status); see above." >&2; exit 1; }
  sleep 0.3
done

cat <<MSG

  FountainAI Ensemble Service on http://127.0.0.1:$PORT  (links to everything: http://127.0.0.1:$PORT/)
    API            http://127.0.0.1:$PORT/services       (X-API-KEY: $ENSEMBLE_API_KEY)
    Admin changes  X-ADMIN-API-KEY: $ENSEMBLE_ADMIN_API_KEY
    Django admin   http://127.0.0.1:$PORT/admin/         (user 'admin', password in $ENSEMBLE_VAR_DIR/admin-password.txt)
    API docs       http://127.0.0.1:$PORT/docs  and  /redoc  (Authorize with the keys above; contract: /openapi.yml)
    Health         http://127.0.0.1:$PORT/healthz (liveness)  and  /readyz (database, Typesense, search sync)
    Metrics        http://127.0.0.1:$PORT/metrics  (X-ADMIN-API-KEY, or logged in to the admin)
    MCP            http://127.0.0.1:$PORT/mcp  (Streamable HTTP for MCP clients; X-API-KEY or Authorization: Bearer)
    Tour           README.md, section "Tour": register a service, ask it things, read the log
    Try:  curl -s -H 'X-API-KEY: $ENSEMBLE_API_KEY' -H 'Content-Type: application/json' \\
            -d '{"user_input": "get character 1"}' http://127.0.0.1:$PORT/interact
  Ctrl-C stops everything.

MSG
wait "$web"
