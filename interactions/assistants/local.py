"""The embedded, offline assistant: deterministic, no model.

It ranks the operations in scope by word overlap with the input, fills the required
inputs it can read from the text (`name=value` or `name: value`, a number for a single
numeric input, a quoted string for a single text input), calls the best operation if
every required input is filled, and says in plain words what it called and what came
back. It does not understand language: it matches words. When nothing matches, or a
required input is missing from the text, it says so and calls nothing.
"""

import re

from . import AssistantResult
from ..tools import rank_tools

_ASSIGNMENT = r"(?:^|[\s,;(]){name}\s*[=:]\s*(\"[^\"]*\"|'[^']*'|[^\s,;)]+)"


def _coerce(value: str, schema: dict):
    kind = schema.get("type")
    if kind == "integer" and re.fullmatch(r"-?\d+", value):
        return int(value)
    if kind == "number" and re.fullmatch(r"-?\d+(\.\d+)?", value):
        return float(value)
    if kind == "boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _read_value(name: str, schema: dict, text: str, single: bool):
    match = re.search(_ASSIGNMENT.format(name=re.escape(name)), text, re.IGNORECASE)
    if match:
        return _coerce(match.group(1).strip("\"'"), schema)
    if single and schema.get("type") in ("integer", "number"):
        numbers = re.findall(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])", text)
        if len(numbers) == 1:
            return _coerce(numbers[0], schema)
    if single and schema.get("type") in (None, "string"):
        quoted = re.findall(r"\"([^\"]+)\"", text)
        if len(quoted) == 1:
            return quoted[0]
    return None


def fill_arguments(tool, text: str) -> tuple[dict, list[str]]:
    """Arguments for `tool` read from `text`, and the required inputs still missing."""
    schema = tool.parameters
    properties = schema.get("properties", {})
    arguments, missing = {}, []
    required = list(schema.get("required", []))
    for name in required:
        if name == "body":
            body_schema = properties["body"]
            body_required = body_schema.get("required", [])
            body = {}
            for field_name in body_required:
                value = _read_value(field_name, body_schema.get("properties", {}).get(field_name, {}), text, len(body_required) == 1)
                if value is None:
                    missing.append(f"body.{field_name}")
                else:
                    body[field_name] = value
            arguments["body"] = body
            continue
        value = _read_value(name, properties.get(name, {}), text, len(required) == 1)
        if value is None:
            missing.append(name)
        else:
            arguments[name] = value
    for name, sub in properties.items():  # optional inputs written as name=value
        if name not in required and name != "body":
            match = re.search(_ASSIGNMENT.format(name=re.escape(name)), text, re.IGNORECASE)
            if match:
                arguments[name] = _coerce(match.group(1).strip("\"'"), sub)
    return arguments, missing


_VERBS = {
    "GET": {"get", "show", "list", "find", "read", "fetch", "which", "what", "who"},
    "POST": {"create", "add", "record", "new", "make", "register", "perform", "start"},
    "PUT": {"update", "change", "replace", "rename", "set"},
    "PATCH": {"update", "change", "edit", "set"},
    "DELETE": {"delete", "remove", "drop", "cancel"},
}


class LocalAssistant:
    model_name = "local-keyword-v1"
    candidates = 5

    def run(self, *, user_input: str, system_prompt: str, tools: list, execute) -> AssistantResult:
        ranked = [(score, tool) for score, tool in rank_tools(tools, user_input) if score > 0]
        if not ranked:
            return AssistantResult(
                text="I found no service operation that matches your request, so I called nothing.",
                model=self.model_name,
            )
        verbs = set(re.findall(r"[a-z]+", user_input.lower()))
        candidates = []
        for order, (score, tool) in enumerate(ranked[: self.candidates]):
            arguments, missing = fill_arguments(tool, user_input)
            # Prefer the operation whose verb the user used, then the one that uses more
            # of what the user wrote (a filled id beats a plain listing).
            key = score + (2 if verbs & _VERBS.get(tool.operation["method"], set()) else 0)
            key += 0 if missing else len(arguments)
            candidates.append((key, -order, tool, arguments, missing))
        _, _, tool, arguments, missing = max(candidates, key=lambda item: (item[0], item[1]))
        if not missing:
            call = execute(tool, arguments)
            if getattr(call, "reference", None):  # held for an admin's approval: nothing was sent
                return AssistantResult(text=f"I did not call it yet: {call.summary()}", model=self.model_name)
            outcome = f"it answered HTTP {call.status}" if call.status is not None else f"the call failed ({call.error})"
            body = f": {call.text[:500]}" if call.ok and call.text else ""
            return AssistantResult(
                text=f"I called {tool.operation['operation_id']} on {tool.service.name} "
                f"({tool.operation['method']} {tool.operation['path']}); {outcome}{body}",
                model=self.model_name,
            )
        return AssistantResult(
            text=f"The best match is {tool.operation['operation_id']} on {tool.service.name}, but it needs "
            f"{', '.join(missing)}. Write them as name=value and ask again; I called nothing.",
            model=self.model_name,
        )
