"""Key bookkeeping off the request path: a key's last-use time is written at most once a
minute per key, after the response has gone out (Django's request_finished, which the
WSGI server sends when the response is closed), in its own autocommit statement, never
inside the request's transaction. A conditional UPDATE keeps concurrent workers from
writing the same minute twice."""

import logging
import threading
from datetime import timedelta

from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone

from .models import ApiKey

# Refresh last_used_at at most this often per key, so reads don't write on every call.
LAST_USED_RESOLUTION_SECONDS = 60

logger = logging.getLogger(__name__)
_pending = threading.local()


def note_key_use(key: ApiKey) -> None:
    """Remember that `key` was used by this request, if its stored time is stale."""
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
        _pending.key_pk = key.pk


def write_pending_key_use(**_signal_kwargs) -> None:
    """request_finished receiver: write the noted last-use time, if any."""
    pk = getattr(_pending, "key_pk", None)
    if pk is None:
        return
    _pending.key_pk = None
    now = timezone.now()
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - timedelta(seconds=LAST_USED_RESOLUTION_SECONDS))
    try:
        ApiKey.objects.filter(stale, pk=pk).update(last_used_at=now)
    except DatabaseError:  # bookkeeping only: the answer has already gone out
        logger.warning("Could not record the last use of API key %s.", pk, exc_info=True)
