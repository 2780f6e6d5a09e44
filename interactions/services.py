"""Handling one user input: prompt, assistant, service calls, log."""

import json
import logging
import re
import time

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from rest_framework import serializers
from rest_framework.exceptions import ParseError

from assistants import AssistantError, AssistantResult, get_assistant
from assistants.evaluation import answered_from_spec
from core.errors import ApplicationError
from core.observability import current_request_id
from operations.arguments import redact
from operations.calling import CallResult, call_tool
from operations.scope import assistant_scope
from outbound.redaction import redact as redact_values
from prompts.policies import effective_policy
from search import outbox

from . import approvals, metrics
from .conversations import (
    ANSWERED_OUTCOMES,
    ConversationRefused,
    conversation_continue,
    conversation_save_new,
    conversation_start,
    held_outcomes_claim,
)
from .models import Conversation, InteractionLog, ServiceCall
from .search_index import LOGS_INDEX
from .selectors import conversation_history
from .serializers import UserInputSerializer

logger = logging.getLogger("ensemble.interactions")


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(text: str) -> str:
    """`text` as the database can store it: NUL and unpaired surrogates made visible escapes."""
    return _UNSTORABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def check_user_input(value) -> str:
    """The user's input as it must be: a non-empty string of storable text within the limit."""
    if value is None:
        raise ApplicationError("VALIDATION_ERROR", "user_input: this field is required.")
    if not isinstance(value, str):
        raise ApplicationError("VALIDATION_ERROR", "user_input: must be a string.")
    if not value.strip():
        raise ApplicationError("VALIDATION_ERROR", "user_input: must not be empty.")
    if _UNSTORABLE.search(value):
        raise ApplicationError(
            "VALIDATION_ERROR", "user_input: contains characters that are not text (NUL or unpaired surrogates)."
        )
    if len(value) > settings.ENSEMBLE_USER_INPUT_MAX_CHARS:
        raise ApplicationError(
            "VALIDATION_ERROR",
            f"user_input: at most {settings.ENSEMBLE_USER_INPUT_MAX_CHARS} characters.",
            details="The limit is set by ENSEMBLE_USER_INPUT_MAX_CHARS.",
        )
    return value


def _log(user_input, result: AssistantResult | None, calls: list[CallResult], backend, outcome, error, started,
         requested_by="", conversation: Conversation | None = None, turn: int | None = None) -> InteractionLog:
    # What a model or service sent may hold NUL or unpaired surrogates: stored (and answered) escaped.
    service_responses = [{"service_name": c.tool.service.name, "response": storable_text(c.summary())} for c in calls]
    # Secret arguments (a password the spec marks so) appear in no text of the log.
    hidden = [value for c in calls for value in c.hidden]
    user_input, answer = redact_values(user_input, hidden), (redact_values(result.text, hidden) if result else "")
    limit = settings.ENSEMBLE_SERVICE_RESPONSE_MAX_BYTES
    with transaction.atomic():
        if conversation is not None:
            conversation_save_new(conversation)  # a new conversation is written with its first log
        if conversation is not None and turn > 1 and outcome in ANSWERED_OUTCOMES:
            # What became of calls held earlier in the conversation opens the answer, told
            # once (a first turn has no earlier calls: no query).
            answer = "\n\n".join(part for part in [*held_outcomes_claim(conversation.pk), answer] if part)
        log = InteractionLog.objects.create(
            user_input=user_input,
            assistant_response=storable_text(answer),
            service_responses=service_responses,
            backend=backend,
            model=storable_text(result.model if result else "")[:200],
            outcome=outcome,
            error=storable_text(error),
            duration_ms=int((time.monotonic() - started) * 1000),
            prompt_tokens=result.prompt_tokens if result else None,
            completion_tokens=result.completion_tokens if result else None,
            request_id=current_request_id(),
            conversation=conversation,
            turn=turn,
        )
        ServiceCall.objects.bulk_create([
            ServiceCall(
                log=log, position=i, service_id=c.tool.service.id, service_name=c.tool.service.name,
                operation_id=c.tool.operation["operation_id"], spec_hash=c.tool.snapshot.content_hash,
                method=c.tool.operation["method"], url=storable_text(c.url[:2000]), request=redact(c.arguments, c.tool.parameters),
                sources=_json_safe(c.sources),
                status=c.status, ok=c.ok, response=storable_text(c.text[:limit]), response_hash=c.response_hash,
                error=storable_text(c.error), duration_ms=c.duration_ms, created_at=log.created_at,
            )
            for i, c in enumerate(calls) if not isinstance(c, approvals.HeldCall)
        ])
        approvals.approvals_record(log=log, calls=calls, requested_by=requested_by)
    return log


def _json_safe(value):
    try:
        return json.loads(storable_text(json.dumps(value, ensure_ascii=False, default=str)))
    except (TypeError, ValueError):
        return {}


