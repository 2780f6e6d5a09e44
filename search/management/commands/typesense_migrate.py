from django.core.management.base import BaseCommand, CommandError

from search.backend import SearchError
from search.maintenance import ensure_index

from ._common import selected_indexes


class Command(BaseCommand):
    help = (
        "Create each index's collection and alias if missing; when an index's schema_version "
        "changed, rebuild it into a new collection and swap the alias (no downtime)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--index", "--collection", dest="index", action="append")

    def handle(self, *args, index, **options):
        for definition in selected_indexes(index):
            try:
                collection = ensure_index(definition)
            except SearchError as error:
                raise CommandError(f"{definition.name}: {error}") from error
            self.stdout.write(f"{definition.name}: alias -> {collection}")
