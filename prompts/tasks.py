"""Fetching specs off the request path. A small background pool fetches a service's
document after it is registered or updated (once the transaction commits) and whenever
a request needs a spec it does not have. One fetch per service at a time: requests that
need the same spec share the fetch in flight, never start their own. If the process dies
first, nothing is lost: the next request, `manage.py refresh_specs` or the admin action
fetches it again.

`snapshot_for` chooses the snapshot a request uses, never waiting on a slow fetch longer
than it may."""

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from registry.models import Service

from .models import SpecSnapshot
from .services import spec_refresh

logger = logging.getLogger("ensemble.prompts")
_POOL_SIZE = 2
_pool = ThreadPoolExecutor(max_workers=_POOL_SIZE, thread_name_prefix="spec-fetch")
_in_flight: dict[str, Future] = {}
_waiting: dict[str, int] = {}
_lock = threading.Lock()


def _fetch(service_id: str, *, background: bool = True) -> None:
    # A pool thread treats each task as Django treats a request: its connection is kept
    # for the next task (up to CONN_MAX_AGE) unless it broke. Closing it after every
    # task made each fetch open a new PostgreSQL connection (a forked backend, several
    # ms of CPU): under the load test's registrations, bursts of them stalled every
    # request on the machine every few seconds.
    if background:
        close_old_connections()
    try:
        service = Service.objects.filter(pk=service_id).first()
        if service is not None:
            spec_refresh(service=service)
    except Exception:  # a background task must log, not die silently
        logger.exception("fetching the spec of %s failed", service_id)
    finally:
        if background:
            close_old_connections()


def close_pool_connections() -> None:
    """Each pool thread closes its database connection (before a database is dropped)."""
    everyone = threading.Barrier(_POOL_SIZE)  # holds each thread to one task: every thread gets one

    def close() -> None:
        everyone.wait(timeout=30)
        connection.close()

    for done in [_pool.submit(close) for _ in range(_POOL_SIZE)]:
        done.result()


def fetch_shared(service_id: str, *, wait: float = 0.0, background: bool | None = None) -> bool:
    """Start fetching `service_id`'s spec unless a fetch is already in flight, and wait
    for it at most `wait` seconds. True when the fetch finished within the wait.

    With ENSEMBLE_SPEC_FETCH_IN_BACKGROUND off (the test profile), the first caller
    fetches in its own thread (its transaction sees the service) and later callers wait
    for it as they would for the pool."""
    if background is None:
        background = settings.ENSEMBLE_SPEC_FETCH_IN_BACKGROUND
    with _lock:
        future = _in_flight.get(service_id)
        owner = future is None
        if owner and not background and wait <= 0:
            return False  # a caller that may not wait never fetches in its own thread
        if owner:
            future = _in_flight[service_id] = Future()
        elif wait > 0 and _waiting.get(service_id, 0) >= settings.ENSEMBLE_OUTBOUND_MAX_CONCURRENT:
            return False  # enough threads wait on this service already: do not add one more
        _waiting[service_id] = _waiting.get(service_id, 0) + 1
    try:
        if owner:
            if background:
                _pool.submit(_run, service_id, future)
            else:
                _run(service_id, future, background=False)
        if wait <= 0:
            return future.done()
        try:
            future.result(timeout=wait)
            return True
        except FutureTimeout:
            return False
    finally:
        with _lock:
            _waiting[service_id] -= 1
            if not _waiting[service_id]:
                del _waiting[service_id]


def _run(service_id: str, future: Future, background: bool = True) -> None:
    try:
        _fetch(service_id, background=background)
    finally:
        with _lock:
            _in_flight.pop(service_id, None)
        future.set_result(None)


def service_saved(sender, instance, **kwargs):
    if settings.ENSEMBLE_SPEC_FETCH_ON_WRITE:
        service_id = instance.pk
        transaction.on_commit(lambda: fetch_shared(service_id, background=True))


def snapshot_for(service, *, wait: float = 0.0) -> SpecSnapshot:
    """The snapshot a request uses for `service`: its last good one (even while a newer
    URL is being fetched), else whatever the last attempt left (its error), else a
    fresh fetch, shared with every other request that needs it, awaited at most `wait`
    seconds. A recent failure is returned as it is (ENSEMBLE_SPEC_RETRY_SECONDS), so a
    broken spec does not cost a fetch on every request. The result may be unusable:
    its `error` says why (or that the spec is not available yet)."""
    snapshot = _stored_snapshot(service)
    if snapshot is not None:
        current = snapshot.source_url == service.openapi_url
        if snapshot.usable and current:
            return snapshot
        retry_after = timedelta(seconds=settings.ENSEMBLE_SPEC_RETRY_SECONDS)
        if snapshot.error and snapshot.error_at and timezone.now() - snapshot.error_at < retry_after:
            return snapshot
        if snapshot.usable:  # the URL changed: keep serving the last good one meanwhile
            fetch_shared(service.pk)
            return snapshot
    if fetch_shared(service.pk, wait=wait):
        fresh = SpecSnapshot.objects.filter(service_id=service.pk).defer("document").first()
        if fresh is not None:
            return fresh
    return snapshot or SpecSnapshot(
        service=service, source_url=service.openapi_url,
        error="The OpenAPI document is being fetched and is not available yet; retry shortly.",
    )


def _stored_snapshot(service) -> SpecSnapshot | None:
    try:
        return service.spec  # no query when the caller used select_related("spec")
    except SpecSnapshot.DoesNotExist:
        return None
