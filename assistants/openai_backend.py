"""Chat Completions with tool calling, through the OpenAI SDK, against any
OpenAI-compatible endpoint (OPENAI_BASE_URL)."""

import json
from functools import lru_cache

from django.conf import settings
from openai.types.chat import ChatCompletion

from operations.tools import tool_name

from . import AssistantError, AssistantResult, Turn
from .ranking import rank_for_request

API_MAX_TOOLS = 128  # the API's limit on tools per request
SEARCH_TOOL = "search_operations"
SEARCH_RESULTS = 8


# What the tool definitions of one request may take (tokens, at 4 characters each);
# the best-ranked tool is always offered.
TOOL_TOKEN_BUDGET = 3600
_DESCRIPTION_CHARS = 80


def tool_spec(tool) -> dict:
    return {"type": "function", "function": {"name": tool.name, "description": tool.description, "parameters": tool.parameters}}


def _compact(schema, depth=0):
    """A schema without what a model does not need to call the operation: long
    descriptions cut, examples and vendor extensions dropped, deep nesting summarised."""
    if isinstance(schema, list):
        return [_compact(item, depth) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if depth > 6:
        return {"type": schema.get("type", "object")} if isinstance(schema.get("type"), str) else {}
    result = {}
    for key, value in schema.items():
        if key in ("example", "examples", "deprecated", "readOnly", "writeOnly", "title") or key.startswith("x-"):
            continue
        if key == "description" and isinstance(value, str):
            result[key] = value if len(value) <= _DESCRIPTION_CHARS else value[: _DESCRIPTION_CHARS - 1] + "…"
        elif key == "enum" and isinstance(value, list) and len(value) > 20:
            result[key] = value[:20]  # a cut enum still validates what the model sends (checked against the full one)
        elif key == "properties" and isinstance(value, dict):
            result[key] = {name: _compact(sub, depth + 1) for name, sub in value.items()}
        else:
            result[key] = _compact(value, depth + 1)
    return result


def compact_tool_spec(tool) -> dict:
    return {"type": "function", "function": {"name": tool.name, "description": tool.description[:200],
                                             "parameters": _compact(tool.parameters)}}


def _tokens(spec) -> int:
    return len(json.dumps(spec, ensure_ascii=False)) // 4 + 1


def search_tool_spec() -> dict:
    return {"type": "function", "function": {
        "name": SEARCH_TOOL,
        "description": "Find other service operations by words (what you want to do and to what). The operations "
                       "found become callable tools in the next round.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string", "maxLength": 500}},
                       "required": ["query"], "additionalProperties": False},
    }}


def offered_tools(tools: list, user_input: str) -> tuple[list, bool]:
    """The tools of the first round, and whether `search_operations` is offered too:
    every tool when they fit ENSEMBLE_ASSISTANT_MAX_TOOLS, else the best-ranked."""
    limit = min(settings.ENSEMBLE_ASSISTANT_MAX_TOOLS, API_MAX_TOOLS - 1)
    if len(tools) <= limit:
        return tools, False
    return [tool for _, tool in rank_for_request(tools, user_input)[:limit]], True


def first_round_specs(tools: list, user_input: str) -> tuple[list, list[dict], bool]:
    """(tools offered, their definitions, search offered). With more tools than the
    limit, definitions are compacted and kept within TOOL_TOKEN_BUDGET, best first."""
    offered, searchable = offered_tools(tools, user_input)
    if not searchable:
        return offered, [tool_spec(t) for t in offered], False
    kept, specs, used = [], [], _tokens(search_tool_spec())
    for tool in offered:
        spec = compact_tool_spec(tool)
        size = _tokens(spec)
        if kept and used + size > TOOL_TOKEN_BUDGET:
            continue  # a smaller one further down may still fit
        kept.append(tool)
        specs.append(spec)
        used += size
    return kept, specs + [search_tool_spec()], True


# --- the earlier turns of a conversation, as messages ---------------------------------------

# A tool result of an earlier turn shortened to this many characters, when the history is
# over its budget, before whole turns are dropped.
SHORTENED_RESULT_CHARS = 200


def message_tokens(messages: list[dict]) -> int:
    """Tokens of messages, estimated as the rest of this module does: 4 characters each."""
    return sum(_tokens(message) for message in messages)


def turn_messages(turn: Turn, number: int, *, shorten: bool = False) -> list[dict]:
    """One earlier turn as Chat Completions messages: the user's input, the calls made
    (an assistant message with tool_calls, then one tool message per call with its
    answer as the log keeps it) and the answer. `shorten` cuts each answer of a call to
    SHORTENED_RESULT_CHARS, saying how long it was."""
    messages = [{"role": "user", "content": turn.user_input}]
    if turn.calls:
        ids = [f"turn{number}_call{i}" for i in range(len(turn.calls))]
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": call_id, "type": "function", "function": {
                "name": tool_name(call.service_id, call.operation_id),
                "arguments": json.dumps(call.arguments, ensure_ascii=False)}}
            for call_id, call in zip(ids, turn.calls, strict=True)
        ]})
        for call_id, call in zip(ids, turn.calls, strict=True):
            body = call.response
            if shorten and len(body) > SHORTENED_RESULT_CHARS:
                body = f"{body[:SHORTENED_RESULT_CHARS]}… (shortened; {len(call.response)} characters)"
            result = {"ok": call.ok, "status": call.status, "body": body}
            messages.append({"role": "tool", "tool_call_id": call_id, "content": json.dumps(result, ensure_ascii=False)})
    messages.append({"role": "assistant", "content": turn.assistant_response})
    return messages


