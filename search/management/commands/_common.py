from django.core.management.base import CommandError

from search import indexes


def selected_indexes(names: list[str] | None):
    if not names:
        return indexes.all_indexes()
    try:
        return [indexes.get(name) for name in names]
    except LookupError as error:
        raise CommandError(str(error)) from error
