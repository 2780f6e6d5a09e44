"""Specs' YAML is loaded as YAML 1.2 (OpenAPI's recommendation) by a fast parser, with
PyYAML for what it does not take: both give the same data, and no document can crash
the process."""

import json
import subprocess
import sys

import pytest
import yaml

from prompts.parsing import load_document, parse_spec
from prompts.yaml12 import FAST_PATH_MAX_PREFIX, Yaml12Loader, _fast_path_applies, load_yaml
from tests.conftest import ROOT, SHARED

REFERENCE_SPECS = sorted((SHARED / "reference").rglob("*.y*ml"))

SCALARS = """
country: [NO, SE, yes, on, off, y, n]
date: 2024-01-01
moment: 2024-01-01T10:00:00Z
clock: 12:30:00
leading_zero: 0777
octal: 0o17
hex: 0x1F
exponent: 1e3
fraction: .5
version: 1.10
negative_infinity: -.inf
booleans: [true, False, TRUE]
nothing: [~, null, Null]
empty:
equals: =
quoted: ["NO", '0777']
"""

EXPECTED = {
    "country": ["NO", "SE", "yes", "on", "off", "y", "n"],
    "date": "2024-01-01", "moment": "2024-01-01T10:00:00Z", "clock": "12:30:00",
    "leading_zero": 777, "octal": 15, "hex": 31, "exponent": 1000.0, "fraction": 0.5, "version": 1.1,
    "negative_infinity": float("-inf"), "booleans": [True, False, True], "nothing": [None, None, None], "empty": None,
    "equals": "=", "quoted": ["NO", "0777"],
}


def _pyyaml(text):
    return yaml.load(text, Loader=Yaml12Loader)


@pytest.mark.parametrize("path", REFERENCE_SPECS, ids=lambda p: p.name)
def test_the_fast_path_and_pyyaml_load_every_reference_spec_alike(path):
    text = path.read_text()
    assert _fast_path_applies(text)
    assert load_yaml(text) == _pyyaml(text)


def test_plain_scalars_are_yaml_1_2_on_both_paths():
    assert _fast_path_applies(SCALARS)
    assert load_yaml(SCALARS) == EXPECTED
    assert _pyyaml(SCALARS) == EXPECTED
    # A merge key sends a document to PyYAML: the same scalars, and the merge applied.
    merged = load_yaml("base: &base {kind: NO, since: 2024-01-01}\nitem:\n  <<: *base\n  size: 0777\n")
    assert merged["item"] == {"kind": "NO", "since": "2024-01-01", "size": 777}


def test_country_codes_and_dates_reach_the_tools_as_the_spec_wrote_them():
    spec = """
openapi: 3.0.3
info: {title: Places, version: '1'}
servers: [{url: 'http://places.example'}]
paths:
  /places:
    get:
      operationId: listPlaces
      parameters:
        - name: country
          in: query
          schema: {type: string, enum: [NO, SE, DK], default: NO}
        - name: since
          in: query
          schema: {type: string, format: date, default: 2024-01-01}
      responses: {'200': {description: ok}}
"""
    parsed = parse_spec(spec)
    (operation,) = json.loads(parsed["operations_json"])
    country, since = operation["parameters"]
    assert country["schema"]["enum"] == ["NO", "SE", "DK"] and country["schema"]["default"] == "NO"
    # Under YAML 1.1 this was a date, which JSON cannot hold: the whole spec was refused.
    assert since["schema"]["default"] == "2024-01-01"


def test_duplicate_keys_keep_the_last_value_as_json_does():
    assert load_document("openapi: 3.0.0\ninfo: {title: A, version: '1'}\ninfo: {title: B, version: '2'}\n"
                         "paths: {}\n")["info"]["title"] == "B"


def test_the_deepest_document_the_fast_path_takes_parses_on_a_1_mb_thread_stack():
    """The bound in prompts/yaml12.py: a line prefix just under FAST_PATH_MAX_PREFIX,
    reached by alternating mappings and same-indented sequences, then flow nesting up to
    the parser's own limit. Run in a child process, so that a crash fails the test."""
    program = f"""
import sys, threading
sys.path.insert(0, {str(ROOT)!r})
from prompts.yaml12 import FAST_PATH_MAX_PREFIX, _fast_path_applies, load_yaml
lines = []
for indent in range(0, FAST_PATH_MAX_PREFIX - 3, 2):
    lines += [" " * indent + "a:", " " * indent + "- "]
text = "\\n".join(lines) + "[" * 250 + "]" * 250 + "\\n"
assert _fast_path_applies(text)
threading.stack_size(1024 * 1024)
result = {{}}
def load():
    data, depth = load_yaml(text), 0
    while isinstance(data, (dict, list)) and data:
        data, depth = (data["a"] if isinstance(data, dict) else data[0]), depth + 1
    result["depth"] = depth
worker = threading.Thread(target=load)
worker.start()
worker.join()
print(result["depth"])
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) > 300


@pytest.mark.parametrize("line", ["- " * 100_000, "? " * 100_000, "[" * 100_000])
def test_documents_nested_past_the_bound_are_refused_without_a_crash(line):
    program = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
from prompts.parsing import SpecError, load_document
try:
    load_document("openapi: 3.0.3\\npaths: {{}}\\nx-deep:\\n  " + {line[:2]!r} * 100_000 + "x\\n")
except SpecError as error:
    print(error)
"""
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "nest" in done.stdout
    assert FAST_PATH_MAX_PREFIX < 100_000