def history_messages(history: tuple[Turn, ...], budget: int) -> list[dict]:
    """The earlier turns (oldest first) as messages within `budget` tokens
    (ENSEMBLE_CONVERSATION_HISTORY_TOKENS): first the answers of calls are shortened,
    oldest turn first, then whole turns are dropped, oldest first, until the rest fits.
    A turn is kept or dropped whole, so every tool message follows its tool call."""
    if budget <= 0 or not history:
        return []
    turns = [turn_messages(turn, number) for number, turn in enumerate(history, start=1)]
    sizes = [message_tokens(messages) for messages in turns]
    for index, turn in enumerate(history):
        if sum(sizes) <= budget:
            break
        turns[index] = turn_messages(turn, index + 1, shorten=True)
        sizes[index] = message_tokens(turns[index])
    first = 0
    while first < len(turns) and sum(sizes[first:]) > budget:
        first += 1
    return [message for messages in turns[first:] for message in messages]


@lru_cache(maxsize=4)
def _client(api_key: str, base_url: str | None, timeout: float, max_retries: int):
    """One SDK client (and its connection pool and TLS context) per configuration:
    building one costs tens of milliseconds."""
    import openai

    return openai.OpenAI(api_key=api_key, base_url=base_url, timeout=timeout, max_retries=max_retries)


class OpenAIAssistant:
    def __init__(self):
        import openai

        self._openai = openai
        self.model = settings.OPENAI_MODEL
        self.client = _client(
            settings.OPENAI_API_KEY or "not-set",
            settings.OPENAI_BASE_URL or None,
            settings.OPENAI_TIMEOUT_SECONDS,
            settings.OPENAI_MAX_RETRIES,
        )

    def run(self, *, user_input: str, system_prompt: str, tools: list, execute, history: tuple = ()) -> AssistantResult:
        all_tools = tools
        tools, specs, searchable = first_round_specs(all_tools, user_input)
        by_name = {tool.name: tool for tool in tools}
        messages = [{"role": "system", "content": system_prompt},
                    *history_messages(history, settings.ENSEMBLE_CONVERSATION_HISTORY_TOKENS),
                    {"role": "user", "content": user_input}]
        result = AssistantResult(text="", model=self.model, prompt_tokens=0, completion_tokens=0)
        calls_left = settings.ENSEMBLE_ASSISTANT_MAX_CALLS
        for _round in range(settings.ENSEMBLE_ASSISTANT_MAX_ROUNDS):
            try:
                kwargs = {"model": self.model, "messages": messages}
                if specs:
                    kwargs["tools"] = specs
                # The SDK's client, retries, errors and response types, without its
                # parameter transform: our payload is plain JSON already, and the
                # transform walks every message and tool schema (~8 ms an interaction).
                completion = self.client.post("/chat/completions", cast_to=ChatCompletion, body=kwargs)
                message = completion.choices[0].message
            except self._openai.APIError as error:
                raise AssistantError(f"The model endpoint failed: {type(error).__name__}: {error}") from error
            except (AttributeError, IndexError, TypeError, ValueError) as error:
                raise AssistantError(f"The model endpoint answered something that is not a chat completion: {error}") from error
            usage = getattr(completion, "usage", None)
            if usage is not None:
                result.prompt_tokens += usage.prompt_tokens or 0
                result.completion_tokens += usage.completion_tokens or 0
            result.model = getattr(completion, "model", None) or self.model
            tool_calls = message.tool_calls or []
            if not tool_calls:
                result.text = message.content or ""
                return result
            messages.append({
                "role": "assistant",
                "content": message.content,
                "tool_calls": [
                    {"id": c.id, "type": "function", "function": {"name": c.function.name, "arguments": c.function.arguments}}
                    for c in tool_calls
                ],
            })
            for call in tool_calls:
                if searchable and call.function.name == SEARCH_TOOL:
                    content = self._search(call, all_tools, by_name, specs)
                else:
                    content = self._run_tool(call, by_name, execute, calls_left)
                    calls_left -= 1
                messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
        result.limit_reached = True
        result.text = (
            f"I stopped after {settings.ENSEMBLE_ASSISTANT_MAX_ROUNDS} rounds of service calls without a final answer."
        )
        return result

    @staticmethod
    def _search(call, all_tools, by_name, specs) -> str:
        """Operations matching the model's words, added to the tools of the next rounds."""
        try:
            query = str(json.loads(call.function.arguments or "{}").get("query") or "")[:500]
        except (json.JSONDecodeError, AttributeError):
            return json.dumps({"ok": False, "error": "arguments must be a JSON object with 'query'"})
        found = [tool for _, tool in rank_for_request(all_tools, query)[:SEARCH_RESULTS]] if query.strip() else []
        for tool in found:
            if tool.name not in by_name and len(specs) < API_MAX_TOOLS:
                by_name[tool.name] = tool
                specs.append(compact_tool_spec(tool))
        return json.dumps({"ok": True, "operations": [
            {"tool": t.name, "description": t.description} for t in found if t.name in by_name
        ]})

    @staticmethod
    def _run_tool(call, by_name, execute, calls_left) -> str:
        if calls_left <= 0:
            return json.dumps({"ok": False, "error": "call limit reached; answer with what you have"})
        tool = by_name.get(call.function.name)
        if tool is None:
            return json.dumps({"ok": False, "error": f"unknown tool {call.function.name!r}; use only the listed tools"})
        try:
            arguments = json.loads(call.function.arguments or "{}")
        except json.JSONDecodeError as error:
            return json.dumps({"ok": False, "error": f"arguments are not valid JSON: {error}"})
        return execute(tool, arguments).for_model()
