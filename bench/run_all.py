"""Run every benchmark in turn (`make bench`)."""

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for script in ("bench_sync.py", "bench_prompts.py", "bench_interact.py", "bench_services.py", "bench_admin.py", "bench_spec_check.py", "bench_search.py", "bench_routing.py", "bench_interact_scale.py"):
    print(f"=== {script}", flush=True)
    subprocess.run([sys.executable, str(HERE / script)], check=True)
