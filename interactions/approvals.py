"""Calls that wait for an admin's approval.

When the assistant chooses an operation whose policy is `needs_approval`, its arguments
are validated and the call is held: nothing is sent, the interaction is logged with a
`PendingApproval`, and the user is told the reference. An admin approves (the call runs
then, through the same caller and guards as any other, and its result replaces the
waiting line in the same interaction log) or rejects it with a reason; unanswered ones
expire after ENSEMBLE_APPROVAL_TTL_SECONDS. A decision is a conditional update from
`pending`, so two admins approving at the same moment run the call once.

An approval runs the call that was shown, or nothing: the held call records its method,
path template and origin, the spec's hash and a digest of its arguments, and when any of
them would differ at approval time (the spec now has DELETE where it had PUT, the
service moved, the spec changed), the approval ends `changed` with the reason and
nothing is sent. Secret arguments (operations.arguments.redact: `format: password`,
`writeOnly`, a secret-looking name) are shown as [redacted] and kept Fernet-encrypted,
like credentials, until the call is decided."""

import hashlib
import json
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError
from credentials.crypto import CredentialsKeyError, decrypt, encrypt
from operations.arguments import ArgumentError, redact, secret_values, validate_arguments
from operations.calling import CallResult, call_tool
from operations.tools import build_tools
from outbound.redaction import redact as redact_values
from prompts.endpoints import effective_origin
from prompts.policies import NEEDS_APPROVAL, effective_policy
from registry.models import Service
from search import outbox

from . import metrics
from .models import InteractionLog, PendingApproval, ServiceCall
from .search_index import LOGS_INDEX

State = PendingApproval.State


class HeldCall(CallResult):
    """A call not sent because it waits for approval (a CallResult, so assistants and
    the log treat it like any other)."""

    def __init__(self, tool, arguments, reference: str, *, sealed: bytes | None = None, hidden=()):
        super().__init__(tool, arguments, ok=False, error=f"not sent: it waits for an administrator's approval (reference {reference})",
                         hidden=list(hidden), sent=False)
        self.reference = reference
        self.sealed = sealed  # the arguments encrypted, when some are secrets

    def for_model(self) -> str:
        return json.dumps({"ok": False, "sent": False, "waiting_for_approval": True, "reference": self.reference,
                           "message": "Tell the user this call waits for an administrator's approval, with the reference."})

    def summary(self) -> str:
        return waiting_text(self.tool.operation["operation_id"], self.tool.service.name, self.reference)


def waiting_text(operation_id: str, service_name: str, reference: str) -> str:
    return (f"{operation_id} on {service_name} waits for an administrator's approval under reference {reference}; "
            "nothing has been sent yet.")


def _new_reference() -> str:
    return "APR-" + secrets.token_hex(4).upper()


def needs_approval(tool) -> bool:
    return effective_policy(tool.service, tool.operation) == NEEDS_APPROVAL


def arguments_digest(arguments) -> str:
    """SHA-256 of the arguments as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(arguments, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def hold(tool, arguments) -> CallResult:
    """The call the assistant asked for, held: bad arguments go back to the assistant as
    any call's would; good ones wait for an admin, their secrets encrypted."""
    hidden = secret_values(arguments, tool.parameters)
    try:
        validate_arguments(tool, arguments)
    except ArgumentError as error:
        return CallResult(tool, arguments, ok=False, error=f"invalid arguments: {redact_values(str(error), hidden)}", hidden=hidden,
                          sent=False)
    sealed = None
    if redact(arguments, tool.parameters) != arguments:
        try:
            sealed = encrypt(json.dumps(arguments, ensure_ascii=False))
        except ImproperlyConfigured:
            return CallResult(tool, arguments, ok=False, hidden=hidden, sent=False, error=(
                "not sent: the call has secret arguments, which wait for approval only encrypted, and "
                "ENSEMBLE_CREDENTIALS_KEYS is not set; an administrator must set it (or allow the operation)."))
    return HeldCall(tool, arguments, _new_reference(), sealed=sealed, hidden=hidden)


def with_notice(text: str, calls: list) -> str:
    """The assistant's answer, made to say plainly which calls wait and under which
    reference (a model may forget to)."""
    missing = [c for c in calls if isinstance(c, HeldCall) and c.reference not in text]
    if not missing:
        return text
    notice = " ".join(c.summary() for c in missing)
    return f"{text}\n\n{notice}" if text else notice


