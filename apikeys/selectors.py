"""Reads of API keys for the operator's commands (`manage.py apikey`)."""

from core.errors import ApplicationError, NotFoundError

from .models import ApiKey


def api_key_line(key: ApiKey) -> str:
    """One key as `apikey list` prints it: id, prefix, kind, state, last use, name (tab-separated)."""
    used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never used"
    return f"{key.pk}\t{key.prefix}\t{'admin' if key.is_admin else 'api'}\t{key.state}\t{used}\t{key.name}"


def api_key_select(reference: str) -> ApiKey:
    """The one key `reference` names: its id (first column of `apikey list`), its prefix
    or its name. Prefixes and names need not be unique (the two development keys share
    the prefix `ensemble-dev`; a rotated key keeps its name), ids are: when several keys
    match, the error lists them all with their ids."""
    reference = reference.strip()
    keys = ApiKey.objects.filter(prefix=reference) | ApiKey.objects.filter(name=reference)
    if reference.isdigit():
        keys = keys | ApiKey.objects.filter(pk=int(reference))
    candidates = list(keys.distinct().order_by("pk"))
    if not candidates:
        raise NotFoundError("KEY_NOT_FOUND", f"No key has the id, prefix or name {reference!r} (see `apikey list`).")
    if len(candidates) > 1:
        listing = "\n".join("  " + api_key_line(key) for key in candidates)
        raise ApplicationError(
            "KEY_AMBIGUOUS",
            f"{len(candidates)} keys match {reference!r}; name one by its id (the first column):\n{listing}",
        )
    return candidates[0]
