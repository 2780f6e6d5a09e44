"""Shared set-up for the benchmarks: a private Typesense, a throw-away SQLite database,
Django configured with the test profile, and small timing helpers. Every benchmark
prints ratios against a baseline measured in the same run (the machines are noisy)."""

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

import typesense_server  # noqa: E402 - after sys.path names the scripts folder

TYPESENSE_KEY = "bench-key"


free_port = typesense_server.free_port


class Environment:
    def __init__(self, *, typesense: bool = True):
        self.dir = Path(tempfile.mkdtemp(prefix="ensemble-bench-"))
        self.typesense_port = typesense_server.free_port_pair()  # it peers on port + 1: both must be free
        self.typesense_dir = self.dir / "typesense"
        self.typesense_process = None
        os.environ.update({
            "DJANGO_SETTINGS_MODULE": "ensemble_project.settings.test",
            "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{self.dir / 'bench.sqlite3'}",
            "TYPESENSE_URLS": f"http://127.0.0.1:{self.typesense_port}",
            "TYPESENSE_API_KEY": TYPESENSE_KEY,
            "TYPESENSE_COLLECTION_PREFIX": "bench_",
            "ENSEMBLE_LOG_LEVEL": "WARNING",
            "ENSEMBLE_ACCESS_LOG": "false",
            "DJANGO_ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        })
        if typesense:
            self.start_typesense()
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command

        settings.TYPESENSE_URLS = [os.environ["TYPESENSE_URLS"]]
        settings.TYPESENSE_API_KEY = TYPESENSE_KEY
        call_command("migrate", verbosity=0)

    def start_typesense(self):
        self.typesense_process = typesense_server.start(
            port=self.typesense_port, data_dir=self.typesense_dir, api_key=TYPESENSE_KEY
        )

    def stop_typesense(self):
        typesense_server.stop(data_dir=self.typesense_dir, timeout=5)
        self.typesense_process = None

    def close(self):
        if self.typesense_process:
            self.stop_typesense()
        shutil.rmtree(self.dir, ignore_errors=True)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def timed(function, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return samples


def summary(samples: list[float]) -> str:
    return f"p50 {percentile(samples, 0.5) * 1000:.2f} ms, p99 {percentile(samples, 0.99) * 1000:.2f} ms, mean {statistics.mean(samples) * 1000:.2f} ms"
