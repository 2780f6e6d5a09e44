import sys

from django.core.management.base import BaseCommand, CommandError

from search.backend import SearchError
from search.maintenance import compare_index
from search.outbox import backlog_summary

from ._common import selected_indexes


class Command(BaseCommand):
    help = "Compare the database with Typesense per index; exit 1 when they differ (health check)."

    def add_arguments(self, parser):
        parser.add_argument("--index", "--collection", dest="index", action="append")
        parser.add_argument("--show", type=int, default=10, help="How many differing ids to print.")

    def handle(self, *args, index, show, **options):
        backlog = backlog_summary()
        differs = False
        for definition in selected_indexes(index):
            try:
                diff = compare_index(definition)
            except SearchError as error:
                raise CommandError(f"Typesense is not answering: {error}") from error
            pending = backlog["per_index"].get(definition.name, {})
            state = "in sync" if diff.in_sync else "DIFFERS"
            differs |= not diff.in_sync
            self.stdout.write(
                f"{definition.name}: {state}; database={diff.in_database} index={diff.in_index} "
                f"missing={len(diff.missing)} stale={len(diff.stale)} extra={len(diff.extra)} "
                f"backlog={pending.get('pending', 0)} oldest_pending={pending.get('oldest') or '-'}"
            )
            for label, ids in (("missing", diff.missing), ("stale", diff.stale), ("extra", diff.extra)):
                if ids:
                    self.stdout.write(f"  {label}: {', '.join(ids[:show])}{' ...' if len(ids) > show else ''}")
        if backlog["last_error"]:
            self.stdout.write(f"last error: {backlog['last_error']}")
        if differs:
            sys.exit(1)
