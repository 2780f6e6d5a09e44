"""YAML documents loaded the way OpenAPI asks: YAML 1.2, core schema.

OpenAPI recommends YAML 1.2, whose plain scalars are JSON's: `NO` (Norway), `on`, `yes`
stay strings, `2024-01-01` stays a string (JSON has no dates), `0777` is 777. PyYAML
implements YAML 1.1, under which an `enum: [NO, SE]` of country codes loads as
`[False, "SE"]` and a date example breaks the operations' JSON.

Two loaders give the same result:
- `yaml_rs` (Rust, YAML 1.2) is the fast path: Twilio's 1.5 MB spec loads in about a
  fourteenth of PyYAML's C loader's time.
- PyYAML's C loader with YAML 1.2 core resolvers (`Yaml12Loader`) takes every document
  the fast path does not: merge keys (`<<`, which YAML 1.2 dropped), nesting the fast
  path's stack could not take, aliases past its replay budget, and anything it refuses,
  so that PyYAML's answer (or error message) is the one the user sees.

Why nesting is checked first: `yaml_rs` recurses per level on the native stack, and a
200 KB line of `- - - - …` crashed the whole process (SIGSEGV) in a test; no exception
can be caught. Block nesting needs one more indentation column or one more `-`/`?`/`:`
indicator per level (at most two levels per column), and the parser itself refuses flow
nesting past 256, so a line whose prefix of those characters is shorter than
FAST_PATH_MAX_PREFIX bounds the depth to a few hundred levels: well under 1 MB of stack.
"""

import re

import yaml
import yaml_rs

try:
    _CLoader = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _CLoader = yaml.SafeLoader

FAST_PATH_MAX_PREFIX = 128
# Aliases are copied by the fast path (PyYAML shares them), so their replay is capped
# low; a document past it is loaded by PyYAML, whose shared nodes the caller's node
# budget then counts.
FAST_PATH_MAX_REPLAYED_EVENTS = 50_000

_DEEP_LINE = re.compile(rf"^[ \t?:-]{{{FAST_PATH_MAX_PREFIX}}}", re.MULTILINE)


class Yaml12Loader(_CLoader):
    """PyYAML's safe C loader with the YAML 1.2 core schema's implicit types (and merge
    keys, which PyYAML's constructor applies and real specs sometimes use)."""

    yaml_implicit_resolvers: dict = {}


def _construct_int(loader, node):
    value = loader.construct_scalar(node)
    if value.startswith(("0o", "0x")):
        return int(value[2:], 8 if value[1] == "o" else 16)
    return int(value)  # decimal, leading zeros and all ("0777" is 777)


_CORE_RESOLVERS = (  # (tag, pattern, first characters), in the order they are tried
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    ("float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
              r"|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$", "-+.0123456789"),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("merge", r"^(?:<<)$", "<"),
)
for _tag, _pattern, _first in _CORE_RESOLVERS:
    Yaml12Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first))
Yaml12Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def _fast_path_applies(text: str) -> bool:
    return "<<" not in text and _DEEP_LINE.search(text) is None


def load_yaml(text: str):
    """The document's data; raises yaml.YAMLError (or ValueError / RecursionError) when it
    is not YAML PyYAML would load."""
    if _fast_path_applies(text):
        try:
            data = yaml_rs.loads(
                text,
                parse_datetime=False,
                alias_limits=yaml_rs.AliasLimits(max_total_replayed_events=FAST_PATH_MAX_REPLAYED_EVENTS),
                duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.LastWins,  # as PyYAML and json.loads
            )
        except yaml_rs.YAMLDecodeError:
            data = None  # PyYAML decides, and words the error
        if isinstance(data, dict):
            return data
        # Not a mapping (or several documents): rare and refused by the caller anyway,
        # with PyYAML's verdict.
    return yaml.load(text, Loader=Yaml12Loader)
