#!/usr/bin/env bash
# `make test`: lint and the import contract, the whole suite on SQLite, then again on
# PostgreSQL. Every pass runs even when an earlier one failed; a summary at the end says
# which failed, and the exit status is non-zero if any did. Arguments go to both pytest runs.
# Browser tests need Debian's chromium; as root we install it, otherwise they skip.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
# Ctrl-C stops the whole run, not just the pass it lands in.
trap 'echo; echo "== Interrupted =="; exit 130' INT

if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "Installing Chromium (Debian package) for the browser test..."
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "Chromium could not be installed; the browser test will skip."
fi

passed=()
failed=()
run_pass() {  # run_pass NAME COMMAND...: run it, remember how it ended
  local name="$1"
  shift
  echo "== $name =="
  "$@"
  local status=$?
  if [ "$status" = 0 ]; then passed+=("$name"); else failed+=("$name (exit $status)"); fi
}
lint() {  # both linters, even when the first fails
  local status=0
  $PY -m ruff check . || status=1
  .venv/bin/lint-imports --no-cache || status=1
  return "$status"
}

run_pass "Lint (ruff) and the floors' import contract (lint-imports)" lint
run_pass "Test suite on SQLite" $PY -m pytest "$@"
run_pass "Test suite on PostgreSQL" bash scripts/test_postgres.sh $PY -m pytest "$@"

echo
echo "== Summary =="
for name in "${passed[@]}"; do echo "  passed: $name"; done
for name in "${failed[@]}"; do echo "  FAILED: $name"; done
[ "${#failed[@]}" = 0 ]
