"""Creating, rotating, revoking and checking API keys. The admin, the management
commands and the authentication classes all go through these functions; every change
leaves an audit event in the same transaction."""

import weakref
from collections.abc import Sequence
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import timezone

from audit.services import SYSTEM, audit_record
from core.errors import ApplicationError
from core.scalar_read import ScalarRead

from .models import MIN_KEY_LENGTH, ApiKey, digest_of, generate_raw_key, prefix_of


def _audit(key: ApiKey, action: str, actor: str, changes: dict | None = None) -> None:
    audit_record(actor=actor, action=action, target_type="apikey", target_id=f"{key.prefix} ({key.name})", changes=changes)


@transaction.atomic
def api_key_create(
    *, name: str, is_admin: bool, raw_key: str | None = None, expires_at=None, actor: str = SYSTEM
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the raw key, which is never stored or shown again."""
    raw_key = raw_key or generate_raw_key()
    if len(raw_key) < MIN_KEY_LENGTH:
        raise ApplicationError("WEAK_KEY", f"An API key must have at least {MIN_KEY_LENGTH} characters.")
    key = ApiKey.objects.create(
        name=name, is_admin=is_admin, prefix=prefix_of(raw_key), digest=digest_of(raw_key), expires_at=expires_at
    )
    _audit(key, "apikey.create", actor, {"is_admin": [None, is_admin],
                                         "expires_at": [None, expires_at.isoformat() if expires_at else None]})
    return key, raw_key


@transaction.atomic
def api_key_update(*, key: ApiKey, name: str, expires_at, actor: str = SYSTEM) -> ApiKey:
    """Rename a key or change its expiry (its kind and secret never change)."""
    changes = {field: [str(old), str(new)] for field, old, new in
               (("name", key.name, name), ("expires_at", key.expires_at, expires_at)) if old != new}
    if changes:
        key.name, key.expires_at = name, expires_at
        key.save(update_fields=["name", "expires_at"])
        _audit(key, "apikey.change", actor, changes)
    return key


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: str = SYSTEM) -> ApiKey:
    """Stop a key now. The next request with it fails: keys are looked up on every request (api_key_lookup)."""
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        _audit(key, "apikey.revoke", actor)
    return key


@transaction.atomic
def api_key_rotate(*, key: ApiKey, grace: timedelta, actor: str = SYSTEM) -> tuple[ApiKey, str]:
    """A new key of the same name and kind; the old one keeps working for `grace`, so
    clients can switch without downtime. Both are active until then."""
    if key.revoked_at is not None:
        raise ApplicationError("KEY_REVOKED", f"{key} is revoked; create a new key instead.")
    new_key, raw_key = api_key_create(name=key.name, is_admin=key.is_admin, actor=actor)
    old_expiry = key.expires_at
    expires_at = timezone.now() + grace
    if old_expiry is None or expires_at < old_expiry:
        key.expires_at = expires_at
        key.save(update_fields=["expires_at"])
    _audit(key, "apikey.rotate", actor, {
        "expires_at": [old_expiry.isoformat() if old_expiry else None, key.expires_at.isoformat()],
        "replaced_by": [None, new_key.prefix],
    })
    return new_key, raw_key


_KEY_FIELDS = ApiKey._meta.concrete_fields
_KEY_COLUMNS = [field.attname for field in _KEY_FIELDS]
# Per database connection's operations object, computed once: the ORM's converters for
# each column (SQLite keeps datetimes as text) and the lookup's SQL. (Every attribute of
# django.db.connection is a lookup of the thread's connection: it is read once here.)
_key_converters: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_lookup_sql: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _key_from_row(db, row) -> ApiKey:
    converters = _key_converters.get(db.ops)
    if converters is None:
        columns = [field.get_col(ApiKey._meta.db_table) for field in _KEY_FIELDS]
        converters = _key_converters[db.ops] = [
            (index, column, functions) for index, column in enumerate(columns)
            if (functions := db.ops.get_db_converters(column) + column.get_db_converters(db))
        ]
    values = list(row)
    for index, column, functions in converters:  # only the columns that have converters
        for function in functions:
            values[index] = function(values[index], column, db)
    return ApiKey.from_db(db.alias, _KEY_COLUMNS, values)


def _key_lookup_sql(db) -> str:
    """ApiKey.objects.active() by prefix in plain SQL, after a placeholder for the reads
    carried along: one row per candidate key, or one row of NULL key columns when none
    matches (ORM query building, or a raw queryset's column mapping, cost more than the query)."""
    sql = _lookup_sql.get(db.ops)
    if sql is None:
        quote = db.ops.quote_name
        columns = ", ".join(f"k.{quote(field.column)}" for field in _KEY_FIELDS)
        sql = _lookup_sql[db.ops] = (
            f"SELECT {{reads}}{columns} FROM (SELECT 1) AS one LEFT JOIN {quote(ApiKey._meta.db_table)} AS k "
            "ON k.prefix = %s AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > %s)"
        )
    return sql


class KeyLookup(NamedTuple):
    key: ApiKey | None  # the active key matching the raw key, or None
    values: tuple  # the values of the reads carried along, in their order


def api_key_lookup(raw_key: str, *, along: Sequence[ScalarRead] = ()) -> KeyLookup:
    """The active key matching `raw_key` (compared in constant time) and, in the same
    statement, the values of the reads `along` (authentication's: the address's failed
    authentications, and what the view needs to know that its cached answer is current).
    Exact, on every request: no cache, so a revocation holds on the next request on
    every worker and instance."""
    db = connections[DEFAULT_DB_ALIAS]
    reads_params = [param for read in along for param in read.params]
    if not raw_key or len(raw_key) < MIN_KEY_LENGTH or len(raw_key) > 256:
        if not along:
            return KeyLookup(None, ())
        with db.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(read.sql for read in along), reads_params)
            return KeyLookup(None, tuple(cursor.fetchone()))
    with db.cursor() as cursor:
        cursor.execute(
            _key_lookup_sql(db).format(reads="".join(read.sql + ", " for read in along)),
            [*reads_params, prefix_of(raw_key), db.ops.adapt_datetimefield_value(timezone.now())],
        )
        rows = cursor.fetchall()
    first_key_column = len(along)
    match = None
    for row in rows:
        if row[first_key_column] is None:  # the key's id on the LEFT JOIN's empty side: no candidate
            continue
        candidate = _key_from_row(db, row[first_key_column:])
        # Compare with every candidate, so timing does not tell which one matched.
        if candidate.matches(raw_key):
            match = candidate
    return KeyLookup(match, tuple(rows[0][:first_key_column]))


def api_key_find(raw_key: str) -> ApiKey | None:
    """The active key matching `raw_key`, compared in constant time, or None."""
    return api_key_lookup(raw_key).key


@transaction.atomic
def api_keys_bootstrap_from_settings() -> list[str]:
    """Ensure ENSEMBLE_API_KEY / ENSEMBLE_ADMIN_API_KEY exist as active keys (development)."""
    created = []
    for raw_key, is_admin, name in (
        (settings.ENSEMBLE_API_KEY, False, "bootstrap: ENSEMBLE_API_KEY"),
        (settings.ENSEMBLE_ADMIN_API_KEY, True, "bootstrap: ENSEMBLE_ADMIN_API_KEY"),
    ):
        if not raw_key:
            continue
        existing = ApiKey.objects.filter(digest=digest_of(raw_key)).first()
        if existing is None:
            api_key_create(name=name, is_admin=is_admin, raw_key=raw_key, actor="command:bootstrap_keys")
            created.append(name)
        elif not ApiKey.objects.active().filter(pk=existing.pk).exists() or existing.is_admin != is_admin:
            raise ApplicationError(
                "BOOTSTRAP_KEY_CONFLICT",
                f"{name.split(': ')[1]} matches key {existing} which is revoked, expired or of another kind.",
            )
    return created
