"""`spec_check` (read, load with the C loader, parse, render the prompt) on the largest
reference spec against `yaml.safe_load` alone on the same file, in the same run.
Target (issue 13): at most 0.2 of safe_load.

And as whole commands, which is what an operator waits for: `manage.py spec_check` less
Django's own start (`manage.py help`) against a `python -c` that only runs
`yaml.safe_load` on the file, less Python's start (`python -c pass`). Target (issue 27):
at most 0.2; the system checks (which import the URLconf and, before, the MCP SDK) were
most of the difference."""

import os
import statistics
import subprocess
import sys
import time

import yaml
from _harness import ROOT, Environment, timed

SPEC = ROOT.parent / "shared" / "reference" / "third-party" / "twilio_api_v2010.yaml"


def _command_seconds(argv: list[str], repeat: int) -> float:
    """Median wall time of a fresh process (the benchmarks' environment, test profile)."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run([sys.executable, *argv], cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "ENSEMBLE_SPEC_MAX_BYTES": str(max(os.path.getsize(SPEC), 5 << 20))})
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def whole_commands(repeat: int = 5) -> None:
    # Interleaved rounds, so a burst of other work on the machine hits all four alike.
    rounds = {"spec_check": [], "help": [], "safe_load": [], "python": []}
    load = f"import yaml; yaml.safe_load(open({str(SPEC)!r}, encoding='utf-8'))"
    for _ in range(repeat):
        rounds["spec_check"].append(_command_seconds(["manage.py", "spec_check", str(SPEC)], 1))
        rounds["help"].append(_command_seconds(["manage.py", "help"], 1))
        rounds["safe_load"].append(_command_seconds(["-c", load], 1))
        rounds["python"].append(_command_seconds(["-c", "pass"], 1))
    median = {name: statistics.median(values) for name, values in rounds.items()}
    command, loading = median["spec_check"] - median["help"], median["safe_load"] - median["python"]
    print(f"  as commands (median of {repeat}): manage.py spec_check {median['spec_check']:.2f} s, manage.py help "
          f"{median['help']:.2f} s; python -c safe_load {median['safe_load']:.2f} s, python -c pass "
          f"{median['python']:.2f} s")
    print(f"  ratio (spec_check - help) / (safe_load - python start): {command / loading:.2f} (target <= 0.2)")


def main():
    environment = Environment(typesense=False)
    try:
        from django.conf import settings

        from prompts.checking import spec_check

        settings.ENSEMBLE_SPEC_MAX_BYTES = max(settings.ENSEMBLE_SPEC_MAX_BYTES, os.path.getsize(SPEC))
        text = SPEC.read_text()
        ours = timed(lambda: spec_check(str(SPEC)), 5)
        baseline = timed(lambda: yaml.safe_load(text), 3)
        c_only = timed(lambda: yaml.load(text, Loader=yaml.CSafeLoader), 3)
        report = spec_check(str(SPEC))
        print(f"{SPEC.name}: {os.path.getsize(SPEC):,} bytes, {len(report.operations)} operations, "
              f"about {report.prompt_tokens} prompt tokens")
        print(f"  yaml.safe_load alone:          median {statistics.median(baseline):.3f} s")
        print(f"  yaml CSafeLoader alone:        median {statistics.median(c_only):.3f} s")
        print(f"  spec_check (whole):            median {statistics.median(ours):.3f} s")
        print(f"  ratio spec_check / safe_load: {statistics.median(ours) / statistics.median(baseline):.2f}")
        whole_commands()
    finally:
        environment.close()


if __name__ == "__main__":
    main()
