"""Assistant backends. Each takes the user's input, the system prompt and the tools,
calls tools through `execute` (which runs and records the service call), and returns
an `AssistantResult`."""

from dataclasses import dataclass

from django.conf import settings


class AssistantError(Exception):
    """The model could not be used (unreachable, timed out, or answered nonsense)."""


@dataclass
class AssistantResult:
    text: str
    model: str = ""
    limit_reached: bool = False
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


def get_assistant():
    backend = settings.ENSEMBLE_ASSISTANT_BACKEND
    if backend == "openai":
        from .openai_backend import OpenAIAssistant

        return OpenAIAssistant()
    if backend == "local":
        from .local import LocalAssistant

        return LocalAssistant()
    raise AssistantError(f"Unknown ENSEMBLE_ASSISTANT_BACKEND {backend!r} (use 'local' or 'openai').")