def approvals_record(*, log: InteractionLog, calls: list, requested_by: str) -> None:
    """The pending approvals of a log's held calls (inside the log's transaction)."""
    expires = log.created_at + timedelta(seconds=settings.ENSEMBLE_APPROVAL_TTL_SECONDS)
    PendingApproval.objects.bulk_create([
        PendingApproval(
            reference=c.reference, log=log, position=i, service_id=c.tool.service.id, service_name=c.tool.service.name,
            operation_id=c.tool.operation["operation_id"], method=c.tool.operation["method"], path=c.tool.operation["path"],
            origin=effective_origin(c.tool.service, c.tool.snapshot, c.tool.operation), spec_hash=c.tool.snapshot.content_hash,
            arguments_digest=arguments_digest(c.arguments), arguments=redact(c.arguments, c.tool.parameters),
            sealed_arguments=c.sealed, requested_by=requested_by[:200], created_at=log.created_at, expires_at=expires,
        )
        for i, c in enumerate(calls) if isinstance(c, HeldCall)
    ])


def decided_answer(answer: str, approval: PendingApproval, outcome: str) -> str:
    """The interaction's answer once its held call is decided: what said it waits now says
    what became of it (the answer is what the admin and `GET /logs` read later)."""
    waiting = waiting_text(approval.operation_id, approval.service_name, approval.reference)
    decided = f"{approval.reference}: {outcome}"
    for said in (f"I did not call {approval.operation_id} yet: {waiting}", waiting):
        if said in answer:
            return answer.replace(said, decided)
    return f"{answer}\n\n{decided}" if answer else decided


def _set_log_line(approval: PendingApproval, response: str, call: CallResult | None = None) -> None:
    """Replace the approval's waiting line in its interaction log (and add the service
    call), and say the outcome in the log's answer, in one transaction with its
    search-sync entry. The approval is decided: its encrypted arguments are dropped."""
    with transaction.atomic():
        log = InteractionLog.objects.select_for_update().get(pk=approval.log_id)
        lines = list(log.service_responses)
        line = {"service_name": approval.service_name, "response": response}
        if approval.position < len(lines):
            lines[approval.position] = line
        else:
            lines.append(line)
        log.service_responses = lines
        outcome = response
        if call is not None:
            outcome = (f"{approval.operation_id} was approved and sent; it answered HTTP {call.status}: {call.text[:500]}"
                       if call.status is not None else f"{approval.operation_id} was approved; the call failed: {call.error}")
        log.assistant_response = decided_answer(log.assistant_response, approval, outcome)
        log.amended_at = timezone.now()
        log.save(update_fields=["service_responses", "assistant_response", "amended_at"])
        outbox.enqueue(LOGS_INDEX.name, [log.pk])  # the amended log reaches Typesense too
        PendingApproval.objects.filter(pk=approval.pk).update(sealed_arguments=None)
        if call is not None:
            row = ServiceCall.objects.create(
                log=log, position=approval.position, service_id=approval.service_id, service_name=approval.service_name,
                operation_id=approval.operation_id, spec_hash=call.tool.snapshot.content_hash, method=approval.method,
                url=call.url[:2000], request=redact(call.arguments, call.tool.parameters), status=call.status, ok=call.ok,
                response=call.text[: settings.ENSEMBLE_SERVICE_RESPONSE_MAX_BYTES], response_hash=call.response_hash,
                error=call.error, duration_ms=call.duration_ms,
            )
            PendingApproval.objects.filter(pk=approval.pk).update(call=row)


def _decide(approval_id: int, state: str, actor: str, reason: str = "") -> PendingApproval:
    """Move a pending, unexpired approval to `state`, once: the conditional update is
    the lock, so of two admins deciding at once exactly one wins."""
    now = timezone.now()
    won = PendingApproval.objects.filter(pk=approval_id, state=State.PENDING, expires_at__gt=now).update(
        state=state, decided_by=actor[:200], decided_at=now, reason=reason
    )
    approval = PendingApproval.objects.filter(pk=approval_id).first()
    if approval is None:
        raise ApplicationError("NOT_FOUND", "No such approval.", status=404)
    if not won:
        approvals_expire()
        approval.refresh_from_db()
        raise ApplicationError("ALREADY_DECIDED", f"{approval.reference} is {approval.state}; it can be decided only once.", status=409)
    return approval


