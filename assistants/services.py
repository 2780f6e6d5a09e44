"""Writes of the assistants app: a service's vocabulary (its aliases)."""

from django.db import transaction
from django.utils import timezone

from audit.services import SYSTEM, audit_record
from core.errors import ApplicationError

from .grounding.vocabulary import alias_problems
from .models import ServiceVocabulary


def vocabulary_set(*, service, aliases: str, actor: str = SYSTEM) -> ServiceVocabulary | None:
    """Set the words users say for a service's things (see grounding.vocabulary for the
    format); an empty text removes them. Audited. Returns the row (None when removed)."""
    aliases = (aliases or "").strip()
    problems = alias_problems(aliases)
    if problems:
        raise ApplicationError("VALIDATION_ERROR", "aliases: " + " ".join(problems))
    with transaction.atomic():
        row = ServiceVocabulary.objects.select_for_update().filter(service=service).first()
        before = row.aliases if row else ""
        if before == aliases:
            return row
        if not aliases:
            ServiceVocabulary.objects.filter(service=service).delete()
            row = None
        else:
            row, _ = ServiceVocabulary.objects.update_or_create(
                service=service, defaults={"aliases": aliases, "updated_at": timezone.now()})
        audit_record(actor=actor, action="service.vocabulary", target_type="service", target_id=service.pk,
                     changes={"aliases": [before, aliases]})
    return row
