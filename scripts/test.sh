#!/usr/bin/env bash
# `make test`: the whole suite on SQLite, then again on PostgreSQL.
# Browser tests need Debian's chromium; as root we install it, otherwise they skip.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Chromium (Debian package) for the browser test..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "Chromium could not be installed; the browser test will skip."
fi

echo "== Lint (ruff) and the floors' import contract (lint-imports) =="
$PY -m ruff check .
.venv/bin/lint-imports --no-cache
echo "== Test suite on SQLite =="
$PY -m pytest "$@"
echo "== Test suite on PostgreSQL =="
bash scripts/test_postgres.sh $PY -m pytest "$@"
