"""The two commands of the README, where they can go wrong before any test of the
service runs: `make run` with a port taken, `make test` with a failing pass."""

import os
import socket
import subprocess

import pytest

from tests.conftest import ROOT, free_port, typesense_server
from tests.test_readme import SESSION_ONLY

ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith("postgres")


@pytest.mark.parametrize("taken, message", [
    ("PORT", "is already in use (PORT). Set PORT to a free port, e.g. PORT="),
    ("DEMO_PORT", "is already in use (DEMO_PORT). Set DEMO_PORT to a free port, e.g. DEMO_PORT="),
    ("TYPESENSE_PORT", "is already in use (TYPESENSE_PORT). Set TYPESENSE_PORT to a free port"),
    ("peering", "is already in use (TYPESENSE_PORT + 1, Typesense's peering port). Set TYPESENSE_PORT to a free port"),
])
def test_make_run_with_a_port_taken_fails_before_starting_anything(tmp_path, taken, message):
    ports = {"PORT": free_port(), "DEMO_PORT": free_port(), "TYPESENSE_PORT": typesense_server.free_port_pair()}
    with socket.socket() as blocker:
        number = ports["TYPESENSE_PORT"] + 1 if taken == "peering" else ports[taken]
        blocker.bind(("127.0.0.1", number))
        blocker.listen()
        env = {k: v for k, v in os.environ.items() if k not in SESSION_ONLY}
        env.update({name: str(port) for name, port in ports.items()}, ENSEMBLE_VAR_DIR=str(tmp_path / "var"))
        result = subprocess.run(["bash", "scripts/run.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"make run: 127.0.0.1:{number} {message}" in result.stderr, result.stderr
    assert "Nothing was started" in result.stderr and "==>" not in result.stderr + result.stdout
    assert not (tmp_path / "var").exists()  # not even the var folder


@pytest.mark.skipif(ON_POSTGRES, reason="runs both passes itself; checked once, on the SQLite pass")
def test_make_test_runs_every_pass_and_fails_if_one_failed(tmp_path):
    """A test that fails on SQLite only: the PostgreSQL pass still runs (and passes), the
    summary names the failed pass, and the exit status says it failed."""
    (tmp_path / "test_one_pass_fails.py").write_text(
        "import os\n\n"
        "def test_fails_on_sqlite_only():\n"
        "    assert os.environ.get('DATABASE_URL', '').startswith('postgres'), 'deliberately failing on SQLite'\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in SESSION_ONLY}
    env["PG_TEST_PORT"] = str(free_port())  # its own PostgreSQL, whatever else runs
    result = subprocess.run(["bash", "scripts/test.sh", str(tmp_path / "test_one_pass_fails.py"), "-p", "no:cacheprovider"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert out.index("== Test suite on SQLite ==") < out.index("deliberately failing on SQLite") \
        < out.index("== Test suite on PostgreSQL ==") < out.index("== Summary ==")
    summary = out[out.index("== Summary =="):]
    # Lint ran first (its result is the checkout's; it does not stop the passes after it).
    assert out.index("== Lint (ruff)") < out.index("== Test suite on SQLite ==") and "Lint (ruff)" in summary
    assert "FAILED: Test suite on SQLite (exit 1)" in summary
    postgres_ran = "1 passed" in out[out.index("== Test suite on PostgreSQL =="):]
    skipped = "skipping the PostgreSQL run" in result.stderr
    assert postgres_ran or skipped, out + result.stderr
    assert "passed: Test suite on PostgreSQL" in summary
