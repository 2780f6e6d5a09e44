"""Handling one user input: prompt, assistant, service calls, log."""

import logging
import time

from django.conf import settings
from django.db import transaction

from ensemble_project import metrics
from ensemble_project.errors import ApplicationError
from ensemble_project.observability import current_request_id
from prompts.rendering import render_system_prompt_cached
from prompts.services import snapshot_for
from registry.models import Service

from .assistants import AssistantError, AssistantResult, get_assistant
from .caller import CallResult, call_tool, redact
from .models import InteractionLog, ServiceCall
from .tools import build_tools

logger = logging.getLogger("ensemble.interactions")


def validate_user_input(value) -> str:
    if value is None:
        raise ApplicationError("VALIDATION_ERROR", "user_input: this field is required.")
    if not isinstance(value, str):
        raise ApplicationError("VALIDATION_ERROR", "user_input: must be a string.")
    if not value.strip():
        raise ApplicationError("VALIDATION_ERROR", "user_input: must not be empty.")
    if len(value) > settings.ENSEMBLE_USER_INPUT_MAX_CHARS:
        raise ApplicationError(
            "VALIDATION_ERROR",
            f"user_input: at most {settings.ENSEMBLE_USER_INPUT_MAX_CHARS} characters.",
            details="The limit is set by ENSEMBLE_USER_INPUT_MAX_CHARS.",
        )
    return value


def _services_in_scope() -> list[tuple]:
    """Every registered service with a usable spec. A few never-fetched specs are
    fetched now (ENSEMBLE_INTERACT_MAX_SPEC_FETCHES); the others, and those whose fetch
    failed (the error is on the snapshot, in the admin), are left out of this one."""
    pairs, fetches_left = [], settings.ENSEMBLE_INTERACT_MAX_SPEC_FETCHES
    for service in Service.objects.select_related("spec").defer("spec__document").order_by("id"):
        snapshot = getattr(service, "spec", None)
        if snapshot is None and fetches_left > 0:
            fetches_left -= 1
            snapshot = snapshot_for(service)
        if snapshot is not None and snapshot.usable:
            pairs.append((service, snapshot))
    return pairs


def _log(user_input, result: AssistantResult | None, calls: list[CallResult], backend, outcome, error, started) -> InteractionLog:
    service_responses = [{"service_name": c.tool.service.name, "response": c.summary()} for c in calls]
    limit = settings.ENSEMBLE_SERVICE_RESPONSE_MAX_BYTES
    with transaction.atomic():
        log = InteractionLog.objects.create(
            user_input=user_input,
            assistant_response=result.text if result else "",
            service_responses=service_responses,
            backend=backend,
            model=(result.model if result else "")[:200],
            outcome=outcome,
            error=error,
            duration_ms=int((time.monotonic() - started) * 1000),
            prompt_tokens=result.prompt_tokens if result else None,
            completion_tokens=result.completion_tokens if result else None,
            request_id=current_request_id(),
        )
        ServiceCall.objects.bulk_create([
            ServiceCall(
                log=log, position=i, service_id=c.tool.service.id, service_name=c.tool.service.name,
                operation_id=c.tool.operation["operation_id"], spec_hash=c.tool.snapshot.content_hash,
                method=c.tool.operation["method"], url=c.url[:2000], request=redact(c.arguments), status=c.status,
                ok=c.ok, response=c.text[:limit], response_hash=c.response_hash, error=c.error, duration_ms=c.duration_ms,
            )
            for i, c in enumerate(calls)
        ])
    return log


def interaction_log_rejected(*, raw_input, error: str) -> InteractionLog:
    """Record a refused /interact request (bad input): every call leaves a trace."""
    text = raw_input if isinstance(raw_input, str) else ("" if raw_input is None else repr(raw_input))
    return InteractionLog.objects.create(
        # NUL cannot be stored in PostgreSQL text; it is why such input was refused anyway.
        user_input=text[: settings.ENSEMBLE_USER_INPUT_MAX_CHARS].replace("\x00", "\ufffd"),
        backend=settings.ENSEMBLE_ASSISTANT_BACKEND,
        outcome=InteractionLog.Outcome.REJECTED,
        error=error[:2000].replace("\x00", "\ufffd"),
        request_id=current_request_id(),
    )


def interaction_handle(*, user_input: str) -> tuple[InteractionLog, AssistantResult]:
    """Run one interaction and log it, whatever happens. Assistant failures are logged,
    then raised as a 500 ErrorResponse; service failures are part of the answer."""
    user_input = validate_user_input(user_input)
    started = time.monotonic()
    backend = settings.ENSEMBLE_ASSISTANT_BACKEND
    calls: list[CallResult] = []

    def execute(tool, arguments) -> CallResult:
        call = call_tool(tool, arguments)
        calls.append(call)
        service = tool.service.id
        metrics.SERVICE_CALLS.labels(service, "ok" if call.ok else ("http_error" if call.status else "failed")).inc()
        metrics.SERVICE_LATENCY.labels(service).observe(call.duration_ms / 1000)
        return call

    try:
        pairs = _services_in_scope()
        prompt = render_system_prompt_cached(pairs, token_budget=settings.ENSEMBLE_PROMPT_TOKEN_BUDGET)
        assistant_started = time.monotonic()
        try:
            result = get_assistant().run(user_input=user_input, system_prompt=prompt, tools=build_tools(pairs), execute=execute)
        finally:
            metrics.ASSISTANT_LATENCY.labels(backend).observe(time.monotonic() - assistant_started)
    except AssistantError as error:
        metrics.ASSISTANT_CALLS.labels(backend, "failed").inc()
        logger.warning("assistant failed: %s", error, extra={"backend": backend})
        log = _log(user_input, None, calls, backend, InteractionLog.Outcome.ASSISTANT_FAILED, str(error), started)
        raise ApplicationError(
            "ASSISTANT_FAILED", "The assistant could not answer.", details=f"{error} (log {log.pk})", status=500
        ) from error
    outcome = InteractionLog.Outcome.LIMIT_REACHED if result.limit_reached else InteractionLog.Outcome.ANSWERED
    metrics.ASSISTANT_CALLS.labels(backend, outcome).inc()
    log = _log(user_input, result, calls, backend, outcome, "", started)
    return log, result


def logs_prune(*, older_than, batch_size: int = 1000) -> int:
    """Delete interaction logs (and their service calls) created before `older_than`.

    Batches keep each transaction short; each batch's deletions are enqueued for the
    search worker in the same transaction, so Typesense drops exactly what the database
    dropped, even if the command is interrupted. Returns the number of logs deleted."""
    from search import outbox

    from .search import LOGS_INDEX

    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                InteractionLog.objects.filter(created_at__lt=older_than).order_by("id").values_list("id", flat=True)[:batch_size]
            )
            if not ids:
                return deleted
            ServiceCall.objects.filter(log_id__in=ids).delete()
            InteractionLog.objects.filter(id__in=ids).delete()
            outbox.enqueue(LOGS_INDEX.name, ids)
        deleted += len(ids)
