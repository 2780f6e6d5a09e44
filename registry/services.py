"""Writes to the registry. Every write (API or admin) goes through these functions:
they validate with the registry's rules, keep tags and revision consistent, and run
in one transaction with the search outbox entry (recorded by the post_save/post_delete
signals in registry/signals.py)."""

import uuid

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import SYSTEM, audit_record, field_changes
from core.errors import ApplicationError, NotFoundError

from . import rules
from .models import RegistryRevision, Service, ServiceTag


def _not_found(service_id: str) -> NotFoundError:
    return NotFoundError("SERVICE_NOT_FOUND", f"No service has the id {service_id!r}.")


def _duplicate(service_id: str) -> ApplicationError:
    return ApplicationError(
        "SERVICE_ALREADY_EXISTS",
        f"A service with the id {service_id!r} is already registered.",
        details="Use PUT /services/update/{service_id} to change it.",
    )


def _registry_moved() -> None:
    """Give the registry a new revision, inside the caller's transaction: readers see the
    new token exactly when they see the change (GET /services keys its body by it)."""
    token = uuid.uuid4().hex
    if not RegistryRevision.objects.filter(pk=1).update(token=token):
        RegistryRevision.objects.update_or_create(pk=1, defaults={"token": token})


def _set_tags(service: Service, tags: list[str]) -> None:
    service.tags.all().delete()
    ServiceTag.objects.bulk_create(
        [ServiceTag(service=service, name=name, position=position) for position, name in enumerate(tags)]
    )
    # Let callers read service.tag_list without another query.
    service._prefetched_objects_cache = {"tags": service.tags.all()}


def _clean_tags(tags) -> list[str]:
    try:
        return rules.normalise_tags(list(tags or []))
    except ValidationError as error:
        raise ValidationError({"tags": error.messages}) from error


def _audited_fields(service: Service, tags: list[str]) -> dict:
    return {"name": service.name, "description": service.description, "openapi_url": service.openapi_url,
            "tags": tags, "read_only": service.read_only, "base_url_override": service.base_url_override}


def _audit(service: Service, action: str, actor: str, before: dict, after: dict) -> None:
    audit_record(actor=actor, action=action, target_type="service", target_id=service.pk,
                 changes=field_changes(before, after))


def service_register(
    *, id: str, name: str, description: str, openapi_url: str, tags=None, read_only: bool = False,
    base_url_override: str = "", actor: str = SYSTEM,
) -> Service:
    clean_tags = _clean_tags(tags)
    now = timezone.now()
    service = Service(id=id, name=name.strip(), description=description, openapi_url=openapi_url, read_only=read_only,
                      base_url_override=(base_url_override or "").strip(), created_at=now, updated_at=now)
    try:
        with transaction.atomic():
            if Service.objects.filter(pk=id).exists():
                raise _duplicate(id)
            service.full_clean(validate_unique=False)
            service.save(force_insert=True)
            _set_tags(service, clean_tags)
            _audit(service, "service.register", actor, {}, _audited_fields(service, clean_tags))
            _registry_moved()
    except IntegrityError:
        # Two registrations of one id raced; the loser gets the same answer as above.
        raise _duplicate(id) from None
    return service


def service_update(
    *, service_id: str, name: str, description: str, openapi_url: str, tags=None, id: str | None = None,
    read_only: bool | None = None, base_url_override: str | None = None, actor: str = SYSTEM,
) -> Service:
    """Replace a service's fields (PUT semantics: omitted tags become no tags).
    Ids are immutable: a body id that differs from the path is refused. `read_only`
    and `base_url_override` are admin settings outside the API: None keeps them."""
    if id is not None and id != service_id:
        raise ApplicationError(
            "SERVICE_ID_MISMATCH",
            f"The body's id {id!r} differs from the path's {service_id!r}.",
            details="Service ids cannot change. Register a new service and delete the old one to rename.",
        )
    clean_tags = _clean_tags(tags)
    with transaction.atomic():
        # The row lock orders concurrent updates, so each revision is used once.
        service = Service.objects.select_for_update().filter(pk=service_id).first()
        if service is None:
            raise _not_found(service_id)
        before = _audited_fields(service, service.tag_list)
        service.name, service.description, service.openapi_url = name.strip(), description, openapi_url
        if read_only is not None:
            service.read_only = read_only
        if base_url_override is not None:
            service.base_url_override = base_url_override.strip()
        service.full_clean(validate_unique=False)
        service.revision += 1
        service.updated_at = timezone.now()
        _set_tags(service, clean_tags)
        service.save()
        _audit(service, "service.update", actor, before, _audited_fields(service, clean_tags))
        _registry_moved()
    return service


def service_base_url_set(*, service_id: str, base_url: str, actor: str = SYSTEM) -> Service:
    """Point a service's calls at `base_url` instead of its spec's servers ("" removes
    the override). An admin setting, outside the API; audited. The service's secrets
    follow only once an admin confirms the new origin (credentials)."""
    with transaction.atomic():
        service = Service.objects.select_for_update().filter(pk=service_id).first()
        if service is None:
            raise _not_found(service_id)
        before = _audited_fields(service, service.tag_list)
        service.base_url_override = (base_url or "").strip()
        if service.base_url_override == before["base_url_override"]:
            return service
        service.full_clean(validate_unique=False)
        service.revision += 1
        service.updated_at = timezone.now()
        service.save(update_fields=["base_url_override", "revision", "updated_at"])
        _audit(service, "service.update", actor, before, _audited_fields(service, before["tags"]))
        _registry_moved()
    return service


def service_delete(*, service_id: str, actor: str = SYSTEM) -> None:
    with transaction.atomic():
        service = Service.objects.select_for_update().filter(pk=service_id).first()
        if service is None:
            raise _not_found(service_id)
        _audit(service, "service.delete", actor, _audited_fields(service, service.tag_list), {})
        service.delete()
        _registry_moved()
