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


# --- what an assistant knows of a conversation's earlier turns (interactions builds it) ---------


@dataclass(frozen=True)
class PastCall:
    """A service call an earlier turn made: what was called, with what, and its answer."""

    service_id: str
    operation_id: str
    method: str
    arguments: dict
    status: int | None
    ok: bool
    response: str  # the answer's text (JSON as text), as the log keeps it


@dataclass(frozen=True)
class Turn:
    """One earlier turn of a conversation, oldest first in a history."""

    user_input: str
    assistant_response: str
    calls: tuple[PastCall, ...] = ()
