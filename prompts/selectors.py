"""Building prompts for a list of service ids."""

from django.conf import settings

from core.errors import ApplicationError
from core.filters import can_be_stored
from registry.models import Service

from .rendering import render_system_prompt
from .services import snapshot_for


def services_with_specs(service_ids: list[str]) -> list[tuple]:
    """(Service, SpecSnapshot) pairs for the ids, in order, duplicates collapsed.
    Unknown ids and specs that cannot be had are 400s that name them."""
    ids = list(dict.fromkeys(i for i in service_ids))
    if not ids:
        raise ApplicationError("VALIDATION_ERROR", "service_ids: give at least one service id.")
    searchable = [i for i in ids if can_be_stored(i)]
    # One query for the services and their snapshots (without the stored documents).
    found = {s.id: s for s in Service.objects.filter(pk__in=searchable).select_related("spec").defer("spec__document").prefetch_related("operation_policies")}
    unknown = [i for i in ids if i not in found]
    if unknown:
        raise ApplicationError(
            "UNKNOWN_SERVICE_IDS", f"Unknown service ids: {', '.join(unknown)}.", details="See GET /services for the registered ids."
        )
    pairs, failures = [], []
    for service_id in ids:
        # A spec still being fetched is awaited a little (shared with other requests), never longer.
        snapshot = snapshot_for(found[service_id], wait=settings.ENSEMBLE_SPEC_WAIT_SECONDS)
        if not snapshot.usable:
            failures.append(f"{service_id}: {snapshot.error}")
        pairs.append((found[service_id], snapshot))
    if failures:
        raise ApplicationError(
            "SPEC_UNAVAILABLE",
            "The OpenAPI document of some services could not be fetched or parsed.",
            details="; ".join(failures),
        )
    return pairs


def system_prompt_for(service_ids: list[str]) -> str:
    return render_system_prompt(services_with_specs(service_ids), token_budget=settings.ENSEMBLE_PROMPT_TOKEN_BUDGET)
