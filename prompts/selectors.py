"""Services with their specs, and the prompts built from them."""

import functools
import threading
from typing import NamedTuple

from django.conf import settings

from core.errors import ApplicationError
from core.filters import can_be_stored
from core.scalar_read import ScalarRead, quoted, read_together
from registry.models import Service
from registry.selectors import registry_revision_read

from .models import OperationPolicy, SpecChange, SpecSnapshot, services_with_snapshots
from .rendering import render_system_prompt
from .tasks import snapshot_for


class ServiceSpec(NamedTuple):
    """A registered service and the spec snapshot its operations come from: the shape
    that prompts, tools, the assistant, MCP and the admin pass around."""

    service: Service
    snapshot: SpecSnapshot


def usable_service_specs(service_ids=None) -> list[ServiceSpec]:
    """Every registered service (or those of `service_ids`) with a usable spec, by id:
    its last good snapshot. Never waits for a fetch: specs not fetched yet are fetched
    in the background for later requests; those whose fetch failed (the error is on
    the snapshot, in the admin) are left out."""
    services = services_with_snapshots()
    if service_ids is not None:
        services = services.filter(pk__in=service_ids)
    specs = []
    for service in services.order_by("id"):
        snapshot = snapshot_for(service, wait=0)
        if snapshot.usable:
            specs.append(ServiceSpec(service, snapshot))
    return specs


def services_with_specs(service_ids: list[str]) -> list[ServiceSpec]:
    """The services of `service_ids` with their specs, in order, duplicates collapsed.
    Unknown ids and specs that cannot be had are 400s that name them."""
    ids = list(dict.fromkeys(i for i in service_ids))
    if not ids:
        raise ApplicationError("VALIDATION_ERROR", "service_ids: give at least one service id.")
    searchable = [i for i in ids if can_be_stored(i)]
    found = {s.id: s for s in services_with_snapshots().filter(pk__in=searchable)}
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
        pairs.append(ServiceSpec(found[service_id], snapshot))
    if failures:
        raise ApplicationError(
            "SPEC_UNAVAILABLE",
            "The OpenAPI document of some services could not be fetched or parsed.",
            details="; ".join(failures),
        )
    return pairs


# Prompts this process rendered, for one version (above); dropped when it moves. Only
# answers are kept (a 400 is decided afresh), so a spec fetched later is picked up.
_MAX_PROMPTS = 256
_prompts: dict = {"version": None, "by_ids": {}}
_prompts_lock = threading.Lock()


def system_prompt_for(service_ids: list[str]) -> str:
    """The prompt for `service_ids` (in order, repeats once): from memory while nothing it
    depends on changed (the registry's revision, moved by every service write, read-only
    included, and the specs' version: catalogue_version()), else rendered."""
    version = catalogue_version()
    key = (tuple(dict.fromkeys(service_ids)), settings.ENSEMBLE_PROMPT_TOKEN_BUDGET)
    with _prompts_lock:
        if version[0] is not None and _prompts["version"] == version and key in _prompts["by_ids"]:
            return _prompts["by_ids"][key]
    prompt = render_system_prompt(services_with_specs(service_ids), token_budget=settings.ENSEMBLE_PROMPT_TOKEN_BUDGET)
    if version[0] is not None:  # no revision row (a test's flushed database): nothing to key on
        with _prompts_lock:
            if _prompts["version"] != version:
                _prompts["version"], _prompts["by_ids"] = version, {}
            if len(_prompts["by_ids"]) < _MAX_PROMPTS:
                _prompts["by_ids"][key] = prompt
    return prompt


@functools.cache
def _specs_version_reads() -> tuple[ScalarRead, ...]:
    spec, policy = quoted(SpecSnapshot._meta.db_table), quoted(OperationPolicy._meta.db_table)
    return (ScalarRead(f"(SELECT COUNT(*) FROM {spec})"), ScalarRead(f"(SELECT MAX(fetched_at) FROM {spec})"),
            ScalarRead(f"(SELECT COUNT(*) FROM {policy})"), ScalarRead(f"(SELECT MAX(updated_at) FROM {policy})"))


def catalogue_version() -> tuple:
    """Changes whenever what the services offer can change: the registry's revision
    (every service write moves it, read-only included) and the specs' version: the
    count and newest fetch time of the spec snapshots, and the count and newest change
    of the operation policies. One statement (plain SQL, no ORM compiling), on every
    /interact and /system-prompt: a round trip each costs several milliseconds on a busy
    PostgreSQL."""
    return read_together((registry_revision_read(), *_specs_version_reads()))


def failing_specs(*, limit: int = 10) -> tuple[list[dict], bool]:
    """The specs whose last fetch failed, newest failure first, and whether there are more."""
    rows = list(SpecSnapshot.objects.exclude(error="").order_by("-error_at").values("service_id", "error", "error_at")[: limit + 1])
    return rows[:limit], len(rows) > limit


def service_with_spec(service_id: str) -> Service | None:
    """One service with its snapshot (without the document) and its operation policies,
    as the control room and an approval read it; None when there is no such service."""
    return (
        Service.objects.select_related("spec").defer("spec__document").prefetch_related("operation_policies")
        .filter(pk=service_id).first()
    )


def spec_history(service, *, limit: int = 20) -> list:
    """What the last refetches of a service's spec changed, newest first."""
    return list(SpecChange.objects.filter(service=service).order_by("-at", "-id")[:limit])
