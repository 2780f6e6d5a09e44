"""Chat Completions with tool calling, through the OpenAI SDK, against any
OpenAI-compatible endpoint (OPENAI_BASE_URL)."""

import json
from functools import lru_cache

from django.conf import settings
from openai.types.chat import ChatCompletion

from . import AssistantError, AssistantResult
from ..tools import rank_tools

MAX_TOOLS = 128  # the API's limit on tools per request


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

    def run(self, *, user_input: str, system_prompt: str, tools: list, execute) -> AssistantResult:
        if len(tools) > MAX_TOOLS:  # keep the most relevant for this input
            tools = [tool for _, tool in rank_tools(tools, user_input)[:MAX_TOOLS]]
        by_name = {tool.name: tool for tool in tools}
        specs = [
            {"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.parameters}}
            for t in tools
        ]
        messages = [{"role": "system", "content": system_prompt}, {"role": "user", "content": user_input}]
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
                content = self._run_tool(call, by_name, execute, calls_left)
                calls_left -= 1
                messages.append({"role": "tool", "tool_call_id": call.id, "content": content})
        result.limit_reached = True
        result.text = (
            f"I stopped after {settings.ENSEMBLE_ASSISTANT_MAX_ROUNDS} rounds of service calls without a final answer."
        )
        return result

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