def operation_execute(tool, arguments) -> CallResult:
    """One call an assistant (or an MCP client) chose: held when its operation needs an
    admin's approval (interactions.approvals), else sent through the caller's guards."""
    if approvals.needs_approval(tool):
        return approvals.hold(tool, arguments)
    call = call_tool(tool, arguments)
    metrics.service_call_observe(tool.service.id, ok=call.ok, status=call.status, duration_ms=call.duration_ms)
    return call


def interaction_record(*, user_input: str, calls: list[CallResult], backend: str, started: float,
                       outcome=InteractionLog.Outcome.ANSWERED, error: str = "", result: AssistantResult | None = None,
                       requested_by: str = "") -> InteractionLog:
    """Log an interaction with its service calls (and held approvals), in one transaction."""
    return _log(user_input, result, calls, backend, outcome, error, started, requested_by)


def interaction_log_rejected(*, raw_input, error: str, outcome: str = InteractionLog.Outcome.REJECTED,
                             backend: str | None = None, started: float | None = None,
                             conversation: Conversation | None = None) -> InteractionLog:
    """Record a refused request (bad input; for MCP, an unknown tool or bad arguments),
    or one that failed before it could be handled: every call leaves a trace."""
    text = raw_input if isinstance(raw_input, str) else ("" if raw_input is None else repr(raw_input))
    return InteractionLog.objects.create(
        # NUL and lone surrogates cannot be stored; they are why such input was refused.
        user_input=storable_text(text[: settings.ENSEMBLE_USER_INPUT_MAX_CHARS]),
        backend=backend or settings.ENSEMBLE_ASSISTANT_BACKEND,
        outcome=outcome,
        error=storable_text(error[:2000]),
        duration_ms=int((time.monotonic() - started) * 1000) if started is not None else 0,
        request_id=current_request_id(),
        conversation=conversation,
    )


def interaction_handle(*, user_input: str, requested_by: str = "", service_ids=None, converse: bool = False,
                       conversation_id: str | None = None, owner: str = "") -> tuple[InteractionLog, AssistantResult]:
    """Run one interaction and log it, whatever happens: input that is not a usable
    request is logged as rejected (400); assistant failures are logged, then raised as a
    500 ErrorResponse; service failures are part of the answer. Calls to operations that
    need approval are held, not sent (interactions.approvals).

    With `converse` the interaction is a turn of a conversation (interactions.conversations):
    the one named by `conversation_id` of the same `owner` (the API key's row; by default
    `requested_by`), else a new one; the
    assistant gets its earlier turns. A conversation that cannot take the turn is logged
    as rejected and raised (400)."""
    try:
        user_input = check_user_input(user_input)
    except ApplicationError as error:
        interaction_log_rejected(raw_input=user_input, error=error.message)
        raise
    conversation, turn, history = None, None, ()
    if converse:
        try:
            if conversation_id is None:
                conversation, turn = conversation_start(owner=owner or requested_by)
            else:
                conversation, turn = conversation_continue(conversation_id=conversation_id, owner=owner or requested_by)
        except ConversationRefused as error:
            interaction_log_rejected(raw_input=user_input, error=f"{error.error_code}: {error.message}",
                                     conversation=error.conversation)
            raise
        history = conversation_history(conversation.pk, before_turn=turn)
    started = time.monotonic()
    backend = settings.ENSEMBLE_ASSISTANT_BACKEND
    calls: list[CallResult] = []

    def execute(tool, arguments, sources=None) -> CallResult:
        calls.append(call := operation_execute(tool, arguments))
        call.sources = dict(sources or {})
        return call

    try:
        scope = assistant_scope(service_ids)
        assistant_started = time.monotonic()
        try:
            result = get_assistant().run(user_input=user_input, system_prompt=scope.prompt, tools=scope.tools, execute=execute,
                                         history=history)
        finally:
            metrics.ASSISTANT_LATENCY.labels(backend).observe(time.monotonic() - assistant_started)
    except AssistantError as error:
        metrics.ASSISTANT_CALLS.labels(backend, "failed").inc()
        logger.warning("assistant failed: %s", error, extra={"backend": backend})
        log = _log(user_input, None, calls, backend, InteractionLog.Outcome.ASSISTANT_FAILED, str(error), started, requested_by,
                   conversation, turn)
        raise ApplicationError(
            "ASSISTANT_FAILED", "The assistant could not answer.", details=f"{error} (log {log.pk})", status=500
        ) from error
    except Exception as error:  # whatever broke, the attempt is logged, then a 500
        logger.exception("interaction failed")
        log = _log(user_input, None, calls, backend, InteractionLog.Outcome.FAILED, f"{type(error).__name__}: {error}", started,
                   requested_by, conversation, turn)
        raise ApplicationError(
            "INTERNAL_ERROR", "The server failed to handle the request.", details=f"The error was logged (log {log.pk}).",
            status=500,
        ) from error
    outcome = _outcome(result, calls)
    metrics.ASSISTANT_CALLS.labels(backend, outcome).inc()
    result.text = approvals.with_notice(result.text, calls)
    log = _log(user_input, result, calls, backend, outcome, "", started, requested_by, conversation, turn)
    return log, result


