"""The embedded, offline assistant: deterministic, no model.

It makes a plan (assistants.planning): for each command of the request, the operation
it asks for, read by `grounding` from the request's words and the specs' (verbs, the
things named, ids of any type, quoted text, names, `name=value`), with the lookups its
inputs need when the request gives them only by name or description. It then calls the
steps in order, taking each looked-up value from the answer it came in, and says what
it did. When an input is missing it names the operation and the input and calls
nothing; when nothing matches well enough, when a write was not asked for, or when the
request tries to override its instructions, it calls nothing.
"""

import json

from operations.ranking import rank_tools

from . import AssistantResult
from .grounding import Readers, choose
from .grounding.dataflow import path_text
from .grounding.vocabulary import EMPTY, vocabulary_for
from .planning import WRITES, LookupProblem, Plan, Step, make_plan, take_value
from .ranking import CANDIDATES, PRIOR_WEIGHT

# How a call answered from its spec (nothing sent) says so: assistants.evaluation.
MADE_UP = "not sent: answered as the spec describes"


def plan(tools: list, user_input: str, vocabulary=None):
    """(Choice or None, message when None): the one operation the offline assistant
    would choose for the whole request read as one command, without lookups."""
    vocabulary = vocabulary if vocabulary is not None else scope_vocabulary(tools)
    user_input = vocabulary.rewrite(user_input)
    ranked = rank_tools(tools, user_input)
    best = max((score for score, _ in ranked), default=0) or 1
    readers = Readers(tools)
    if len(tools) > CANDIDATES:
        tools = [tool for score, tool in ranked[:CANDIDATES] if score > 0] or [tool for _, tool in ranked[:CANDIDATES]]
    priors = {tool.name: PRIOR_WEIGHT * score / best for score, tool in ranked if score > 0}
    return choose(tools, user_input, priors, readers, synonyms=vocabulary.words)


def describe_missing(missing: list[str]) -> str:
    names = [f"{m.removeprefix('body.')} ({m})" if m.startswith("body.") else m for m in missing]
    return ", ".join(names[:-1]) + (" and " if len(names) > 1 else "") + names[-1]


def scope_vocabulary(tools):
    """The aliases of the services in scope (each service's and its spec's), kept with the
    tool list while the services' vocabularies are unchanged."""
    from .selectors import service_aliases  # the database: not read by the unit tests of the reading

    aliases = service_aliases()
    cached = getattr(tools, "_vocabulary", None)
    if cached is not None and cached[0] is aliases:
        return cached[1]
    vocabulary = vocabulary_for(tools, {sid: a for sid, a in aliases.items()}) if tools else EMPTY
    try:
        tools._vocabulary = (aliases, vocabulary)
    except AttributeError:
        pass
    return vocabulary


class LocalAssistant:
    model_name = "local-grounding-v3"

    def run(self, *, user_input: str, system_prompt: str, tools: list, execute, vocabulary=None,
            index: bool = True, history: tuple = ()) -> AssistantResult:
        vocabulary = vocabulary if vocabulary is not None else scope_vocabulary(tools)
        planned = make_plan(tools, user_input, vocabulary=vocabulary, index=index, history=history)
        if not planned.steps:
            return AssistantResult(text=planned.message, model=self.model_name)
        return AssistantResult(text=_read_as(planned) + run_plan(planned, execute), model=self.model_name)


def _read_as(planned: Plan) -> str:
    """What the answer says first when the request referred to earlier turns."""
    if not planned.read_as:
        return ""
    return "I read " + ", ".join(f"“{said}” as {meant}" for said, meant in planned.read_as) + ". "


def run_plan(planned: Plan, execute) -> str:
    """Call the plan's steps in order; what the user is told. A step that cannot go on
    (a lookup that finds nothing or too much, a call held for approval, a failed call)
    ends the plan there, and the answer says why."""
    answers: list = []
    said: list[str] = []
    positions: dict[int, int] = {}  # plan step -> its call's position in the interaction
    made_up: set[int] = set()  # steps answered from the spec, not by the service (dry runs)
    made = 0
    for index, step in enumerate(planned.steps):
        try:
            arguments, sources = _arguments(step, planned.steps, answers, positions, made_up)
        except LookupProblem as problem:
            said.append(f"{_lookup_of(step, planned.steps)} {problem}, so I did not call "
                        f"{step.tool.operation['operation_id']}.")
            return _sentences(said, planned)
        if step.target and step.choice is not None and step.choice.reader is not None:
            merged = _with_current_values(step, arguments, execute)
            if isinstance(merged, str):
                said.append(merged)
                return _sentences(said, planned)
            arguments, kept, read = merged
            made += 1
            reading = (f"I read {step.choice.reader.operation['operation_id']} first"
                       + (f" to keep its {', '.join(kept)} as they were" if kept else ""))
        else:
            reading = ""
        positions[index] = made
        made += 1
        call = execute(step.tool, arguments, sources=sources) if sources else execute(step.tool, arguments)
        op = step.tool.operation
        if getattr(call, "reference", None):  # held for an admin's approval: nothing was sent
            said.append(f"I did not call {op['operation_id']} yet: {call.summary()}")
            if index < len(planned.steps) - 1:
                said.append("the steps after it wait for it")
            return _sentences(said, planned)
        where = f"{op['operation_id']} on {step.tool.service.name} ({op['method']} {op['path']})"
        if call.status is None:
            said.append(f"I called {where}; the call failed ({call.error})" if call.sent
                        else f"I did not call {where}: {call.error}")
            return _sentences(said, planned)
        taken = "".join(f", with {label} {_short(value)} taken from {origin}" for label, value, origin in _origins(sources, planned.steps))
        if not call.ok:
            said.append(f"I called {where}{taken}; it answered HTTP {call.status}: {call.text[:300]}")
            return _sentences(said, planned)
        answers.append(_json(call.text))
        if call.error.startswith(MADE_UP):
            made_up.add(index)
        if step.target:
            body = f": {call.text[:500]}" if call.text else ""
            called = f"I called {where}{taken}; it answered HTTP {call.status}{body}"
            said.append(f"{reading}, then {called}" if reading else called)
        else:
            said.append(f"I called {where} {step.why}{taken}; it answered HTTP {call.status}")
        while len(answers) <= index:
            answers.append(None)
    return _sentences(said, planned)


