"""Fixed-window rate limits counted in the database.

The database is the one store every app instance already shares, so a limit holds
across gunicorn workers and across machines without another server. One statement
counts a hit atomically (INSERT … ON CONFLICT … RETURNING, PostgreSQL and SQLite
≥ 3.35), so concurrent requests never lose a count; each bucket is one row, reused
from window to window.
"""

import time

from django.db import connection

from .models import RateLimitCounter

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """"120/minute" → (120, 60). The unit's first letter is enough, as in DRF."""
    count, _, unit = rate.partition("/")
    try:
        return int(count), _PERIODS[unit.strip()[:1].lower()]
    except (ValueError, KeyError):
        raise ValueError(f"Not a rate: {rate!r} (expected e.g. '120/minute').") from None


def _table() -> str:
    return connection.ops.quote_name(RateLimitCounter._meta.db_table)


def _window(rate: str) -> tuple[int, int, int, float]:
    """(limit, period, current window number, now) for `rate`."""
    limit, period = parse_rate(rate)
    now = time.time()
    return limit, period, int(now // period), now


def rate_limit_hit(bucket: str, rate: str) -> float | None:
    """Count one hit on `bucket`; None while within `rate`, else the seconds to wait."""
    limit, period, window, now = _window(rate)
    table = _table()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (bucket, window_start, hits, expires_at) VALUES (%s, %s, 1, %s) "
            f"ON CONFLICT (bucket) DO UPDATE SET "
            f"hits = CASE WHEN {table}.window_start = excluded.window_start THEN {table}.hits + 1 ELSE 1 END, "
            f"window_start = excluded.window_start, expires_at = excluded.expires_at RETURNING hits",
            [bucket[:200], window, (window + 1) * period],
        )
        hits = cursor.fetchone()[0]
    return None if hits <= limit else (window + 1) * period - now


def rate_limit_exceeded(bucket: str, rate: str) -> float | None:
    """Like rate_limit_hit without counting: None if another hit is allowed."""
    limit, period, window, now = _window(rate)
    row = RateLimitCounter.objects.filter(bucket=bucket[:200], window_start=window).values_list("hits", flat=True).first()
    return None if row is None or row < limit else (window + 1) * period - now


def rate_limit_prune() -> int:
    """Drop counters whose window has ended (the retention command calls this)."""
    deleted, _ = RateLimitCounter.objects.filter(expires_at__lt=int(time.time())).delete()
    return deleted
