"""Run every benchmark in turn (`make bench`)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for script in ("bench_sync.py", "bench_prompts.py", "bench_interact.py", "bench_routing.py"):
    print(f"=== {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script)], check=True)
