"""Conversations: the turns of POST /interact that a client continues by sending back the
`conversation_id` of an earlier answer.

A conversation belongs to the API key that started it (its `owner`, the `requested_by`
of its logs). An unknown id and another key's id get the same answer, so an id says
nothing about conversations one does not own. A conversation takes at most
ENSEMBLE_CONVERSATION_MAX_TURNS turns and expires when no turn started for
ENSEMBLE_CONVERSATION_TTL seconds. Every refusal is 400 (the contract's /interact
answers 200, 400, 401 and 500 only; 429 and 503 are operational): CONVERSATION_NOT_FOUND,
CONVERSATION_FULL, CONVERSATION_EXPIRED.

A turn is claimed before the assistant runs, with one conditional update (the limit and
the expiry are its condition), so concurrent turns of one conversation get distinct
numbers and never pass the limit. Outcomes of calls held for approval in a conversation
are told once, at the start of the next answer (`held_outcomes_claim`, in the
transaction that writes that answer's log)."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core.errors import ApplicationError
from core.filters import can_be_stored

from .models import Conversation, InteractionLog, PendingApproval

# The turns the assistant answered (every call failing is still an answer): the history
# the assistants get holds these, and they are the answers that tell held calls' outcomes.
ANSWERED_OUTCOMES = (InteractionLog.Outcome.ANSWERED, InteractionLog.Outcome.LIMIT_REACHED,
                     InteractionLog.Outcome.CALLS_FAILED)


class ConversationRefused(ApplicationError):
    """A conversation that cannot take this turn; `conversation` is set when it is the
    caller's own (full or expired), so the refusal is logged in it."""

    def __init__(self, error_code, message, *, conversation: Conversation | None = None, details: str = ""):
        super().__init__(error_code, message, details=details, status=400)
        self.conversation = conversation


def _not_found() -> ConversationRefused:
    return ConversationRefused(
        "CONVERSATION_NOT_FOUND", "conversation_id: no such conversation for this API key.",
        details="Send the conversation_id of an earlier answer made with the same key, or none to start a new conversation.",
    )


def conversation_start(*, owner: str) -> tuple[Conversation, int]:
    """A new conversation of `owner`, with its first turn claimed: (conversation, 1). Not
    saved yet: nobody can name it before its first answer, so it is written with that
    turn's log, in the log's transaction (conversation_save_new), not in a write of its own."""
    return Conversation(owner=owner[:200], turns=1), 1


def conversation_save_new(conversation: Conversation) -> None:
    """Write a conversation conversation_start made, if it is not written yet (inside the
    transaction of its first turn's log)."""
    if conversation._state.adding:
        conversation.save(force_insert=True)


def conversation_continue(*, conversation_id: str, owner: str) -> tuple[Conversation, int]:
    """Claim the next turn of `owner`'s conversation: (conversation, turn number). Raises
    ConversationRefused when it is unknown or another's, full, or expired."""
    if not conversation_id or len(conversation_id) > 64 or not can_be_stored(conversation_id):
        raise _not_found()
    now = timezone.now()
    idle_since = now - timedelta(seconds=settings.ENSEMBLE_CONVERSATION_TTL)
    limit = settings.ENSEMBLE_CONVERSATION_MAX_TURNS
    with transaction.atomic():
        claimed = Conversation.objects.filter(
            pk=conversation_id, owner=owner[:200], turns__lt=limit, last_turn_at__gt=idle_since,
        ).update(turns=F("turns") + 1, last_turn_at=now)
        conversation = Conversation.objects.filter(pk=conversation_id, owner=owner[:200]).first()
    if conversation is None:
        raise _not_found()
    if not claimed:
        if conversation.last_turn_at <= idle_since:
            raise ConversationRefused(
                "CONVERSATION_EXPIRED",
                f"conversation_id: the conversation expired after {settings.ENSEMBLE_CONVERSATION_TTL} s without a turn.",
                conversation=conversation, details="Start a new conversation (send no conversation_id).",
            )
        raise ConversationRefused(
            "CONVERSATION_FULL", f"conversation_id: the conversation has reached its limit of {limit} turns.",
            conversation=conversation, details="Start a new conversation (send no conversation_id).",
        )
    return conversation, conversation.turns


def held_outcomes_claim(conversation_id: str) -> list[str]:
    """The outcomes not yet told of calls held in this conversation that were decided
    since (approved: the result as the log keeps it, redacted; rejected: the reason;
    expired, changed), oldest first; each marked told. Call it inside the transaction
    that writes the answer telling them, so each is told once, and only by an answer
    that was kept."""
    decided = (PendingApproval.objects.filter(log__conversation_id=conversation_id, outcome_reported_at__isnull=True)
               .exclude(state=PendingApproval.State.PENDING).select_related("log").order_by("decided_at", "id"))
    now, told = timezone.now(), []
    for approval in decided:
        # A conditional update: of two turns running at once, one tells it.
        if not PendingApproval.objects.filter(pk=approval.pk, outcome_reported_at__isnull=True).update(outcome_reported_at=now):
            continue
        lines = approval.log.service_responses
        line = lines[approval.position]["response"] if approval.position < len(lines) else approval.reason
        if approval.state == PendingApproval.State.APPROVED and approval.call_id:
            told.append(f"{approval.reference} ({approval.operation_id} on {approval.service_name}) was approved and "
                        f"sent; it answered: {line}")
        else:  # the log's line says what happened: rejected (with the reason), expired, changed
            told.append(f"{approval.reference}: {line}")
    return told