def _outcome(result: AssistantResult, calls: list[CallResult]) -> str:
    """Answered; or the assistant's round limit reached; or calls were chosen and none
    succeeded (a missing secret, an unreachable service): not an answer to be counted as one.
    A call held for approval has not failed."""
    if result.limit_reached:
        return InteractionLog.Outcome.LIMIT_REACHED
    if calls and not any(c.ok or getattr(c, "reference", None) for c in calls):
        return InteractionLog.Outcome.CALLS_FAILED
    return InteractionLog.Outcome.ANSWERED


def interaction_submit(*, read_body, requested_by: str = "", owner: str = "") -> InteractionLog:
    """POST /interact from its raw body: `read_body()` parses it (a body that cannot be
    parsed, or is too large, is refused here), its shape is checked once (a JSON object
    with only known fields, `user_input` a string), then interaction_handle checks the
    text and runs it as a turn of the conversation `conversation_id` names (or of a new
    one). Every refusal is logged as rejected, every failure as failed."""
    raw = None
    try:
        data = read_body()
        raw = data.get("user_input") if isinstance(data, dict) else data
        payload = UserInputSerializer(data=data)
        payload.is_valid(raise_exception=True)
    except (serializers.ValidationError, ParseError, RequestDataTooBig) as error:
        interaction_log_rejected(raw_input=raw, error=str(error))
        raise
    try:
        log, _ = interaction_handle(user_input=payload.validated_data.get("user_input"), requested_by=requested_by,
                                    converse=True, conversation_id=payload.validated_data.get("conversation_id"),
                                    owner=owner or requested_by)
    except ApplicationError:
        raise  # logged by interaction_handle
    except Exception as error:  # failed before it could be logged: logged now, then the handler's 500
        interaction_log_rejected(raw_input=raw, error=f"{type(error).__name__}: {error}", outcome=InteractionLog.Outcome.FAILED)
        raise
    return log


def interaction_dry_run(*, user_input: str, service_ids=None) -> tuple[AssistantResult, list[tuple]]:
    """What the assistant would call for `user_input`, sending nothing and logging
    nothing: (its answer, [(tool, arguments, policy)]). Every chosen call is answered
    with "not sent" (a model backend then answers from that)."""
    user_input = check_user_input(user_input)
    chosen = []

    def execute(tool, arguments, sources=None) -> CallResult:
        # Nothing is sent: reads are answered as their spec describes, so a plan of several
        # calls shows every step it would make.
        chosen.append((tool, arguments, effective_policy(tool.service, tool.operation)))
        return answered_from_spec(tool, arguments)

    scope = assistant_scope(service_ids)
    try:
        result = get_assistant().run(user_input=user_input, system_prompt=scope.prompt, tools=scope.tools, execute=execute)
    except AssistantError as error:
        raise ApplicationError("ASSISTANT_FAILED", "The assistant could not answer.", details=str(error), status=500) from error
    return result, chosen


def logs_prune(*, older_than, batch_size: int = 1000) -> int:
    """Delete interaction logs (and their service calls) created before `older_than`,
    and whole conversations whose latest turn started before it: a conversation goes
    with all its logs, in one transaction, or stays whole (its early turns are kept while
    it is still in use).

    Batches keep each transaction short; each batch's deletions are enqueued for the
    search worker in the same transaction, so Typesense drops exactly what the database
    dropped, even if the command is interrupted. Returns the number of logs deleted."""
    deleted = 0
    while True:  # logs outside conversations
        with transaction.atomic():
            ids = list(
                InteractionLog.objects.filter(created_at__lt=older_than, conversation__isnull=True)
                .order_by("id").values_list("id", flat=True)[:batch_size]
            )
            if not ids:
                break
            _logs_delete(ids)
        deleted += len(ids)
    while True:  # whole conversations, a few at a time (each at most its turns and refusals)
        with transaction.atomic():
            conversations = list(Conversation.objects.filter(last_turn_at__lt=older_than).order_by("last_turn_at", "id")
                                 .values_list("id", flat=True)[: max(1, batch_size // 20)])
            if not conversations:
                return deleted
            ids = list(InteractionLog.objects.filter(conversation_id__in=conversations).values_list("id", flat=True))
            _logs_delete(ids)
            Conversation.objects.filter(id__in=conversations).delete()
        deleted += len(ids)


def _logs_delete(ids: list[int]) -> None:
    ServiceCall.objects.filter(log_id__in=ids).delete()
    InteractionLog.objects.filter(id__in=ids).delete()
    outbox.enqueue(LOGS_INDEX.name, ids)
