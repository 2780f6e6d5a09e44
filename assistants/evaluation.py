"""Routing evaluation: what the offline assistant calls for each request of a JSON-lines
file, sending nothing. Each line is {"input": …, "operation": operationId or null} (the
operation that serves it; null: nothing may be called), optionally with "solution": the
whole chain of calls in order. Reads and writes alike are answered as their spec
describes (`answered_from_spec`), so a plan of several calls runs to its end with
values of the right shape. `manage.py routing_eval` and the routing tests share it.

Per request: the calls made, whether the first is the gold chain's first, whether the
whole gold chain was called in order, and any write the gold chain does not make."""

import itertools
import json
from dataclasses import dataclass, field

from operations.calling import CallResult

from .local import MADE_UP, LocalAssistant

WRITES = {"POST", "PUT", "PATCH", "DELETE"}


# --- answers made from a spec ------------------------------------------------------------------


def answered_from_spec(tool, arguments) -> CallResult:
    """A call that was not sent, answered with a value of the operation's response
    schema (three items in every list, distinct ids), so what a plan takes from it has
    the right shape."""
    op = tool.operation
    counter = itertools.count(1)
    answer = synthesize(op.get("response") or {}, "", counter, depth=0)
    status = 201 if op["method"] == "POST" else 200
    return CallResult(tool, arguments, ok=True, status=status, text=json.dumps(answer if answer is not None else {}),
                      error=MADE_UP)


def synthesize(shape: dict, name: str, counter, depth: int):
    kind = shape.get("type") or ("object" if shape.get("properties") else "array" if shape.get("items") else "string")
    if depth > 8:
        return None
    if kind == "object":
        return {key: synthesize(sub or {}, key, counter, depth + 1) for key, sub in (shape.get("properties") or {}).items()}
    if kind == "array":
        return [synthesize(shape.get("items") or {}, name, counter, depth + 1) for _ in range(3)]
    n = next(counter)
    if kind == "integer":
        return n
    if kind == "number":
        return n + 0.5
    if kind == "boolean":
        return True
    if shape.get("format") in ("date", "date-time"):
        return f"2024-01-{n % 28 + 1:02d}" + ("T12:00:00Z" if shape["format"] == "date-time" else "")
    return f"{name or 'value'}-{n}"


# --- evaluating a set --------------------------------------------------------------------------------


@dataclass
class RoutingRow:
    input: str
    expected: list[str]  # the gold chain; [] = nothing may be called
    calls: list[str] = field(default_factory=list)  # operationIds called, in order
    writes: list[str] = field(default_factory=list)  # the calls that change data
    answer: str = ""
    arguments: list[dict] = field(default_factory=list)
    chain_given: bool = False  # the set gives whole chains ("solution"), not one operation

    @property
    def first_right(self) -> bool:
        if not self.expected:
            return not self.calls
        return bool(self.calls) and self.calls[0] == self.expected[0]

    @property
    def chain_right(self) -> bool:
        return self.calls == self.expected

    @property
    def target_right(self) -> bool:
        """For a set of single operations: the expected one is called last (an update may
        read the resource first)."""
        if not self.expected:
            return not self.calls
        return bool(self.calls) and self.calls[-1] == self.expected[-1]

    @property
    def wrong_writes(self) -> list[str]:
        return [w for w in self.writes if w not in self.expected]

    @property
    def verdict(self) -> str:
        if self.wrong_writes:
            return "WRONG WRITE"
        right = self.chain_right if self.chain_given else self.target_right
        if right:
            return "ok"
        if not self.calls:
            return "nothing" if self.expected else "ok"
        return "first ok" if self.first_right else "WRONG"


def read_cases(path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def evaluate(cases: list[dict], tools, *, vocabulary=None) -> list[RoutingRow]:
    rows = []
    assistant = LocalAssistant()
    for case in cases:
        chain = case.get("solution")
        expected = list(chain) if chain else ([case["operation"]] if case.get("operation") else [])
        row = RoutingRow(input=case["input"], expected=expected, chain_given=bool(chain))

        def execute(tool, arguments, sources=None, row=row):
            op = tool.operation
            row.calls.append(op["operation_id"])
            row.arguments.append(arguments)
            if op["method"] in WRITES:
                row.writes.append(op["operation_id"])
            return answered_from_spec(tool, arguments)

        result = assistant.run(user_input=case["input"], system_prompt="", tools=tools, execute=execute,
                               vocabulary=vocabulary)
        row.answer = result.text
        rows.append(row)
    return rows


def totals(rows: list[RoutingRow]) -> dict:
    in_scope = [r for r in rows if r.expected]
    chains = [r for r in in_scope if r.chain_given]
    return {
        "requests": len(rows),
        "in_scope": len(in_scope),
        "first_right": sum(r.first_right for r in in_scope),
        "chain_right": sum(r.chain_right for r in chains),
        "chains": len(chains),
        "target_right": sum(r.target_right for r in in_scope),
        "wrong_writes": sum(bool(r.wrong_writes) for r in rows),
        "nothing_called": sum(not r.calls for r in in_scope),
        "out_of_scope": len(rows) - len(in_scope),
        "out_of_scope_quiet": sum(not r.calls for r in rows if not r.expected),
    }


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.0f}%)" if whole else f"{part}/0"


def format_totals(rows: list[RoutingRow]) -> str:
    t = totals(rows)
    parts = [f"first call right {_share(t['first_right'], t['in_scope'])}"]
    if t["chains"]:
        parts.append(f"whole chain right {_share(t['chain_right'], t['chains'])}")
    else:
        parts.append(f"the expected operation called {_share(t['target_right'], t['in_scope'])}")
    parts.append(f"wrong writes {t['wrong_writes']}")
    parts.append(f"nothing called {t['nothing_called']}")
    if t["out_of_scope"]:
        parts.append(f"out of scope {t['out_of_scope']}: quiet {t['out_of_scope_quiet']}")
    return f"{t['requests']} requests: " + "; ".join(parts)


def format_table(rows: list[RoutingRow]) -> str:
    lines = []
    for i, r in enumerate(rows, 1):
        calls = " > ".join(r.calls) or "-"
        detail = "" if r.verdict == "ok" or not r.expected else f"  (gold: {' > '.join(r.expected)})"
        lines.append(f"{i:>3} {r.verdict:<11} {r.input[:60]:<60} {calls[:120]}{detail}")
        if r.calls and not r.chain_given and r.arguments:
            lines[-1] += f" {json.dumps(r.arguments[-1], ensure_ascii=False)[:120]}"
        elif not r.calls:
            lines[-1] += f"  {r.answer[:120]}"
    lines.append(format_totals(rows))
    return "\n".join(lines)
