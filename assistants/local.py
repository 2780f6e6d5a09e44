"""The embedded, offline assistant: deterministic, no model.

It reads the request with `grounding` (operation kind from the verb, entity words and
ids, quoted text, names, titles, authors, `name=value`), ranks the operations in scope,
and calls the best one when every required input is filled. When an input is missing
it names the operation and the inputs and calls nothing; when nothing matches well
enough (or the request tries to override its instructions) it calls nothing.
"""

import json

from operations.ranking import rank_tools

from . import AssistantResult
from .grounding import Readers, choose
from .ranking import CANDIDATES, PRIOR_WEIGHT


def plan(tools: list, user_input: str):
    """(Choice or None, message when None): what the offline assistant would do. The
    operations ranking (Typesense, or in-process when it is behind or down) picks the
    candidates of a large registry and breaks ties; the request's words decide."""
    ranked = rank_tools(tools, user_input)
    best = max((score for score, _ in ranked), default=0) or 1
    readers = Readers(tools)
    if len(tools) > CANDIDATES:
        tools = [tool for score, tool in ranked[:CANDIDATES] if score > 0] or [tool for _, tool in ranked[:CANDIDATES]]
    priors = {tool.name: PRIOR_WEIGHT * score / best for score, tool in ranked if score > 0}
    return choose(tools, user_input, priors, readers)


def describe_missing(missing: list[str]) -> str:
    names = [f"{m.removeprefix('body.')} ({m})" if m.startswith("body.") else m for m in missing]
    return ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]


class LocalAssistant:
    model_name = "local-grounding-v2"

    def run(self, *, user_input: str, system_prompt: str, tools: list, execute) -> AssistantResult:
        choice, message = plan(tools, user_input)
        if choice is None:
            return AssistantResult(text=message, model=self.model_name)
        tool, op = choice.tool, choice.tool.operation
        if choice.missing:
            return AssistantResult(
                text=f"The best match is {op['operation_id']} on {tool.service.name}, but it needs "
                f"{describe_missing(choice.missing)}. Say them in your request (or write name=value) and ask again; "
                "I called nothing.",
                model=self.model_name,
            )
        arguments, kept = choice.arguments, []
        if choice.reader is not None:
            arguments, kept, answer = self._with_current_values(choice, execute)
            if answer is not None:
                return answer
        call = execute(tool, arguments)
        if getattr(call, "reference", None):  # held for an admin's approval: nothing was sent
            return AssistantResult(text=f"I did not call it yet: {call.summary()}", model=self.model_name)
        outcome = f"it answered HTTP {call.status}" if call.status is not None else f"the call failed ({call.error})"
        body = f": {call.text[:500]}" if call.ok and call.text else ""
        called = f"I called {op['operation_id']}"
        if choice.reader is not None:
            kept_text = f" to keep its {', '.join(kept)} as they were" if kept else ""
            called = f"I read {choice.reader.operation['operation_id']} first{kept_text}, then {called}"
        return AssistantResult(
            text=f"{called[0].upper()}{called[1:]} on {tool.service.name} ({op['method']} {op['path']}); {outcome}{body}",
            model=self.model_name,
        )

    def _with_current_values(self, choice, execute) -> tuple[dict, list[str], AssistantResult | None]:
        """Read the resource (choice.reader, the GET on the same path) and fill the body
        fields the request left out with their current values: the arguments and the
        fields kept, or the answer when that is not possible (then the update is not
        called)."""
        reader, op = choice.reader, choice.tool.operation
        wanted = reader.parameters.get("properties", {})
        read = execute(reader, {name: value for name, value in choice.arguments.items() if name in wanted})
        if getattr(read, "reference", None):
            return {}, [], AssistantResult(text=f"I did not call it yet: {read.summary()}", model=self.model_name)
        current = _json_object(read.text) if read.ok else None
        if current is None:
            outcome = f"HTTP {read.status}" if read.status is not None else read.error
            return {}, [], AssistantResult(
                text=f"To keep the fields you did not mention, I read {reader.operation['operation_id']} first and it "
                f"answered {outcome}, so I did not call {op['operation_id']}.",
                model=self.model_name,
            )
        body = dict(choice.arguments.get("body") or {})
        still_missing, kept = [], []
        for label in choice.from_current:
            name = label.removeprefix("body.")
            if current.get(name) is not None:
                body[name] = current[name]
                kept.append(name)
            elif name not in body:  # not an empty list or object the request left as is
                still_missing.append(label)
        if still_missing:
            return {}, [], AssistantResult(
                text=f"The best match is {op['operation_id']} on {choice.tool.service.name}, but it needs "
                f"{describe_missing(still_missing)}. Say them in your request (or write name=value) and ask again; "
                f"I only read {reader.operation['operation_id']}.",
                model=self.model_name,
            )
        return {**choice.arguments, "body": body}, kept, None


def _json_object(text: str) -> dict | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
