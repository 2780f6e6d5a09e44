"""Fetching a service's OpenAPI document into its snapshot (the history of what changed),
and the operation policies an admin sets."""

import hashlib
import json

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import audit_record
from outbound.http import OutboundError, guarded_request

from .models import OperationPolicy, SpecChange, SpecSnapshot
from .parsing import SpecError, parse_spec
from .search_index import enqueue_operations
from .security import schemes_of_document


def _changes(old: list[dict], new: list[dict]) -> dict[str, list[str]]:
    before = {op["operation_id"]: op for op in old}
    after = {op["operation_id"]: op for op in new}
    return {
        "added": sorted(after.keys() - before.keys()),
        "removed": sorted(before.keys() - after.keys()),
        "changed": sorted(
            k for k in after.keys() & before.keys() if json.dumps(after[k], sort_keys=True) != json.dumps(before[k], sort_keys=True)
        ),
    }


def _describe_changes(old: list[dict], new: list[dict]) -> str:
    parts = [f"{label}: {', '.join(ids)}" for label, ids in _changes(old, new).items() if ids]
    return "; ".join(parts)


def spec_change_record(*, service_id: str, old: list[dict], new: list[dict], at) -> None:
    """Keep what a refetch changed in the operations (the snapshot's history)."""
    SpecChange.objects.create(service_id=service_id, at=at, **_changes(old, new))


def _save_new_or_theirs(snapshot: SpecSnapshot, then=None) -> SpecSnapshot:
    """Save `snapshot` (and run `then` in the same transaction). Two requests may fetch a
    never-fetched spec at once: the second to save finds the first one's row and keeps
    it. The service may also have been deleted meanwhile: then nothing is stored and the
    unsaved snapshot is returned (its service is gone from every prompt anyway)."""
    adding = snapshot._state.adding
    try:
        with transaction.atomic():
            # A new snapshot is inserted, never "updated if present": that would overwrite
            # a fetch that finished first.
            snapshot.save(force_insert=adding)
            if then:
                then()
    except IntegrityError:
        # A unique or foreign-key race, never bad data: the row is ours to read, or gone.
        return SpecSnapshot.objects.filter(service_id=snapshot.service_id).first() or snapshot
    return snapshot


def spec_refresh(*, service, force: bool = False) -> SpecSnapshot:
    """Fetch and parse `service.openapi_url`. On failure the previous snapshot stays
    usable and the error is recorded on it; nothing half-parsed is stored."""
    snapshot = SpecSnapshot.objects.filter(service=service).first() or SpecSnapshot(service=service, source_url=service.openapi_url)
    same_url = snapshot.source_url == service.openapi_url and snapshot.usable
    headers = {"Accept": "application/json, application/yaml, text/yaml, */*;q=0.5"}
    if same_url and not force:
        if snapshot.etag:
            headers["If-None-Match"] = snapshot.etag
        if snapshot.last_modified:
            headers["If-Modified-Since"] = snapshot.last_modified
    now = timezone.now()
    try:
        result = guarded_request(
            "GET", service.openapi_url, key=service.pk, max_bytes=settings.ENSEMBLE_SPEC_MAX_BYTES, headers=headers
        )
        if result.status == 304 and same_url:
            snapshot.fetched_at, snapshot.error, snapshot.error_at = now, "", None
            snapshot.save()
            return snapshot
        if result.status != 200:
            raise OutboundError("HTTP_ERROR", f"{service.openapi_url} answered HTTP {result.status}.")
        parsed = parse_spec(
            result.body, spec_url=result.url, schemes_reader=lambda document: schemes_of_document(document, spec_url=result.url)
        )
    except (OutboundError, SpecError) as error:
        snapshot.error = str(getattr(error, "message", error))[:2000]
        snapshot.error_at = now
        if snapshot.pk is None or not snapshot.usable:
            snapshot.source_url = service.openapi_url
        return _save_new_or_theirs(snapshot)
    change = _describe_changes(snapshot.operations or [], parsed["operations"]) if snapshot.usable else ""
    previous_operations = list(snapshot.operations or [])
    snapshot.source_url = service.openapi_url
    snapshot.document = result.body.decode("utf-8", errors="replace")
    snapshot.content_hash = hashlib.sha256(result.body).hexdigest()
    snapshot.etag = result.headers.get("etag", "")[:500]
    snapshot.last_modified = result.headers.get("last-modified", "")[:100]
    snapshot.title = parsed["title"][:500]
    snapshot.base_url = parsed["base_url"][:2000]
    snapshot.operations = parsed["operations"]
    snapshot.security_schemes_json = json.dumps(parsed["security_schemes"])
    snapshot.fetched_at = now
    snapshot.error, snapshot.error_at = "", None
    if change:
        snapshot.last_change = f"{now:%Y-%m-%d %H:%M} UTC: {change}"

    def then():
        # Old and new operations alike: removed ones leave the operations index.
        enqueue_operations(service.pk, previous_operations + parsed["operations"])
        if change:
            spec_change_record(service_id=service.pk, old=previous_operations, new=parsed["operations"], at=now)

    return _save_new_or_theirs(snapshot, then=then)


# --- operation policies --------------------------------------------------------------------


def operation_policy_set(*, service, operation_id: str, policy: str, actor: str) -> bool:
    """Set the policy of one operation (`operation_id` "" = the default for the service's
    writes). Audited; the operations index follows in the same transaction. Returns
    whether anything changed. Read by prompts.policies on the next request, everywhere."""
    if policy not in OperationPolicy.Policy.values:
        raise ValueError(f"unknown policy {policy!r}")
    with transaction.atomic():
        row = OperationPolicy.objects.select_for_update().filter(service=service, operation_id=operation_id).first()
        before = row.policy if row else None
        if before == policy:
            return False
        OperationPolicy.objects.update_or_create(
            service=service, operation_id=operation_id, defaults={"policy": policy, "updated_at": timezone.now()}
        )
        audit_record(
            actor=actor, action="operation.policy", target_type="service", target_id=service.pk,
            changes={operation_id or "(writes default)": [before, policy]},
        )
        snapshot = SpecSnapshot.objects.filter(service=service).only("operations_json").first()
        if snapshot is not None:
            enqueue_operations(service.pk, snapshot.operations)
    service.__dict__.pop("_policies", None)
    return True