def _tool_for(approval: PendingApproval):
    """The tool as the assistant would get it now: the operation must still exist and be
    offered (an operation disabled since, or a service deleted, is never called)."""
    service = Service.objects.select_related("spec").defer("spec__document").prefetch_related("operation_policies").filter(
        pk=approval.service_id
    ).first()
    snapshot = getattr(service, "spec", None) if service else None
    if snapshot is None or not snapshot.usable:
        return None
    return next((t for t in build_tools([(service, snapshot)]) if t.operation["operation_id"] == approval.operation_id), None)


def _held_arguments(approval: PendingApproval):
    """The arguments as they were held (decrypted when some are secrets); None when they
    cannot be decrypted."""
    if approval.sealed_arguments is None:
        return approval.arguments
    try:
        return json.loads(decrypt(approval.sealed_arguments))
    except (CredentialsKeyError, ValueError):
        return None


def call_differences(approval: PendingApproval, tool, arguments) -> list[str]:
    """How the call that would be sent now differs from the one that was held and shown
    (empty: it is the same call)."""
    if not (approval.path and approval.spec_hash and approval.arguments_digest):
        return ["it was held before calls were recorded with their route, so it cannot be checked"]
    operation = tool.operation
    differences = []
    if operation["method"] != approval.method:
        differences.append(f"the spec now has {operation['method']} for {approval.operation_id}, not {approval.method}")
    if operation["path"] != approval.path:
        differences.append(f"its path is now {operation['path']}, not {approval.path}")
    origin = effective_origin(tool.service, tool.snapshot, operation)
    if origin != approval.origin:
        differences.append(f"it would go to {origin or '(no base URL)'}, not {approval.origin}")
    if tool.snapshot.content_hash != approval.spec_hash:
        differences.append("the service's spec changed since the call was held")
    if arguments is None:
        differences.append("its encrypted arguments cannot be decrypted with ENSEMBLE_CREDENTIALS_KEYS")
    elif arguments_digest(arguments) != approval.arguments_digest:
        differences.append("its arguments are not the ones that were held")
    return differences


def approval_approve(*, approval_id: int, actor: str) -> tuple[PendingApproval, CallResult | None]:
    """Approve and run the call. Returns the approval and the call's result (None when
    the operation is no longer offered: then nothing is sent). When the call would not
    be the one that was held and shown, nothing is sent, the approval ends `changed`
    with the reason, and ApplicationError (409 CALL_CHANGED) says why."""
    approval = _decide(approval_id, State.APPROVED, actor)
    tool = _tool_for(approval)
    if tool is None:
        text = f"Approved by {actor}, but {approval.operation_id} is no longer offered; nothing was sent."
        _set_log_line(approval, text)
        return approval, None
    arguments = _held_arguments(approval)
    differences = call_differences(approval, tool, arguments)
    if differences:
        why = f"the call is no longer the one that was shown ({'; '.join(differences)})"
        PendingApproval.objects.filter(pk=approval.pk).update(state=State.CHANGED, reason=f"Not sent: {why}.")
        _set_log_line(approval, f"{approval.operation_id} was approved by {actor} but not sent: {why}. The user may ask again.")
        raise ApplicationError("CALL_CHANGED", f"{approval.reference} was not sent: {why}.", status=409)
    call = call_tool(tool, arguments)
    metrics.service_call_observe(approval.service_id, ok=call.ok, status=call.status, duration_ms=call.duration_ms)
    _set_log_line(approval, call.summary(), call)
    approval.refresh_from_db()
    return approval, call


def approval_reject(*, approval_id: int, actor: str, reason: str) -> PendingApproval:
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("VALIDATION_ERROR", "reason: say why the call is rejected.")
    approval = _decide(approval_id, State.REJECTED, actor, reason[:2000])
    _set_log_line(approval, f"{approval.operation_id} was rejected by an administrator ({reason[:500]}); nothing was sent.")
    return approval


def approvals_expire() -> int:
    """Mark every pending approval past its time as expired (and say so in its log)."""
    now = timezone.now()
    expired = 0
    for approval in PendingApproval.objects.filter(state=State.PENDING, expires_at__lte=now).order_by("id")[:500]:
        if PendingApproval.objects.filter(pk=approval.pk, state=State.PENDING).update(state=State.EXPIRED, decided_at=now):
            _set_log_line(approval, f"{approval.operation_id} was not approved in time (reference {approval.reference}); nothing was sent.")
            expired += 1
    return expired
