# The two commands of the README: `make run` and `make test`. Everything else is a helper.
# Each installs what it needs into .venv first (Python 3.11 and pip are all it assumes).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres install typesense typesense-stop check-spec bench load-test clean

# The first install downloads every package from PyPI: 35 s measured on a 2-core machine.
$(STAMP): requirements.txt requirements-dev.txt
	@echo "==> Installing Python dependencies into $(VENV) (the first time takes 30-60 s; later runs skip this)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

## Start the service with its embedded defaults (SQLite, bundled Typesense, offline assistant, demo services).
run: install
	@bash scripts/run.sh

## The whole test suite: SQLite, then PostgreSQL (started on loopback by scripts/test_postgres.sh).
test: install
	@bash scripts/test.sh

test-sqlite: install
	$(BIN)/python -m pytest

test-postgres: install
	bash scripts/test_postgres.sh $(BIN)/python -m pytest

typesense: install
	$(BIN)/python scripts/typesense_server.py start

typesense-stop:
	$(BIN)/python scripts/typesense_server.py stop

check-spec: install
	$(BIN)/python manage.py spec_diff

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache

## 50 clients for 60 s against the production profile, on SQLite then PostgreSQL (see bench/load_test.py).
load-test: install
	bash scripts/test_postgres.sh $(BIN)/python bench/load_test.py
