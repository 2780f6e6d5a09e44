"""Fixed-window rate limits shared through the database, without a write per request.

The database is the one store every app instance already shares, so a limit holds
across gunicorn workers and across machines without another server. A process does not
count each hit there: it claims a *slice* of the window's allowance with one atomic
statement (INSERT … ON CONFLICT … RETURNING, PostgreSQL and SQLite ≥ 3.35) and serves
the slice from memory, so a busy key costs one small write per slice, not per request.

Every slice is counted in the shared row before it is served, so the processes together
never let more than the limit through in a window. The price is the other way round: a
process may refuse while others still hold unused parts of their slices, at most
(processes − 1) × (slice − 1) requests early; slices die with their window. Limits
below SLICE_DIVISOR get slices of one, i.e. exact counting with one write per hit.
"""

import functools
import threading
import time
from typing import NamedTuple

from django.db import connection

from core.scalar_read import ScalarRead

from .models import RateLimitCounter

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# A slice is 1/SLICE_DIVISOR of the limit (1200/minute → 24 requests per write).
SLICE_DIVISOR = 50

# (bucket, rate, window) → requests this process may still serve; -1 once the shared
# allowance is spent (refuse locally until the window ends, writing nothing more).
_allowance: dict[tuple[str, str, int], int] = {}
_lock = threading.Lock()


def parse_rate(rate: str) -> tuple[int, int]:
    """"120/minute" → (120, 60). The unit's first letter is enough, as in DRF."""
    count, _, unit = rate.partition("/")
    try:
        return int(count), _PERIODS[unit.strip()[:1].lower()]
    except (ValueError, KeyError):
        raise ValueError(f"Not a rate: {rate!r} (expected e.g. '120/minute').") from None


def slice_size(limit: int) -> int:
    return max(1, limit // SLICE_DIVISOR)


@functools.cache
def _table() -> str:
    # Quoted once per process (one database, one quoting), not through the thread's
    # connection on every read.
    return connection.ops.quote_name(RateLimitCounter._meta.db_table)


def _window(rate: str) -> tuple[int, int, int, float]:
    """(limit, period, current window number, now) for `rate`."""
    limit, period = parse_rate(rate)
    now = time.time()
    return limit, period, int(now // period), now


def _add_hits(bucket: str, window: int, period: int, amount: int) -> int:
    """Add `amount` to the bucket's count in `window` (one statement); the new count."""
    table = _table()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (bucket, window_start, hits, expires_at) VALUES (%s, %s, %s, %s) "
            f"ON CONFLICT (bucket) DO UPDATE SET "
            f"hits = CASE WHEN {table}.window_start = excluded.window_start THEN {table}.hits + excluded.hits "
            f"ELSE excluded.hits END, "
            f"window_start = excluded.window_start, expires_at = excluded.expires_at RETURNING hits",
            [bucket[:200], window, amount, (window + 1) * period],
        )
        return cursor.fetchone()[0]


def rate_limit_hit(bucket: str, rate: str) -> float | None:
    """Count one hit on `bucket`; None while within `rate`, else the seconds to wait.

    Served from this process's slice when it has one; otherwise one write claims the
    next slice from the shared counter."""
    limit, period, window, now = _window(rate)
    slot = (bucket, rate, window)
    with _lock:
        left = _allowance.get(slot, 0)
        if left > 0:
            _allowance[slot] = left - 1
            return None
        if left < 0:
            return (window + 1) * period - now
    size = slice_size(limit)
    hits = _add_hits(bucket, window, period, size)
    granted = max(0, min(size, limit - (hits - size)))
    with _lock:
        for stale in [s for s in _allowance if (s[2] + 1) * parse_rate(s[1])[1] <= now]:
            del _allowance[stale]  # slices die with their window
        if granted == 0:
            _allowance[slot] = -1
            return (window + 1) * period - now
        _allowance[slot] = max(0, _allowance.get(slot, 0)) + granted - 1
    return None


def rate_limit_count(bucket: str, rate: str) -> None:
    """Count one hit exactly in the shared counter (rare events: failed authentications,
    which every process reads back with rate_limit_read)."""
    limit, period, window, now = _window(rate)
    _add_hits(bucket, window, period, 1)


class CounterRead(NamedTuple):
    """One bucket's count in the current window, as a read that another statement can
    carry (the key lookup does), and what that count means for the next hit."""

    read: ScalarRead  # "(SELECT hits FROM … WHERE bucket = %s AND window_start = %s)"
    limit: int
    window_ends_at: float

    def wait(self, hits: int | None) -> float | None:
        """None if another hit is allowed by `hits` (the read's value), else the seconds to wait."""
        return None if hits is None or hits < self.limit else max(0.0, self.window_ends_at - time.time())


def rate_limit_read(bucket: str, rate: str) -> CounterRead:
    limit, period, window, _ = _window(rate)
    read = ScalarRead(f"(SELECT hits FROM {_table()} WHERE bucket = %s AND window_start = %s)", (bucket[:200], window))
    return CounterRead(read, limit, (window + 1) * period)


def rate_limit_forget() -> None:
    """Drop this process's slices (tests that reset the shared counters)."""
    with _lock:
        _allowance.clear()


def rate_limit_prune() -> int:
    """Drop counters whose window has ended (the retention command calls this)."""
    deleted, _ = RateLimitCounter.objects.filter(expires_at__lt=int(time.time())).delete()
    return deleted
