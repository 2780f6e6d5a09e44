"""`spec_check` (read, load with the C loader, parse, render the prompt) on the largest
reference spec against `yaml.safe_load` alone on the same file, in the same run.
Target (issue 13): at most 0.2 of safe_load."""

import os
import statistics

import yaml
from _harness import ROOT, Environment, timed

SPEC = ROOT.parent / "shared" / "reference" / "third-party" / "twilio_api_v2010.yaml"


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
    finally:
        environment.close()


if __name__ == "__main__":
    main()