def _arguments(step: Step, steps: list[Step], answers: list, positions: dict, made_up: set) -> tuple[dict, dict]:
    """The step's arguments with the values its lookups found, and where each came from."""
    arguments = json.loads(json.dumps(step.arguments))
    sources = {}
    writes = step.tool.operation["method"] in WRITES
    for label, take in step.takes.items():
        answer = answers[take.step] if take.step < len(answers) else None
        value = take_value(take, answer, target_writes=writes, made_up=take.step in made_up)
        value = _typed(value, _schema_of(step.tool, label))
        if label.startswith("body."):
            arguments.setdefault("body", {})[label[5:]] = value
        else:
            arguments[label] = value
        sources[label] = {"call": positions.get(take.step, take.step), "step": take.step, "path": path_text(take.output),
                          "picked": take.pick.describe(), "value": value}
    return arguments, sources


def _schema_of(tool, label: str) -> dict:
    properties = tool.parameters.get("properties") or {}
    if label.startswith("body."):
        return ((properties.get("body") or {}).get("properties") or {}).get(label[5:]) or {}
    return properties.get(label) or {}


def _typed(value, schema: dict):
    """A found value as the input takes it: a list for an array, comma-separated text for
    a string that takes several ("ids": "a,b"), a number for a number."""
    kind = schema.get("type")
    if kind == "array":
        return value if isinstance(value, list) else [value]
    if isinstance(value, list):
        return ",".join(str(v) for v in value) if kind in (None, "string") else value[0] if value else value
    if kind == "integer" and isinstance(value, str) and value.isdigit():
        return int(value)
    if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


def _origins(sources: dict, steps: list[Step]):
    for label, source in (sources or {}).items():
        origin = steps[source["step"]].tool.operation["operation_id"]
        yield label, source["value"], f"{source['picked']} {source['path']} of {origin}'s answer"


def _lookup_of(step: Step, steps: list[Step]) -> str:
    takes = list(step.takes.values())
    if not takes:
        return "I"
    source = steps[takes[0].step]
    return f"I looked for {takes[0].what} with {source.tool.operation['operation_id']} and"


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "…"


def _json(text: str):
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None


def _sentences(said: list[str], planned: Plan) -> str:
    text = "; then ".join(said) if said else ""
    if planned.unserved:
        text += ". " + " ".join(f"I did nothing for “{c}”: no operation in scope matches it." for c in planned.unserved)
    return text[:1].upper() + text[1:] if text else text


def _with_current_values(step: Step, arguments: dict, execute):
    """Read the resource (the choice's reader, the GET on the same path) and fill the body
    fields the request left out with their current values: (arguments, fields kept,
    the read), or what to say when that is not possible (then the update is not called)."""
    choice = step.choice
    reader, op = choice.reader, step.tool.operation
    wanted = reader.parameters.get("properties", {})
    read = execute(reader, {name: value for name, value in arguments.items() if name in wanted})
    if getattr(read, "reference", None):
        return f"I did not call it yet: {read.summary()}"
    current = _json(read.text) if read.ok else None
    if not isinstance(current, dict):
        outcome = f"HTTP {read.status}" if read.status is not None else read.error
        return (f"To keep the fields you did not mention, I read {reader.operation['operation_id']} first and it "
                f"answered {outcome}, so I did not call {op['operation_id']}.")
    body = dict(arguments.get("body") or {})
    still_missing, kept = [], []
    for label in choice.from_current:
        name = label.removeprefix("body.")
        if current.get(name) is not None:
            body[name] = current[name]
            kept.append(name)
        elif name not in body:  # not an empty list or object the request left as is
            still_missing.append(label)
    if still_missing:
        return (f"The best match is {op['operation_id']} on {step.tool.service.name}, but it needs "
                f"{describe_missing(still_missing)}. Say them in your request (or write name=value) and ask again; "
                f"I only read {reader.operation['operation_id']}.")
    return {**arguments, "body": body}, kept, read
