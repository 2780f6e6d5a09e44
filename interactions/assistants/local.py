"""The embedded, offline assistant: deterministic, no model.

It reads the request with `grounding` (operation kind from the verb, entity words and
ids, quoted text, names, titles, authors, `name=value`), ranks the operations in scope,
and calls the best one when every required input is filled. When an input is missing
it names the operation and the inputs and calls nothing; when nothing matches well
enough (or the request tries to override its instructions) it calls nothing.
"""

from ..tools import rank_tools
from . import AssistantResult
from .grounding import choose, mark_head, read_request, score_operation

# How much a Typesense rank adds to the in-process score: it breaks ties, it does not
# overrule the words of the request.
_PRIOR_WEIGHT = 0.5
# Beyond this many operations only the ranking's best are read closely.
_CANDIDATES = 60


def plan(tools: list, user_input: str):
    """(Choice or None, message when None): what the offline assistant would do. The
    operations ranking (Typesense, or in-process when it is behind or down) picks the
    candidates of a large registry and breaks ties; the request's words decide."""
    ranked = rank_tools(tools, user_input)
    best = max((score for score, _ in ranked), default=0) or 1
    if len(tools) > _CANDIDATES:
        tools = [tool for score, tool in ranked[:_CANDIDATES] if score > 0] or [tool for _, tool in ranked[:_CANDIDATES]]
    priors = {tool.name: _PRIOR_WEIGHT * score / best for score, tool in ranked if score > 0}
    return choose(tools, user_input, priors)


def rank_for_request(tools: list, user_input: str) -> list:
    """All `tools`, the ones the request most likely means first: the offline
    assistant's reading of the request over the ranking's candidates, then the rest of
    the ranking."""
    ranked = rank_tools(tools, user_input)
    best = max((score for score, _ in ranked), default=0) or 1
    request = read_request(user_input)
    mark_head(request, [tool for _, tool in ranked[:_CANDIDATES]])
    # A model fills inputs itself: missing ones weigh little here.
    scored = sorted(
        ((score_operation(tool, request, _PRIOR_WEIGHT * score / best, missing_weight=0.25).score, -i, tool)
         for i, (score, tool) in enumerate(ranked[:_CANDIDATES])),
        key=lambda item: (item[0], item[1]), reverse=True,
    )
    return [tool for _, _, tool in scored] + [tool for _, tool in ranked[_CANDIDATES:]]


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
        call = execute(tool, choice.arguments)
        if getattr(call, "reference", None):  # held for an admin's approval: nothing was sent
            return AssistantResult(text=f"I did not call it yet: {call.summary()}", model=self.model_name)
        outcome = f"it answered HTTP {call.status}" if call.status is not None else f"the call failed ({call.error})"
        body = f": {call.text[:500]}" if call.ok and call.text else ""
        return AssistantResult(
            text=f"I called {op['operation_id']} on {tool.service.name} ({op['method']} {op['path']}); {outcome}{body}",
            model=self.model_name,
        )
