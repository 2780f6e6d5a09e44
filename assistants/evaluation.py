"""Routing evaluation: which operation the offline assistant picks for each request of
a JSON-lines file ({"input": ..., "operation": operationId or null}), without calling
anything. `manage.py routing_eval` and the routing test share it."""

import json
from dataclasses import dataclass

from .local import plan


@dataclass
class RoutingRow:
    input: str
    expected: str | None
    chosen: str | None
    arguments: dict
    missing: list[str]
    from_current: str = ""  # "author from getScriptById": filled by reading the resource first

    @property
    def verdict(self) -> str:
        if self.expected is None:
            return "ok" if self.chosen is None else "WRONG (called something)"
        if self.chosen != self.expected:
            return "WRONG"
        return "asks" if self.missing else "ok"


def read_cases(path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def evaluate(cases: list[dict], tools: list) -> list[RoutingRow]:
    rows = []
    for case in cases:
        choice, _ = plan(tools, case["input"])
        rows.append(RoutingRow(
            input=case["input"], expected=case.get("operation"),
            chosen=choice.tool.operation["operation_id"] if choice else None,
            arguments=choice.arguments if choice else {}, missing=choice.missing if choice else [],
            from_current=(f"{', '.join(m.removeprefix('body.') for m in choice.from_current)} from "
                          f"{choice.reader.operation['operation_id']}") if choice and choice.reader else "",
        ))
    return rows


def totals(rows: list[RoutingRow]) -> dict:
    in_scope = [r for r in rows if r.expected is not None]
    return {
        "in_scope": len(in_scope),
        "called_right": sum(r.verdict == "ok" for r in in_scope),
        "asked_right": sum(r.verdict == "asks" for r in in_scope),
        "wrong": sum(r.verdict.startswith("WRONG") for r in rows),
        "out_of_scope": len(rows) - len(in_scope),
        "out_of_scope_quiet": sum(r.verdict == "ok" for r in rows if r.expected is None),
    }


def format_table(rows: list[RoutingRow]) -> str:
    lines = []
    for i, r in enumerate(rows, 1):
        chosen = r.chosen or "-"
        detail = f"missing: {', '.join(r.missing)}" if r.missing else json.dumps(r.arguments, ensure_ascii=False)
        if r.from_current:
            detail += f" + {r.from_current}"
        lines.append(f"{i:>3} {r.verdict:<7} {chosen:<24} {r.input[:60]:<60} {detail[:160]}")
    t = totals(rows)
    lines.append(
        f"in scope {t['in_scope']}: called right {t['called_right']}, asked (right operation) {t['asked_right']}; "
        f"wrong {t['wrong']}; out of scope {t['out_of_scope']}: quiet {t['out_of_scope_quiet']}"
    )
    return "\n".join(lines)
