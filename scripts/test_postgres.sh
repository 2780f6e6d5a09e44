#!/usr/bin/env bash
# Start a throw-away PostgreSQL server on loopback for the test suite, run a command
# with DATABASE_URL pointing at it, then stop and remove it.
#   scripts/test_postgres.sh COMMAND...
# Installs Debian's postgresql package when it is missing and we are root.
set -euo pipefail
PG_PORT="${PG_TEST_PORT:-54329}"
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ -z "$(pg_bin)" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing PostgreSQL (Debian package)..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  else
    echo "PostgreSQL is not installed and we are not root: skipping the PostgreSQL run." >&2
    echo "(Install Debian's 'postgresql' package to run it.)" >&2
    exit 0
  fi
fi
BIN="$(pg_bin)"
DATA="$(mktemp -d /tmp/ensemble-pg.XXXXXX)"
RUN_AS=()
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root: use the package's postgres user.
  chown postgres "$DATA"
  RUN_AS=(runuser -u postgres --)
fi
cleanup() {
  "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DATA/db" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap cleanup EXIT
"${RUN_AS[@]}" "$BIN/initdb" -D "$DATA/db" -U ensemble --auth=trust -E UTF8 >/dev/null
PG_OPTIONS="-h 127.0.0.1 -p $PG_PORT -k $DATA -c fsync=off -c full_page_writes=off -c max_connections=200"
"${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DATA/db" -l "$DATA/server.log" -w -o "$PG_OPTIONS" start >/dev/null
"${RUN_AS[@]}" "$BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U ensemble ensemble
export DATABASE_URL="postgres://ensemble@127.0.0.1:$PG_PORT/ensemble"
# For tests/test_faults.py, which stops and starts this server under load.
export ENSEMBLE_TEST_PG_BIN="$BIN" ENSEMBLE_TEST_PG_DATA="$DATA/db" ENSEMBLE_TEST_PG_LOG="$DATA/server.log" \
  ENSEMBLE_TEST_PG_OPTIONS="$PG_OPTIONS" ENSEMBLE_TEST_PG_USER="${RUN_AS:+postgres}"
echo "PostgreSQL on 127.0.0.1:$PG_PORT ($DATABASE_URL)"
"$@"
