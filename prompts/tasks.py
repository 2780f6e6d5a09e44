"""Fetching specs off the request path: after a service is registered or updated, its
document is fetched in a small background pool once the transaction commits, so the
request never waits on the network. If the process dies first, nothing is lost: the
next /system-prompt, `manage.py refresh_specs` or the admin action fetches it."""

import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import connection, transaction

logger = logging.getLogger("ensemble.prompts")
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="spec-fetch")


def _fetch(service_id: str) -> None:
    from registry.models import Service

    from .services import spec_refresh

    try:
        service = Service.objects.filter(pk=service_id).first()
        if service is not None:
            spec_refresh(service=service)
    except Exception:  # a background task must log, not die silently
        logger.exception("fetching the spec of %s failed", service_id)
    finally:
        connection.close()  # this pool thread's own connection: never left open


def service_saved(sender, instance, **kwargs):
    if settings.ENSEMBLE_SPEC_FETCH_ON_WRITE:
        service_id = instance.pk
        transaction.on_commit(lambda: _pool.submit(_fetch, service_id))
